/// Decoded audio, normalized at the boundary: 16 kHz mono Float32, nominal range [-1, 1].
public struct AudioClip: Sendable {
    /// The samples, 16 kHz mono, nominal range [-1, 1] (integer PCM is scaled by 1/2^(bits-1)).
    public var samples: [Float]
    /// The file's own rate and channel count before conversion.
    public let sourceSampleRate: Int
    public let sourceChannels: Int
    /// The container and encoding, e.g. "wav s16", "wav f32", "raw s16le", "ogg opus".
    public let sourceFormat: String
    /// The sample rate of `samples` (always 16000).
    public static let sampleRate = 16000

    /// Seconds of audio in `samples`.
    public var duration: Double { Double(samples.count) / Double(AudioClip.sampleRate) }

    public init(samples: [Float], sourceSampleRate: Int, sourceChannels: Int, sourceFormat: String) {
        self.samples = samples
        self.sourceSampleRate = sourceSampleRate
        self.sourceChannels = sourceChannels
        self.sourceFormat = sourceFormat
    }
}

/// Reads audio files into `AudioClip`s (16 kHz mono Float32).
public enum AudioDecoder {
    /// Loads WAV (PCM u8/s16/s24/s32, float32/64, WAVE_FORMAT_EXTENSIBLE too; any channel count →
    /// mono mean; any rate → 16 kHz band-limited), raw s16le mono when `rawSampleRate` is given
    /// (or the path ends in .raw/.pcm: then `rawSampleRate` is required), and Ogg Opus (detected by
    /// its magic, not the extension).
    /// - Throws: `AudioError` naming the file and what to do (see its cases).
    public static func load(path: String, rawSampleRate: Int? = nil) throws(AudioError) -> AudioClip {
        let bytes = try FileIO.readAll(path)
        return try bytes.withUnsafeBytes { raw in
            Result { () throws(AudioError) in try decode(bytes: raw, name: path, rawSampleRate: rawSampleRate) }
        }.get()
    }

    /// Decodes an in-memory file; `name` is used in error messages and for the .raw/.pcm rule.
    public static func decode(bytes: UnsafeRawBufferPointer, name: String, rawSampleRate: Int? = nil) throws(AudioError) -> AudioClip {
        let lower = name.lowercased()
        let rawByName = lower.hasSuffix(".raw") || lower.hasSuffix(".pcm")
        if let rate = rawSampleRate {
            return try decodeRawS16LE(bytes, name: name, sampleRate: rate)
        }
        if rawByName { throw .rawWithoutRate(name: name) }
        if bytes.isEmpty { throw .empty(name: name) }
        if bytes.count < 12 {
            if startsWith(bytes, "RIFF") || startsWith(bytes, "OggS") {
                throw .truncatedHeader(name: name, neededBytes: 12, fileBytes: bytes.count)
            }
            throw .unknownContainer(name: name)
        }
        if startsWith(bytes, "RIFF") || startsWith(bytes, "RIFX") || startsWith(bytes, "RF64") {
            return try WAVReader.decode(bytes, name: name)
        }
        if startsWith(bytes, "OggS") {
            return try OggOpusReader.decode(bytes, name: name)
        }
        throw .unknownContainer(name: name)
    }

    /// Headerless little-endian signed 16-bit mono.
    static func decodeRawS16LE(_ bytes: UnsafeRawBufferPointer, name: String, sampleRate: Int) throws(AudioError) -> AudioClip {
        guard (1000...768_000).contains(sampleRate) else { throw .badSampleRate(name: name, rate: sampleRate) }
        if bytes.isEmpty { throw .empty(name: name) }
        let frames = bytes.count / 2
        var mono = [Float](repeating: 0, count: frames)
        mono.withUnsafeMutableBufferPointer { out in
            for i in 0..<frames {
                out[i] = Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) * (1.0 / 32768)
            }
        }
        return AudioClip(samples: try toTargetRate(mono, sampleRate), sourceSampleRate: sampleRate,
                         sourceChannels: 1, sourceFormat: "raw s16le")
    }

    static func toTargetRate(_ mono: [Float], _ rate: Int) throws(AudioError) -> [Float] {
        if rate == AudioClip.sampleRate { return mono }
        return try mono.withUnsafeBufferPointer { b in
            Result { () throws(AudioError) in try Resampler.resample(b, from: rate, to: AudioClip.sampleRate) }
        }.get()
    }

    static func startsWith(_ bytes: UnsafeRawBufferPointer, _ magic: String, at offset: Int = 0) -> Bool {
        let m = Array(magic.utf8)
        guard bytes.count >= offset + m.count else { return false }
        for i in 0..<m.count where bytes[offset + i] != m[i] { return false }
        return true
    }
}
