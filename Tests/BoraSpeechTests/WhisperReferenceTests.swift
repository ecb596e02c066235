import BoraCore
import Foundation
import Testing
@testable import BoraSpeech

/// Bora's front end, encoder and first decoder step against faster-whisper's FeatureExtractor
/// and ctranslate2 4.8.5 (float32) on jfk.wav — fixtures made by tools/whisper/make_references.py.
@Suite struct WhisperReferenceTests {
    static let jfk = boraCache + "/speech/jfk.wav"

    @Test func logMelMatchesFasterWhisper() throws {
        guard let path = whisperModelPath("whisper-tiny.en-f16"), let audio = readCorpusWAV(Self.jfk) else { return }
        let session = try makeSession(path)
        let reference = readFloats(whisperFixtures.appendingPathComponent("jfk_mel.f32"))  // [80][1100]
        let frames = 1100
        #expect(reference.count == 80 * frames)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 80 * 1200)
        defer { out.deallocate() }
        audio.withUnsafeBufferPointer { session.frontEnd.compute($0, frames: 1200, out: out) }
        var maxDiff: Float = 0
        for t in 0..<frames { for m in 0..<80 { maxDiff = max(maxDiff, abs(out[t * 80 + m] - reference[m * frames + t])) } }
        var padding: Float = 0
        for i in (frames * 80)..<(1200 * 80) { padding = max(padding, abs(out[i])) }
        print("log-mel max |diff| vs faster-whisper: \(maxDiff)")
        #expect(maxDiff < 2e-4)
        #expect(padding == 0)
    }

    @Test(arguments: [true, false]) func encoderMatchesCTranslate2(fullWindow: Bool) throws {
        guard let path = whisperModelPath("whisper-tiny.en-f16"), let audio = readCorpusWAV(Self.jfk) else { return }
        let session = try makeSession(path)
        let frames = fullWindow ? 3000 : 1100
        audio.withUnsafeBufferPointer { session.prepareMel($0, firstFrame: 0, frames: frames, globalMax: nil) }
        session.encode(frames: frames)
        let reference = readFloats(whisperFixtures.appendingPathComponent(fullWindow ? "jfk_encoder_full.f32" : "jfk_encoder_var.f32"))
        let rows = reference.count / 384
        var maxDiff: Float = 0, maxRef: Float = 0
        for r in 0..<rows {
            for c in 0..<384 {
                maxDiff = max(maxDiff, abs(session.encoderOutput[r * 8 * 384 + c] - reference[r * 384 + c]))
                maxRef = max(maxRef, abs(reference[r * 384 + c]))
            }
        }
        print("encoder (\(fullWindow ? "full" : "variable")) max |diff| vs ctranslate2: \(maxDiff) (max |ref| \(maxRef))")
        #expect(maxDiff < 2e-3 * max(1, maxRef))
    }

    @Test func firstStepLogitsMatchCTranslate2() throws {
        guard let path = whisperModelPath("whisper-tiny.en-f16"), let audio = readCorpusWAV(Self.jfk) else { return }
        let session = try makeSession(path)
        audio.withUnsafeBufferPointer { session.prepareMel($0, firstFrame: 0, frames: 3000, globalMax: nil) }
        session.encode(frames: 3000)
        session.computeCrossKeysValues(positions: 1500)
        session.cacheSet = 0
        for (i, t) in session.prompt.enumerated() {
            session.stepTokens[0] = t
            session.decodeStep(beams: 1, position: i, positions: 1500)
        }
        let reference = readHalfs(whisperFixtures.appendingPathComponent("jfk_logits_step0.f16"))
        var maxDiff: Float = 0, best = 0
        for i in 0..<reference.count {
            maxDiff = max(maxDiff, abs(session.logits[i] - reference[i]))
            if session.logits[i] > session.logits[best] { best = i }
        }
        let refBest = reference.indices.max(by: { reference[$0] < reference[$1] })!
        print("step-0 logits max |diff| vs ctranslate2: \(maxDiff); argmax \(best) vs \(refBest)")
        #expect(best == refBest)
        #expect(maxDiff < 0.05)
    }
}
