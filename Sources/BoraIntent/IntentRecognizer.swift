import BoraCore
import BoraSpeech
import BoraText

/// What one utterance meant, or that it was not understood.
public struct IntentResult: Sendable, Equatable {
    /// True when an in-grammar reading was found and its confidence passed the threshold.
    public var understood: Bool
    /// Intent name and slot values (slot phrases as written in the context, built-ins normalized);
    /// empty when not understood.
    public var intent: String
    public var slots: [String: String]
    /// 0…1: the per-token likelihood ratio of the best in-grammar reading to the unconstrained
    /// transcript (`scores.confidence`), weighted by `agreement` (see `IntentRecognizer.confidence`).
    public var confidence: Float
    /// 0…1: the fraction of the reading's words that the unconstrained transcript also heard
    /// (`IntentRecognizer.agreement`); 0 when nothing was found.
    public var agreement: Float
    /// What the model heard without the grammar.
    public var transcript: String
    /// The best in-grammar reading's text even when rejected ("" when none).
    public var grammarText: String
    /// The recognizer's raw scores (log-probabilities, token counts, end-of-text and no-speech probabilities).
    public var scores: RecognitionScores
    public var melMilliseconds: Double, encodeMilliseconds: Double, decodeMilliseconds: Double

    /// Time spent recognizing: mel + encoder + decoder, ms.
    public var recognizeMilliseconds: Double { melMilliseconds + encodeMilliseconds + decodeMilliseconds }

    /// A result as the recognizer returns it; every field past `confidence` defaults to "nothing
    /// measured", so policies and the voice loop can be driven without a model.
    public init(understood: Bool, intent: String, slots: [String: String] = [:], confidence: Float, agreement: Float = 0,
                transcript: String = "", grammarText: String = "", scores: RecognitionScores = .none,
                melMilliseconds: Double = 0, encodeMilliseconds: Double = 0, decodeMilliseconds: Double = 0) {
        self.understood = understood; self.intent = intent; self.slots = slots; self.confidence = confidence
        self.agreement = agreement; self.transcript = transcript; self.grammarText = grammarText; self.scores = scores
        self.melMilliseconds = melMilliseconds; self.encodeMilliseconds = encodeMilliseconds; self.decodeMilliseconds = decodeMilliseconds
    }
}

/// Speech-to-intent: a Whisper session constrained by one compiled context. The decoder searches
/// only the context's token paths (beam search over the automaton), scores the best path against
/// the unconstrained transcript, and accepts it when the confidence reaches `threshold`, which
/// `sensitivity` sets: threshold = 0.4 × (1 − sensitivity), 0.2 at the default 0.5 (higher
/// sensitivity → fewer misses, more false accepts). The confidence is the per-token likelihood
/// ratio weighted by how much of the reading the free transcript heard (`confidence(ratio:agreement:)`):
/// people's out-of-context speech that a short command explains ("computer" → "come here") shares no
/// word with the free transcript, while a command Whisper merely stutters ("computer computer" →
/// "computer") shares all of them. Calibrated on 1,580 recordings of people (tools/eval-reject) and
/// tools/eval-intent's corpus. Not thread-safe (one per session).
public final class IntentRecognizer: @unchecked Sendable {
    public let session: WhisperSession
    public let context: CompiledContext
    public let beam: Int
    public var sensitivity: Float
    public var options = TranscribeOptions()
    /// When true (default), a reading that shares no word with the free transcript counts two
    /// thirds of its likelihood ratio. The listen loop's yes/no grammar turns it off: its one-word
    /// answers are what whisper-tiny.en garbles most ("confirm" heard as "can"), and it is only
    /// listened to for a few seconds after a command that asked for it.
    public var penalizesDisagreement = true

