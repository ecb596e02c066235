import BoraCore
import CBoraAllocCount
import Foundation
import Testing
@testable import BoraSpeech

/// Transcription behaviour on real audio and bad input (tiny.en Q8_0, the default model).
@Suite struct WhisperSessionTests {
    static let jfk = boraCache + "/speech/jfk.wav"
    static let command = boraCache + "/speech/commands/cmd04_turn_on_the_lights.wav"

    @Test func badInputGivesTypedErrors() throws {
        guard let path = whisperModelPath("whisper-tiny.en") else { return }
        let session = try makeSession(path, maxBeam: 2)
        let empty: [Float] = []
        empty.withUnsafeBufferPointer { buf in
            #expect(throws: SpeechError.audioTooShort(samples: 0)) { try session.transcribe(buf) }
        }
        var noisy = [Float](repeating: 0.01, count: 16000)
        noisy[1234] = .nan
        noisy.withUnsafeBufferPointer { buf in
            #expect(throws: SpeechError.invalidSamples(index: 1234)) { try session.transcribe(buf) }
        }
        var options = TranscribeOptions()
        options.beam = 3
        let ok = [Float](repeating: 0, count: 16000)
        ok.withUnsafeBufferPointer { buf in
            #expect(throws: SpeechError.beamTooWide(requested: 3, maximum: 2)) { try session.transcribe(buf, options: options) }
        }
        // Every description is one line that says what to do.
        for e in [SpeechError.audioTooShort(samples: 0), .invalidSamples(index: 3), .beamTooWide(requested: 3, maximum: 2)] {
            #expect(!e.description.contains("\n") && e.description.count > 20)
        }
    }

    @Test func shortAndSilentAudioDoNotCrash() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let audio = readCorpusWAV(Self.command) else { return }
        let session = try makeSession(path)
        // 0.1 s of a command and 2 s of digital silence: any text (often none), one window, no crash.
        let tenth = Array(audio[8000..<9600])
        let t1 = try tenth.withUnsafeBufferPointer { try session.transcribe($0) }
        #expect(t1.windows.count == 1 && t1.windows[0].encoderPositions == 50)
        let silence = [Float](repeating: 0, count: 32000)
        let t2 = try silence.withUnsafeBufferPointer { try session.transcribe($0) }
        #expect(t2.windows.count == 1)
        #expect(t2.tokens.count < 10)
    }

    @Test func longAudioRunsWindowByWindow() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let jfk = readCorpusWAV(Self.jfk) else { return }
        let session = try makeSession(path)
        // 66 s: jfk six times → windows at 0, 30 and 60 s.
        var long: [Float] = []
        for _ in 0..<6 { long += jfk }
        let t = try long.withUnsafeBufferPointer { try session.transcribe($0) }
        #expect(t.windows.count == 3)
        #expect(t.windows[0].encoderPositions == 1500 && t.windows[1].encoderPositions == 1500)
        #expect(t.windows[2].encoderPositions < 1500)  // the 6 s tail, variable length
        let mentions = t.text.components(separatedBy: "Americans").count - 1
        // Whisper writes a repeated passage once per window; every window must contribute text.
        #expect(mentions >= 2, "\(t.text)")
        #expect(t.windows.allSatisfy { !$0.tokens.isEmpty && !$0.skipped })
    }

    @Test func beamSearchFindsTheTranscript() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let jfk = readCorpusWAV(Self.jfk) else { return }
        let session = try makeSession(path, maxBeam: 5)
        var options = TranscribeOptions()
        options.beam = 5
        let t = try jfk.withUnsafeBufferPointer { try session.transcribe($0, options: options) }
        // faster-whisper's transcript (Tests/Fixtures/whisper/transcripts.json), up to punctuation.
        let words = t.text.lowercased().filter { $0.isLetter || $0 == " " }
        #expect(words == "and so my fellow americans ask not what your country can do for you ask what you can do for your country")
    }

    @Test func transcribingAWindowDoesNotAllocate() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let audio = readCorpusWAV(Self.command) else { return }
        let session = try makeSession(path)
        var timings = Transcript()
        let options = TranscribeOptions()
        try audio.withUnsafeBufferPointer { buf in
            try session.validate(buf, options: options)
            _ = session.transcribeWindow(buf, firstFrame: 0, options: options, globalMax: nil, timings: &timings)  // warm-up
            let setCounting: ParallelBody = { ctx, _, _ in bora_alloc_count_enable_thread(ctx == nil ? 0 : 1) }
            bora_alloc_count_reset()
            session.matmul.pool.run(setCounting, context: UnsafeMutableRawPointer(bitPattern: 1))
            for _ in 0..<3 { _ = session.transcribeWindow(buf, firstFrame: 0, options: options, globalMax: nil, timings: &timings) }
            session.matmul.pool.run(setCounting, context: nil)
        }
        #expect(bora_alloc_count_supported() != 0)
        #expect(bora_alloc_count_allocations() == 0)
        #expect(session.lastTokens.count > 2)
    }

    @Test func repeatCutFindsBackToBackBlocks() throws {
        guard let path = whisperModelPath("whisper-tiny.en") else { return }
        let session = try makeSession(path)
        let loop: [Int32] = [5, 6, 7, 8, 7, 8]
        #expect(loop.withUnsafeBufferPointer { session.repeatCut($0.baseAddress!, count: 6) } == 4)
        let plain: [Int32] = [5, 6, 7, 8, 9, 7]
        #expect(plain.withUnsafeBufferPointer { session.repeatCut($0.baseAddress!, count: 6) } == nil)
        let single: [Int32] = [5, 6, 6]  // a one-token repeat ("very very") is kept
        #expect(single.withUnsafeBufferPointer { session.repeatCut($0.baseAddress!, count: 3) } == nil)
    }
}

@Suite struct MixedRadixFFTTests {
    @Test(arguments: [200, 400, 60, 16]) func matchesDirectDFT(size: Int) {
        let fft = MixedRadixFFT(size: size)!
        defer { fft.free() }
        var rng = SplitMix64(seed: UInt64(size))
        let data = UnsafeMutablePointer<Float>.allocate(capacity: 2 * size)
        let work = UnsafeMutablePointer<Float>.allocate(capacity: 2 * size)
        defer { data.deallocate(); work.deallocate() }
        var input = [Double](repeating: 0, count: 2 * size)
        for i in 0..<(2 * size) { input[i] = Double(rng.nextFloat() * 2 - 1); data[i] = Float(input[i]) }
        fft.forward(data, work: work)
        var maxErr = 0.0
        for k in 0..<size {
            var re = 0.0, im = 0.0
            for n in 0..<size {
                let a = -2 * Double.pi * Double(k * n) / Double(size)
                re += input[2 * n] * cos(a) - input[2 * n + 1] * sin(a)
                im += input[2 * n] * sin(a) + input[2 * n + 1] * cos(a)
            }
            maxErr = max(maxErr, abs(re - Double(data[2 * k])), abs(im - Double(data[2 * k + 1])))
        }
        #expect(maxErr < 1e-4 * Double(size).squareRoot(), "size \(size): max error \(maxErr)")
        #expect(MixedRadixFFT(size: 7) == nil)
    }
}
