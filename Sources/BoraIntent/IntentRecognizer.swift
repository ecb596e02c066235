import BoraCore
import BoraSpeech

/// What one utterance meant, or that it was not understood.
public struct IntentResult: Sendable, Equatable {
    /// True when an in-grammar reading was found and its confidence passed the threshold.
    public var understood: Bool
    /// Intent name and slot values (slot phrases as written in the context, built-ins normalized);
    /// empty when not understood.
    public var intent: String
    public var slots: [String: String]
    /// 0…1: per-token likelihood ratio of the best in-grammar reading to the unconstrained transcript.
    public var confidence: Float
    /// What the model heard without the grammar.
    public var transcript: String
    /// The best in-grammar reading's text even when rejected ("" when none).
    public var grammarText: String
    /// The recognizer's raw scores (log-probabilities, token counts, end-of-text and no-speech probabilities).
    public var scores: RecognitionScores
    public var melMilliseconds: Double, encodeMilliseconds: Double, decodeMilliseconds: Double
}

/// Speech-to-intent: a Whisper session constrained by one compiled context. The decoder searches
/// only the context's token paths (beam search over the automaton), scores the best path against
/// the unconstrained transcript, and accepts it when the confidence reaches `threshold`, which
/// `sensitivity` sets: threshold = 0.4 × (1 − sensitivity), 0.2 at the default 0.5 (higher
/// sensitivity → fewer misses, more false accepts). The mapping is calibrated on tools/eval-intent's
/// corpus: out-of-context speech scores a median 0.015 (90th percentile 0.07), correct readings a
/// median 0.98. Not thread-safe (one per session).
public final class IntentRecognizer: @unchecked Sendable {
    public let session: WhisperSession
    public let context: CompiledContext
    public let beam: Int
    public var sensitivity: Float
    public var options = TranscribeOptions()

    /// Preconditions: 1 ≤ beam ≤ session.maxBeam, 0 ≤ sensitivity ≤ 1.
    public init(session: WhisperSession, context: CompiledContext, sensitivity: Float = 0.5, beam: Int = 3) {
        precondition(beam >= 1 && beam <= session.maxBeam && sensitivity >= 0 && sensitivity <= 1)
        self.session = session; self.context = context; self.sensitivity = sensitivity; self.beam = beam
    }

    /// Confidence a reading needs to count as understood.
    public var threshold: Float { 0.4 * (1 - sensitivity) }

    /// Recognizes one utterance (16 kHz mono, ≤ 30 s). Throws `SpeechError` for unusable audio.
    public func recognize(_ samples: UnsafeBufferPointer<Float>) throws(SpeechError) -> IntentResult {
        let r = try session.recognize(samples, automaton: context.automaton, beam: beam, options: options)
        var result = IntentResult(understood: false, intent: "", slots: [:], confidence: r.scores.confidence,
                                  transcript: r.transcript, grammarText: "", scores: r.scores,
                                  melMilliseconds: r.melMilliseconds, encodeMilliseconds: r.encodeMilliseconds,
                                  decodeMilliseconds: r.decodeMilliseconds)
        guard r.scores.found else { return result }
        result.grammarText = trimmed(session.model.tokenizer.decode(r.tokens))
        if r.scores.confidence >= threshold, let match = context.interpret(tokens: r.tokens) {
            result.understood = true
            result.intent = match.intent
            result.slots = match.slots
        }
        return result
    }
}