    /// Preconditions: 1 ≤ beam ≤ session.maxBeam, 0 ≤ sensitivity ≤ 1.
    public init(session: WhisperSession, context: CompiledContext, sensitivity: Float = 0.5, beam: Int = 3) {
        precondition(beam >= 1 && beam <= session.maxBeam && sensitivity >= 0 && sensitivity <= 1)
        self.session = session; self.context = context; self.sensitivity = sensitivity; self.beam = beam
    }

    /// Confidence a reading needs to count as understood.
    public var threshold: Float { 0.4 * (1 - sensitivity) }

    /// The rate, Hz, of the audio `recognize` takes: the Whisper model's (`config.sampleRate`).
    public var sampleRate: Int { session.model.config.sampleRate }

    /// Recognizes one utterance (mono at `sampleRate`, ≤ 30 s). Throws `SpeechError` for unusable audio.
    public func recognize(_ samples: UnsafeBufferPointer<Float>) throws(SpeechError) -> IntentResult {
        let r = try session.recognize(samples, automaton: context.automaton, beam: beam, options: options)
        var result = IntentResult(understood: false, intent: "", slots: [:], confidence: 0, agreement: 0,
                                  transcript: r.transcript, grammarText: "", scores: r.scores,
                                  melMilliseconds: r.melMilliseconds, encodeMilliseconds: r.encodeMilliseconds,
                                  decodeMilliseconds: r.decodeMilliseconds)
        guard r.scores.found else { return result }
        result.grammarText = trimmed(session.model.tokenizer.decode(r.tokens))
        result.agreement = Self.agreement(reading: result.grammarText, transcript: r.transcript)
        result.confidence = Self.confidence(ratio: r.scores.confidence, agreement: result.agreement,
                                            penalizesDisagreement: penalizesDisagreement)
        if result.confidence >= threshold, let match = context.interpret(tokens: r.tokens) {
            result.understood = true
            result.intent = match.intent
            result.slots = match.slots
        }
        return result
    }
}

extension IntentRecognizer {
    /// The fraction of `reading`'s words (lowercased, punctuation dropped) that `transcript` also
    /// has, a word counting as heard when some transcript word is within 40 % edits of it
    /// (Levenshtein distance ≤ 0.4 × the longer length: "light"/"lights", "mirror"/"mirrors").
    /// 0 for an empty reading.
    public static func agreement(reading: String, transcript: String) -> Float {
        let readingWords = CompiledContext.normalizedWords(reading).map { Array($0.unicodeScalars) }
        guard !readingWords.isEmpty else { return 0 }
        let heardWords = CompiledContext.normalizedWords(transcript).map { Array($0.unicodeScalars) }
        var heard = 0
        for word in readingWords where heardWords.contains(where: { similar(word, $0) }) { heard += 1 }
        return Float(heard) / Float(readingWords.count)
    }

    /// The confidence an utterance is judged by: `ratio` (the per-token likelihood ratio, 0…1)
    /// doubled when every word of the reading was heard (`agreement` 1), cut to two thirds when
    /// none was (`agreement` 0; unless `penalizesDisagreement` is false), as is otherwise; capped at 1. At the default threshold 0.2 a
    /// reading that shares no word with the transcript needs a ratio of 0.3 and one whose words
    /// were all heard 0.1. On 6,300 out-of-context recordings of people this took false accepts
    /// from 0.17 % to 0.05 %, and one-word commands spoken by people from 98.1 % to 98.7 % (see
    /// docs/measurements.md).
    public static func confidence(ratio: Float, agreement: Float, penalizesDisagreement: Bool = true) -> Float {
        let weight: Float = agreement >= 1 ? 2 : agreement <= 0 && penalizesDisagreement ? 2.0 / 3.0 : 1
        return min(1, ratio * weight)
    }

    /// Levenshtein distance ≤ 40 % of the longer word.
    static func similar(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Bool {
        if a == b { return true }
        let allowed = Int(Float(max(a.count, b.count)) * 0.4)
        guard abs(a.count - b.count) <= allowed else { return false }
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) <= allowed }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count] <= allowed
    }
}
