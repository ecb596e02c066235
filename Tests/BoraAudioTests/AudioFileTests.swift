import Foundation
import Testing
import CBoraAllocCount
@testable import BoraAudio

/// Format conversion against sox: sox makes the inputs and the reference outputs, Bora decodes.
@Suite struct AudioFileTests {
    /// 44.1 kHz → 16 kHz on a float sine sweep 50 Hz–7 kHz against `sox rate -v -b 90` (sox's
    /// very-high-quality filter with the same 90 % passband as Bora's).
    @Test func resample44kMatchesSox() throws {
        let dir = TempDir()
        let input = dir.file("sweep44.wav"), ref = dir.file("ref.f32")
        try runTool(["sox", "-n", "-r", "44100", "-c", "1", "-e", "floating-point", "-b", "32", input, "synth", "2", "sine", "50-7000", "vol", "0.5"])
        try runTool(["sox", input, "-t", "f32", "-r", "16000", ref, "rate", "-v", "-b", "90"])
        let clip = try AudioDecoder.load(path: input)
        let expected = try readF32(ref)
        #expect(clip.sourceSampleRate == 44100 && clip.sourceFormat == "wav f32")
        #expect(abs(clip.samples.count - expected.count) <= 1)
        let n = min(clip.samples.count, expected.count)
        let snr = snrDb(clip.samples, expected, 160..<n - 160)  // 10 ms edges: the two pad differently
        print("resample 44.1k→16k vs sox: SNR \(snr) dB, lengths \(clip.samples.count)/\(expected.count)")
        #expect(snr >= 60)
    }

    /// 48 kHz stereo s24 (channel 2 = 0.3 × channel 1) → 16 kHz mono against sox with an explicit
    /// mean downmix; input is espeak-ng speech.
    @Test func resample48kStereoS24MatchesSox() throws {
        let dir = TempDir()
        let speech = try speechWAV(dir)
        let input = dir.file("in48.wav"), ref = dir.file("ref.f32")
        // Low-passed to 6.5 kHz: the reference and Bora then differ only by filter passband ripple and
        // stopband leakage (their transition bands, 7.2–8 kHz, are shaped differently); see
        // `resamplerStopband` for the rejection above 8 kHz.
        try runTool(["sox", speech, "-r", "48000", "-c", "2", "-b", "24", input, "remix", "1", "1v0.3", "rate", "-v", "sinc", "-6500"])
        try runTool(["sox", input, "-t", "f32", "-r", "16000", "-c", "1", ref, "remix", "1v0.5,2v0.5", "rate", "-v", "-b", "90"])
        let clip = try AudioDecoder.load(path: input)
        let expected = try readF32(ref)
        #expect(clip.sourceChannels == 2 && clip.sourceSampleRate == 48000 && clip.sourceFormat == "wav s24")
        #expect(abs(clip.samples.count - expected.count) <= 1)
        let n = min(clip.samples.count, expected.count)
        let snr = snrDb(clip.samples, expected, 160..<n - 160)
        print("resample 48k stereo s24→16k mono vs sox: SNR \(snr) dB")
        #expect(snr >= 60)
    }

    /// No resampling: s24, s32, f32, u8 and WAVE_FORMAT_EXTENSIBLE (4 channels) decode to exactly
    /// what sox converts them to (f32 raw); the downmix is the channel mean.
    @Test(arguments: [["-b", "24"], ["-b", "32"], ["-e", "floating-point", "-b", "32"], ["-b", "8", "-e", "unsigned"], ["-b", "16", "-c", "4"]])
    func losslessFormatsMatchSox(_ options: [String]) throws {
        let dir = TempDir()
        let speech = try speechWAV(dir)
        let input = dir.file("in.wav"), ref = dir.file("ref.f32")
        let channels = options.contains("-c") ? 4 : 1
        var make = ["sox", speech, "-r", "16000"] + options + [input]
        if channels == 4 { make += ["remix", "1", "1v0.5", "1v0.25", "1v0.125"] }
        try runTool(make + ["rate", "-v"])
        var refCmd = ["sox", input, "-t", "f32", "-c", "1", ref]
        if channels == 4 { refCmd += ["remix", "1v0.25,2v0.25,3v0.25,4v0.25"] }
        try runTool(refCmd)
        let clip = try AudioDecoder.load(path: input)
        let expected = try readF32(ref)
        #expect(clip.sourceChannels == channels)
        #expect(clip.samples.count == expected.count)
        var maxDiff: Float = 0
        for i in 0..<min(clip.samples.count, expected.count) { maxDiff = max(maxDiff, abs(clip.samples[i] - expected[i])) }
        // sox's s32 → f32 and its 4-channel mix round differently: allow one float ulp at 1.0 there.
        let exact = options == ["-b", "24"] || options.contains("floating-point") || options.contains("8")
        #expect(maxDiff <= (exact ? 0 : 6e-8), "max |diff| \(maxDiff) for \(options)")
    }

