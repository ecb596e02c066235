import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Decoded audio, normalized at the boundary: 16 kHz mono Float32, nominal range [-1, 1].
public struct AudioClip: Sendable {
    /// The samples, 16 kHz mono, nominal range [-1, 1] (integer PCM is scaled by 1/2^(bits-1)).
    public var samples: [Float]
    /// The file's own rate and channel count before conversion.
    public let sourceSampleRate: Int
    public let sourceChannels: Int
    /// The container and encoding, e.g. "wav s16", "wav f32", "raw s16le", "ogg opus".
    public let sourceFormat: String
    /// The rate of `samples`, and of every sample BoraAudio delivers (decoders, `AudioCapture`,
    /// `WAVStream`): 16 kHz. The one place the audio side names the rate; everything downstream
    /// takes it as a value (`SampleSource.sampleRate`, `VoiceActivityDetector.sampleRate`, the
    /// models' `config.sampleRate`). The models declare their own rate in their GGUF, and their
    /// loaders (`SileroConfig`, `WhisperConfig`) refuse a rate other than this one, since
    /// nothing converts audio to another rate for them.
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

/// How much audio a whole-file decode (`AudioDecoder.load`, `decode(bytes:)`) accepts. Whole-file
/// decoding holds every 16 kHz sample in memory (3.84 MB per minute), so an unbounded file could
/// exhaust a board; longer recordings go through `WAVStream` (flat memory) or must be split.
///
/// Contract: every check happens before the samples are read — WAV from its header (the declared
/// data length is also checked against the file), raw s16le from the file size, Ogg Opus from the
/// file size (`maxOggBytes`) and then, while decoding, from the decoded length — and a file over
/// the limit is `AudioError.tooLong` or `.tooLarge` (bad input, exit code 3 in the CLI).
public struct AudioLimits: Sendable, Equatable {
    /// Longest audio accepted, in seconds (default 3600 s: 1 hour, 230 MB as 16 kHz Float32).
    public var maxSeconds: Double

    /// The default: one hour.
    public static let `default` = AudioLimits()

    /// - Precondition: `maxSeconds` > 0.
    public init(maxSeconds: Double = 3600) {
        precondition(maxSeconds > 0, "AudioLimits.maxSeconds must be positive")
        self.maxSeconds = maxSeconds
    }

    /// A limit in whole minutes (the CLI's `--max-audio-minutes`).
    public init(maxMinutes: Int) { self.init(maxSeconds: Double(maxMinutes) * 60) }

    /// Largest Ogg Opus file accepted: `maxSeconds` × 64,000 bytes (Opus's highest bitrate, 510 kbit/s,
    /// rounded up) + 1 MiB for headers and tags.
    public var maxOggBytes: Int { Self.bytes(maxSeconds, perSecond: 64_000) }

    /// Most bytes read from a pipe or device, which has no size to check up front: `maxSeconds` ×
    /// 192,000 (48 kHz stereo s16) + 1 MiB.
    public var maxStreamBytes: Int { Self.bytes(maxSeconds, perSecond: 192_000) }

    static func bytes(_ seconds: Double, perSecond: Double) -> Int {
        let v = seconds * perSecond + 1_048_576
        return v >= Double(Int.max / 2) ? Int.max / 2 : Int(v)
    }

    /// Throws `.tooLong` when `frames` at `rate` last longer than `maxSeconds`.
    func check(frames: Int, rate: Int, name: String) throws(AudioError) {
        let seconds = Double(frames) / Double(rate)
        if seconds > maxSeconds { throw .tooLong(name: name, seconds: seconds, limitSeconds: maxSeconds) }
    }

