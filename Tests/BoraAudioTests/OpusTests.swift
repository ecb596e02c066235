import Foundation
import Testing
@testable import BoraAudio

/// Ogg Opus interop with opus-tools both ways. Opus is lossy, so Bora's decoder (libopus at
/// 16 kHz) is compared with opusdec's decode of the same file. opusdec always decodes at 48 kHz;
/// Bora's output is brought to 48 kHz by `sox rate -v` and compared at the best integer lag
/// within ±4 samples (opusenc/opusdec's own resampling leaves a 1–2 sample offset at 48 kHz,
/// and libopus's SILK path decodes at 16 kHz natively, not by decimating the 48 kHz output).
/// Against the original signal only a loose bound applies (waveform SNR of a perceptual codec).
@Suite struct OpusTests {
    /// Best SNR (dB) and its lag between Bora's 16 kHz decode and opusdec's 48 kHz decode.
    func agreementWithOpusdec(_ ours: [Float], _ opus: String, _ dir: TempDir) throws -> (snr: Double, lag: Int) {
        let d48 = dir.file("opusdec48.f32"), ours16 = dir.file("ours16.wav"), ours48 = dir.file("ours48.f32")
        try runTool(["opusdec", "--quiet", "--float", "--rate", "48000", opus, d48])
        try ours.withUnsafeBufferPointer { try WAVWriter.write($0, sampleRate: 16000, to: ours16, format: .f32) }
        try runTool(["sox", ours16, "-t", "f32", ours48, "rate", "-v", "48000"])
        let theirs = try readF32(d48), mine = try readF32(ours48)
        #expect(abs(theirs.count - mine.count) <= 3, "opusdec \(theirs.count) vs Bora×3 \(mine.count) samples")
        let n = min(theirs.count, mine.count) - 8
        var best = (snr: -Double.infinity, lag: 0)
        for lag in -4...4 {
            let shifted = (0..<n).map { mine[max(0, min(mine.count - 1, $0 + 4 + lag))] }
            let s = snrDb(shifted, Array(theirs[4..<n + 4]), 480..<n - 480)
            if s > best.snr { best = (s, lag) }
        }
        return best
    }

    func speech16k(_ dir: TempDir) throws -> (path: String, samples: [Float]) {
        let speech = try speechWAV(dir)
        let path = dir.file("speech16k.wav")
        try runTool(["sox", speech, "-r", "16000", "-b", "16", path, "rate", "-v"])
        return (path, try AudioDecoder.load(path: path).samples)
    }

    @Test func oursDecodesWithOpusdec() throws {
        let dir = TempDir()
        let (_, x) = try speech16k(dir)
        let opus = dir.file("ours.opus")
        try x.withUnsafeBufferPointer { try OpusFileWriter(bitrate: 32000).write($0, to: opus) }
        let ours = try AudioDecoder.load(path: opus)
        // Pre-skip and end trimming: opusdec (see the length check in agreementWithOpusdec) and
        // Bora return exactly the input length.
        #expect(ours.samples.count == x.count && ours.sourceFormat == "ogg opus")
        let agreement = try agreementWithOpusdec(ours.samples, opus, dir)
        let vsOriginal = snrDb(ours.samples, x, 0..<min(x.count, ours.samples.count))
        print("our Opus file: Bora vs opusdec SNR \(agreement.snr) dB at lag \(agreement.lag)/48k, Bora vs original \(vsOriginal) dB")
        #expect(agreement.snr >= 18 && abs(agreement.lag) <= 3)   // measured 21.7–22.1 dB at lag 2
        #expect(vsOriginal >= 15)          // measured 22 dB; pre-skip (104 samples) mishandled would give ≈ 0 dB
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func opusencFileDecodes() throws {
        let dir = TempDir()
        let (wav, x) = try speech16k(dir)
        let opus = dir.file("theirs.opus")
        try runTool(["opusenc", "--quiet", "--bitrate", "32", wav, opus])
        let ours = try AudioDecoder.load(path: opus)
        #expect(ours.sourceSampleRate == 16000 && ours.sourceChannels == 1)
        #expect(abs(ours.samples.count - x.count) <= 1, "\(ours.samples.count) vs \(x.count)")
        let agreement = try agreementWithOpusdec(ours.samples, opus, dir)
        let vsOriginal = snrDb(ours.samples, x, 0..<min(x.count, ours.samples.count))
        print("opusenc file: Bora vs opusdec SNR \(agreement.snr) dB at lag \(agreement.lag)/48k, Bora vs original \(vsOriginal) dB")
        #expect(agreement.snr >= 18 && abs(agreement.lag) <= 3)   // measured 21.7–22.1 dB at lag 2
        #expect(vsOriginal >= 12)          // measured 17.7 dB
    }

    @Test func stereoOpusencFileDownmixes() throws {
        let dir = TempDir()
        let speech = try speechWAV(dir)
        let wav = dir.file("st.wav"), opus = dir.file("st.opus")
        try runTool(["sox", speech, "-r", "48000", "-c", "2", wav, "remix", "1", "1v0.5", "rate", "-v"])
        try runTool(["opusenc", "--quiet", wav, opus])
        let clip = try AudioDecoder.load(path: opus)
        #expect(clip.sourceChannels == 2 && clip.sourceSampleRate == 48000)
        let mono = try AudioDecoder.load(path: wav).samples
        #expect(abs(clip.samples.count - mono.count) <= 1)
        let snr = snrDb(clip.samples, mono, 0..<min(clip.samples.count, mono.count))
        print("stereo opusenc file → mono: Bora vs sox-decoded WAV mean \(snr) dB")
        #expect(snr >= 10)
    }

    @Test func corruptOgg() throws {
        let dir = TempDir()
        let (_, x) = try speech16k(dir)
        let opus = dir.file("ok.opus")
        try x.withUnsafeBufferPointer { try OpusFileWriter().write($0, to: opus) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: opus))
        let head = dir.file("head.opus")
        try bytes.prefix(40).write(to: URL(fileURLWithPath: head))
        #expect { try AudioDecoder.load(path: head) } throws: { e in
            guard case .oggCorrupt = e as? AudioError else { return false }
            return true
        }
        var damaged = bytes
        for i in stride(from: 2000, to: min(6000, damaged.count), by: 7) { damaged[i] ^= 0x5A }
        let bad = dir.file("bad.opus")
        try damaged.write(to: URL(fileURLWithPath: bad))
        #expect { try AudioDecoder.load(path: bad) } throws: { e in
            guard let a = e as? AudioError else { return false }
            switch a { case .oggCorrupt, .opusCorrupt: return true; default: return false }
        }
    }
}
