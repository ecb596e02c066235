import BoraCore
import BoraText
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scores of one constrained recognition; the token sequences stay in the session
/// (`lastTokens` = best in-grammar path, `lastFreeTokens` = unconstrained transcript).
public struct RecognitionScores: Sendable, Equatable {
    /// True when some in-grammar path reached an accepting state and ended.
    public var found: Bool
    /// Log-probability of the in-grammar path, end of text included, under the model's full softmax.
    public var logProb: Float
    /// Log-probability of the unconstrained greedy transcript, end of text included.
    public var freeLogProb: Float
    /// Tokens of each path, end of text excluded.
    public var tokenCount: Int
    public var freeTokenCount: Int
    /// Per-token likelihood ratio of the in-grammar path to the unconstrained transcript,
    /// exp((logProb − freeLogProb) / (tokenCount + 1)), capped at 1; 0 when nothing was found.
    /// 1 means the grammar path is what the model would say anyway.
    public var confidence: Float
    /// Log-probability of end of text right after the in-grammar path (how sure the model is that
    /// the speech ends where the reading does; very negative when the reading stops early).
    public var endLogProb: Float
    /// Probability of the no-speech token at the start of the transcript.
    public var noSpeechProb: Float
    public var encoderPositions: Int

    /// No recognition ran: nothing found, zero probabilities and counts.
    public static let none = RecognitionScores(found: false, logProb: -.infinity, freeLogProb: -.infinity, tokenCount: 0,
                                               freeTokenCount: 0, confidence: 0, endLogProb: -.infinity, noSpeechProb: 0,
                                               encoderPositions: 0)
}

/// A constrained recognition with its token sequences.
public struct Recognition: Sendable, Equatable {
    public var scores: RecognitionScores
    /// Best in-grammar path (text tokens, no end of text); empty when `scores.found` is false.
    public var tokens: [Int32]
    /// The unconstrained greedy transcript's tokens and text.
    public var freeTokens: [Int32]
    public var transcript: String
    public var melMilliseconds: Double
    public var encodeMilliseconds: Double
    public var decodeMilliseconds: Double
}

extension WhisperSession {
    /// Unconstrained tokens of the last `recognizeWindow` (valid until the next call).
    public var lastFreeTokens: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: freeOutput, count: freeCount) }

    /// With `recordsMargins`, the top-1 − top-2 logit margin of each step of the last greedy
    /// decode (the last window of `transcribe`; valid until the next call): one per output token,
    /// plus the end-of-text step when the decode ended on it.
    public var lastGreedyMargins: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: margins, count: marginCount) }

    /// Recognizes an utterance of at most 30 s against `automaton`: one encoding, then an
    /// unconstrained greedy decode (the transcript and the reference likelihood) and a beam search
    /// of width `beam` restricted to the automaton's paths. Throws like `transcribe`, and
    /// `.audioTooLong` beyond one window.
    public func recognize(_ samples: UnsafeBufferPointer<Float>, automaton: TokenAutomaton, beam: Int = 3,
                          options: TranscribeOptions = TranscribeOptions()) throws(SpeechError) -> Recognition {
        var checked = options
        checked.beam = beam
        try validate(samples, options: checked)
        let seconds = Double(samples.count) / Double(model.config.sampleRate)
        guard samples.count <= model.config.windowSamples else {
            throw .audioTooLong(seconds: seconds, maximum: Double(model.config.chunkSeconds))
        }
        var timings = Transcript()
        let scores = recognizeWindow(samples, automaton: automaton, beam: beam, options: options, timings: &timings)
        let free = Array(lastFreeTokens)
        return Recognition(scores: scores, tokens: Array(lastTokens), freeTokens: free,
                           transcript: trimmed(model.tokenizer.decode(free.filter { $0 < model.config.eot })),
                           melMilliseconds: timings.melMilliseconds, encodeMilliseconds: timings.encodeMilliseconds,
                           decodeMilliseconds: timings.decodeMilliseconds)
    }

    /// The allocation-free core of `recognize` (preconditions as validated there; samples fit one window).
    public func recognizeWindow(_ samples: UnsafeBufferPointer<Float>, automaton: TokenAutomaton, beam: Int,
                                options: TranscribeOptions, timings: inout Transcript) -> RecognitionScores {
        precondition(beam >= 1 && beam <= maxBeam && samples.count <= model.config.windowSamples)
        let t0 = monotonicNanoseconds()
        let frames = options.fullWindow ? model.config.windowFrames : encodedFrames(sampleCount: samples.count, options: options)
        prepareMel(samples, firstFrame: 0, frames: frames, globalMax: nil,
                   padWithSilence: options.padWithSilence && !options.fullWindow)
        let t1 = monotonicNanoseconds()
        encode(frames: frames)
        let t2 = monotonicNanoseconds()
        let positions = frames / 2
        let (promptLength, noSpeechProb) = runPrompt(positions: positions)
        let maxNew = max(1, min(options.maxTokens, textContext - promptLength))
        // Unconstrained transcript first (cache set 0 beyond the prompt), then the grammar search
        // restarts from the prompt's state: its cache rows and its logits (kept in promptLogits).
        let freeLogProb = greedy(promptLength: promptLength, maxNew: maxNew, positions: positions,
                                 cutRepeats: options.stopOnRepeat && !options.fullWindow)
        freeOutput.update(from: output, count: outputCount)
        freeCount = outputCount
        cacheSet = 0
        logits.update(from: promptLogits, count: vocab)
        let logProb = beamSearch(beam: beam, promptLength: promptLength, maxNew: maxNew, positions: positions,
                                 cutRepeats: false, automaton: automaton, lengthBonus: options.grammarLengthBonus)
        let t3 = monotonicNanoseconds()
        timings.melMilliseconds += Double(t1 - t0) / 1e6
        timings.encodeMilliseconds += Double(t2 - t1) / 1e6
        timings.decodeMilliseconds += Double(t3 - t2) / 1e6
        let found = logProb != nil
        var confidence: Float = 0
        if let logProb {
            confidence = min(1, expf((logProb - freeLogProb) / Float(outputCount + 1)))
        }
        return RecognitionScores(found: found, logProb: logProb ?? -.infinity, freeLogProb: freeLogProb,
                                 tokenCount: outputCount, freeTokenCount: freeCount, confidence: confidence,
                                 endLogProb: found ? bestEndLogProb : -.infinity,
                                 noSpeechProb: noSpeechProb, encoderPositions: positions)
    }
}