    /// "90 s", "12.5 min", "37.3 h".
    static func durationText(_ seconds: Double) -> String {
        func one(_ v: Double) -> String {
            let r = (v * 10).rounded() / 10
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
        if seconds < 120 { return "\(one(seconds)) s" }
        if seconds < 7200 { return "\(one(seconds / 60)) min" }
        return "\(one(seconds / 3600)) h"
    }
}

/// Reads audio files into `AudioClip`s (16 kHz mono Float32).
public enum AudioDecoder {
    /// Loads WAV (PCM u8/s16/s24/s32, float32/64, WAVE_FORMAT_EXTENSIBLE too; any channel count →
    /// mono mean; any rate → 16 kHz band-limited), raw s16le mono when `rawSampleRate` is given
    /// (or the path ends in .raw/.pcm: then `rawSampleRate` is required), and Ogg Opus (detected by
    /// its magic, not the extension).
    ///
    /// A regular file is mapped, not read: the container is recognized from its first bytes and the
    /// length checked against `limits` before any sample is touched, so a huge or non-audio file
    /// costs neither time nor memory; WAV samples are converted in chunks straight into the result
    /// (peak memory ≈ the 16 kHz result). A pipe or device is read up to `limits.maxStreamBytes`.
    /// - Throws: `AudioError` naming the file and what to do (see its cases), e.g. `.tooLong`.
    public static func load(path: String, rawSampleRate: Int? = nil, limits: AudioLimits = .default) throws(AudioError) -> AudioClip {
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            if e == ENOENT { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, errno: e)
        }
        switch UInt32(st.st_mode) & UInt32(S_IFMT) {
        case UInt32(S_IFDIR):
            throw .unreadable(path: path, errno: EISDIR)
        case UInt32(S_IFREG):
            let file: MappedFile
            do { file = try MappedFile(path: path, hint: .sequential) } catch { throw AudioError(error, path: path) }
            return try decode(bytes: file.bytes, name: path, rawSampleRate: rawSampleRate, limits: limits,
                              release: { file.releasePages(upTo: $0) })
        default:  // a pipe or device: no size to check, so read a bounded amount
            let bytes = try FileIO.readAll(path, maxBytes: limits.maxStreamBytes, limitSeconds: limits.maxSeconds)
            return try bytes.withUnsafeBytes { raw in
                Result { () throws(AudioError) in
                    try decode(bytes: raw, name: path, rawSampleRate: rawSampleRate, limits: limits)
                }
            }.get()
        }
    }

    /// Decodes an in-memory file; `name` is used in error messages and for the .raw/.pcm rule.
    /// Same checks and limits as `load`.
    public static func decode(bytes: UnsafeRawBufferPointer, name: String, rawSampleRate: Int? = nil,
                              limits: AudioLimits = .default) throws(AudioError) -> AudioClip {
        try decode(bytes: bytes, name: name, rawSampleRate: rawSampleRate, limits: limits, release: { _ in })
    }

    /// `release(n)`: the first n bytes will not be read again (a mapping drops their pages).
    static func decode(bytes: UnsafeRawBufferPointer, name: String, rawSampleRate: Int?, limits: AudioLimits,
                       release: (Int) -> Void) throws(AudioError) -> AudioClip {
        let lower = name.lowercased()
        let rawByName = lower.hasSuffix(".raw") || lower.hasSuffix(".pcm")
        if let rate = rawSampleRate {
            guard (1000...768_000).contains(rate) else { throw .badSampleRate(name: name, rate: rate) }
            try limits.check(frames: bytes.count / 2, rate: rate, name: name)
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
            return try WAVReader.decode(bytes, name: name, limits: limits, release: release)
        }
        if startsWith(bytes, "OggS") {
            guard bytes.count <= limits.maxOggBytes else {
                throw .tooLarge(name: name, bytes: bytes.count, limitBytes: limits.maxOggBytes, limitSeconds: limits.maxSeconds)
            }
            return try OggOpusReader.decode(bytes, name: name, maxSamples: Int(limits.maxSeconds * Double(AudioClip.sampleRate)),
                                            limitSeconds: limits.maxSeconds)
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
