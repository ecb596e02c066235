import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// A WAV file read progressively as 16 kHz mono Float32, for recordings too long to decode at once
/// (a day of audio is 5.5 GB as floats). The file is mapped read-only; each call converts the next
/// chunk (mono mean, band-limited resampling) and the pages already consumed are released from the
/// process, so memory stays flat whatever the file's length. Same formats and errors as
/// `AudioDecoder.load` for WAV; samples equal `AudioDecoder.load`'s exactly.
/// Not thread-safe; `read` allocates nothing.
public final class WAVStream {
    public let path: String
    public let sourceSampleRate: Int
    public let sourceChannels: Int
    /// The rate of the samples `read` returns (`AudioClip.sampleRate`).
    public let sampleRate = AudioClip.sampleRate
    /// Samples (at `sampleRate`) the whole file gives.
    public let totalSamples: Int

    private let file: MappedFile
    private let layout: WAVReader.Layout
    private var frame = 0                   // next source frame to convert
    private let resampler: Resampler?
    private let chunkFrames = 4096
    private let mono: UnsafeMutableBufferPointer<Float>
    private let pending: UnsafeMutableBufferPointer<Float>
    private var pendingStart = 0, pendingEnd = 0
    private var flushed = false

    /// Opens `path`; throws `AudioError` when it is not a readable WAV file of a supported encoding.
    public init(path: String) throws(AudioError) {
        do { file = try MappedFile(path: path, hint: .sequential) } catch { throw AudioError(error, path: path) }
        self.path = path
        let bytes = file.bytes
        guard bytes.count >= 12, AudioDecoder.startsWith(bytes, "RIFF") || AudioDecoder.startsWith(bytes, "RIFX")
                || AudioDecoder.startsWith(bytes, "RF64") else {
            throw bytes.isEmpty ? .empty(name: path) : .unknownContainer(name: path)
        }
        layout = try WAVReader.parse(bytes, name: path)
        sourceSampleRate = layout.format.sampleRate
        sourceChannels = layout.format.channels
        resampler = sourceSampleRate == sampleRate ? nil
            : try Resampler(inputRate: sourceSampleRate, outputRate: sampleRate, maxBlockFrames: 4096)
        totalSamples = resampler == nil ? layout.frames
            : (layout.frames * sampleRate + sourceSampleRate - 1) / sourceSampleRate
        mono = .allocate(capacity: chunkFrames)
        let room = max(chunkFrames, resampler?.maxOutputFrames(forInput: chunkFrames) ?? 0) + 4096
        pending = .allocate(capacity: room)
    }

    deinit { mono.deallocate(); pending.deallocate() }

    /// True when every sample has been returned.
    public var isFinished: Bool { frame >= layout.frames && pendingStart == pendingEnd && (resampler == nil || flushed) }

    /// Copies up to `output.count` next samples; 0 only at the end. Throws for non-finite float samples.
    public func read(into output: UnsafeMutableBufferPointer<Float>) throws(AudioError) -> Int {
        var written = 0
        while written < output.count {
            if pendingStart == pendingEnd {
                guard try refill() else { break }
            }
            let n = min(output.count - written, pendingEnd - pendingStart)
            (output.baseAddress! + written).update(from: pending.baseAddress! + pendingStart, count: n)
            pendingStart += n
            written += n
        }
        return written
    }

    /// Converts the next chunk into `pending`; false at the end.
    private func refill() throws(AudioError) -> Bool {
        pendingStart = 0; pendingEnd = 0
        if frame < layout.frames {
            let n = min(chunkFrames, layout.frames - frame)
            let f = layout.format
            try WAVReader.downmix(file.bytes, dataOffset: layout.dataOffset + frame * f.blockAlign, frames: n, format: f,
                                  name: path, into: UnsafeMutableBufferPointer(rebasing: mono[0..<n]))
            frame += n
            file.releasePages(upTo: layout.dataOffset + frame * f.blockAlign)
            if let r = resampler {
                pendingEnd = r.process(UnsafeBufferPointer(rebasing: mono[0..<n]), into: pending)
            } else {
                pending.baseAddress!.update(from: mono.baseAddress!, count: n)
                pendingEnd = n
            }
            return true
        }
        if let r = resampler, !flushed {
            flushed = true
            pendingEnd = r.flush(into: pending)
            return pendingEnd > 0
        }
        return false
    }
}