    @Test func rawS16LE() throws {
        let dir = TempDir()
        let speech = try speechWAV(dir)
        let raw = dir.file("speech.raw")
        try runTool(["sox", speech, "-t", "s16", "-r", "16000", raw, "rate", "-v"])
        let clip = try AudioDecoder.load(path: raw, rawSampleRate: 16000)
        let ints = try readS16(raw)
        #expect(clip.sourceFormat == "raw s16le" && clip.samples.count == ints.count)
        #expect(zip(clip.samples, ints).allSatisfy { $0 == Float($1) / 32768 })
        #expect(throws: AudioError.rawWithoutRate(name: raw)) { try AudioDecoder.load(path: raw) }
        #expect(throws: AudioError.badSampleRate(name: raw, rate: 12)) { try AudioDecoder.load(path: raw, rawSampleRate: 12) }
    }

    /// WAVWriter output read back by sox: s16 = round(x·32768) exactly; f32 bit-exact.
    @Test func wavWriterReadBySox() throws {
        let dir = TempDir()
        var x = [Float](repeating: 0, count: 4001)
        for i in x.indices { x[i] = Float(sin(Double(i) * 0.01) * 0.9) }
        x[7] = 1.5; x[8] = -1.5                              // clipped in s16
        let s16 = dir.file("o16.wav"), f32 = dir.file("o32.wav")
        try x.withUnsafeBufferPointer { try WAVWriter.write($0, sampleRate: 16000, to: s16, format: .s16) }
        try x.withUnsafeBufferPointer { try WAVWriter.write($0, sampleRate: 16000, to: f32, format: .f32) }
        try runTool(["sox", s16, "-t", "s16", dir.file("o16.raw")])
        try runTool(["sox", f32, "-t", "f32", dir.file("o32.raw")])
        let ints = try readS16(dir.file("o16.raw"))
        let floats = try readF32(dir.file("o32.raw"))
        #expect(ints.count == x.count && floats.count == x.count)
        // sox reads floats through its s32 pipeline: it clips to [-1, 1] and keeps 2^-31 steps.
        let maxDiff = zip(floats, x).map { abs($0 - min(max($1, -1), 1)) }.max() ?? 1
        #expect(maxDiff <= 1e-7)
        #expect(zip(x, ints).allSatisfy { Int16(clamping: Int(($0 * 32768).rounded())) == $1 })
        #expect(try runTool(["soxi", "-r", s16]).trimmingCharacters(in: .whitespacesAndNewlines) == "16000")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    /// Tones above the 8 kHz output Nyquist (48 kHz and 44.1 kHz input) are rejected by ≥ 90 dB;
    /// tones in the passband (≤ 7.2 kHz) keep their amplitude within 0.01 dB.
    @Test func resamplerStopbandAndPassband() throws {
        for rate in [48000, 44100] {
            for (freq, pass) in [(1000.0, true), (7000.0, true), (8500.0, false), (12000.0, false), (20000.0, false)] {
                let x = (0..<rate).map { Float(sin(2 * Double.pi * freq * Double($0) / Double(rate))) }
                let y = try x.withUnsafeBufferPointer { try Resampler.resample($0, from: rate, to: 16000) }
                let body = y[2000..<14000]
                let rms = (body.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(body.count)).squareRoot()
                let db = 20 * log10(rms / 0.5.squareRoot())
                if pass { #expect(abs(db) < 0.01, "\(rate) Hz input, \(freq) Hz tone: \(db) dB") }
                else { #expect(db < -90, "\(rate) Hz input, \(freq) Hz tone leaks at \(db) dB") }
            }
        }
    }

    /// Streaming in odd block sizes gives the same samples as one shot, and `process` allocates nothing.
    @Test func resamplerStreamsWithoutAllocating() throws {
        var x = [Float](repeating: 0, count: 44100)
        var seed: UInt64 = 1
        for i in x.indices { seed = seed &* 6364136223846793005 &+ 1442695040888963407; x[i] = Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23) }
        for (rateIn, rateOut) in [(44100, 16000), (48000, 16000), (8000, 16000), (44056, 16000)] {
            let whole = try x.withUnsafeBufferPointer { try Resampler.resample($0, from: rateIn, to: rateOut) }
            #expect(whole.count == (x.count * rateOut + rateIn - 1) / rateIn)
            let r = try Resampler(inputRate: rateIn, outputRate: rateOut, maxBlockFrames: 960)
            var out = [Float](repeating: 0, count: whole.count + 4096)
            var produced = 0, offset = 0, block = 1
            var allocations: UInt64 = 0
            x.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { o in
                    // Warm-up (generic slice metadata is instantiated on first use), then a fresh stream.
                    _ = r.process(UnsafeBufferPointer(rebasing: input[0..<1]), into: UnsafeMutableBufferPointer(rebasing: o[0...]))
                    r.reset()
                    bora_alloc_count_reset()
                    bora_alloc_count_enable_thread(1)
                    while offset < input.count {
                        let n = min(block, input.count - offset)
                        produced += r.process(UnsafeBufferPointer(rebasing: input[offset..<offset + n]),
                                              into: UnsafeMutableBufferPointer(rebasing: o[produced...]))
                        offset += n
                        block = block * 7 % 2003 + 1
                    }
                    bora_alloc_count_enable_thread(0)
                    allocations = bora_alloc_count_allocations()
                    produced += r.flush(into: UnsafeMutableBufferPointer(rebasing: o[produced...]))
                }
            }
            #expect(allocations == 0, "\(rateIn)→\(rateOut): \(allocations) allocations")
            #expect(produced == whole.count)
            #expect(Array(out[0..<produced]) == whole, "\(rateIn)→\(rateOut) streaming differs from one shot")
        }
        #expect(bora_alloc_count_supported() != 0)
    }
}

/// Bad input: each case gives its typed error.
@Suite struct BadAudioInputTests {
    @Test func badFiles() throws {
        let dir = TempDir()
        let speech = try speechWAV(dir)
        let empty = dir.file("empty.wav")
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: AudioError.empty(name: empty)) { try AudioDecoder.load(path: empty) }
        #expect(throws: AudioError.fileNotFound(path: dir.file("nope.wav"))) { try AudioDecoder.load(path: dir.file("nope.wav")) }

