// TEMPORARY (vad branch only): a stand-in for the BoraAudio file readers being written on the
// audio branch, so `bora vad` and the VAD tests can read WAV files. Reads 16-bit PCM mono 16 kHz
// WAV only. The lead deletes this file at merge; the real AudioDecoder has the same signature.
import BoraCore
import Foundation

/// Decoded audio, normalized to 16 kHz mono Float32.
public struct AudioClip: Sendable {
    public var samples: [Float]
    public var sourceSampleRate: Int
    public var sourceChannels: Int
    public var sourceFormat: String
    public var duration: Double { Double(samples.count) / 16000 }
}

public enum AudioError: BoraInputError, Equatable {
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)
    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .unsupported(path, reason):
            return "\(path): \(reason); convert it first: sox IN -r 16000 -c 1 -b 16 OUT.wav"
        }
    }
}

public enum AudioDecoder {
    /// Loads a 16-bit PCM mono 16 kHz WAV (temporary reader; `rawSampleRate` is ignored).
    public static func load(path: String, rawSampleRate: Int? = nil) throws(AudioError) -> AudioClip {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: "no such file or not readable")
        }
        let b = [UInt8](data)
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        guard b.count >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else {
            throw .unsupported(path: path, reason: "not a RIFF/WAVE file")
        }
        var o = 12, fmt: (format: Int, channels: Int, rate: Int, bits: Int)? = nil
        while o + 8 <= b.count {
            let size = u32(o + 4), body = o + 8
            guard body + size <= b.count || b[o..<o + 4].elementsEqual("data".utf8) else {
                throw .unreadable(path: path, reason: "chunk at byte \(o) runs past the end")
            }
            if b[o..<o + 4].elementsEqual("fmt ".utf8), size >= 16 {
                fmt = (u16(body), u16(body + 2), u32(body + 4), u16(body + 14))
            } else if b[o..<o + 4].elementsEqual("data".utf8) {
                guard let f = fmt else { throw .unreadable(path: path, reason: "data chunk before fmt chunk") }
                guard f.format == 1, f.channels == 1, f.rate == 16000, f.bits == 16 else {
                    throw .unsupported(path: path, reason: "only 16-bit PCM mono 16 kHz WAV is read on this branch")
                }
                let n = min(size, b.count - body) / 2
                var samples = [Float](repeating: 0, count: n)
                for i in 0..<n { samples[i] = Float(Int16(bitPattern: UInt16(u16(body + 2 * i)))) / 32768 }
                return AudioClip(samples: samples, sourceSampleRate: 16000, sourceChannels: 1, sourceFormat: "wav s16")
            }
            o = body + size + (size & 1)
        }
        throw .unreadable(path: path, reason: "no data chunk")
    }
}