        let whole = try Data(contentsOf: URL(fileURLWithPath: speech))
        let truncated = dir.file("trunc.wav")
        try whole.prefix(20).write(to: URL(fileURLWithPath: truncated))
        #expect { try AudioDecoder.load(path: truncated) } throws: { e in
            guard case .truncatedHeader = e as? AudioError else { return false }
            return true
        }
        let cut = dir.file("cut.wav")
        try whole.prefix(1000).write(to: URL(fileURLWithPath: cut))
        #expect { try AudioDecoder.load(path: cut) } throws: { e in
            guard case .truncatedData(_, _, 1000 - 44) = e as? AudioError else { return false }
            return true
        }

        for (encoding, name) in [("a-law", "A-law"), ("ms-adpcm", "ADPCM"), ("u-law", "mu-law")] {
            let path = dir.file("\(encoding).wav")
            try runTool(["sox", speech, "-e", encoding, path])
            #expect { try AudioDecoder.load(path: path) } throws: { e in
                guard let a = e as? AudioError, case .unsupportedEncoding(_, let found) = a else { return false }
                return found.contains(name) && a.description.contains("supported:")
            }
        }

        let nanPath = dir.file("nan.wav")
        var x = [Float](repeating: 0.25, count: 100)
        x[42] = .nan
        try x.withUnsafeBufferPointer { try WAVWriter.write($0, sampleRate: 16000, to: nanPath, format: .f32) }
        #expect(throws: AudioError.nonFinite(name: nanPath, frameIndex: 42, channel: 0)) { try AudioDecoder.load(path: nanPath) }

        let text = dir.file("notes.wav")
        try Data("hello, this is not audio".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: AudioError.unknownContainer(name: text)) { try AudioDecoder.load(path: text) }
        #expect(throws: AudioError.rawWithoutRate(name: dir.file("a.pcm"))) {
            try AudioDecoder.decode(bytes: UnsafeRawBufferPointer(start: nil, count: 0), name: dir.file("a.pcm"))
        }
        #expect(AudioError.rawWithoutRate(name: "x.raw").description.contains("--rate"))
    }
}
