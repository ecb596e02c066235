import BoraAudio
import BoraCore
import BoraIntent
import BoraSpeech
import BoraText

/// Why a `CommandRecognizer` could not be built: the model's tokenizer, or a context that does not
/// compile. Bad input like the errors it carries; `description` is theirs.
public enum RecognizerSetupError: BoraInputError, Equatable {
    case tokenizer(TokenizerError)
    case context(ContextError)

    public var description: String {
        switch self {
        case let .tokenizer(e): return e.description
        case let .context(e): return e.description
        }
    }
}

/// Which grammar an utterance is recognized against: the user's context, or the built-in
/// yes/no context used while an action waits for spoken confirmation.
public enum UtteranceGrammar: Sendable, Equatable {
    case commands
    case confirmation
}

/// Speech to intent for one utterance (the loop's view of the recognizer, replaceable in tests).
public protocol UtteranceRecognizer: AnyObject {
    /// The rate, Hz, of the samples `recognizeUtterance` takes (its speech model's). The loop
    /// refuses to run when it differs from its segmenter's.
    var sampleRate: Int { get }
    /// Recognizes mono `samples` at `sampleRate` against `grammar`. With `.confirmation`, an understood
    /// result has intent `ConfirmationContext.confirmIntent` or `.cancelIntent`.
    func recognizeUtterance(_ samples: UnsafeBufferPointer<Float>, grammar: UtteranceGrammar) throws(SpeechError) -> IntentResult
}

extension UtteranceRecognizer {
    /// Default for recognizers without a model of their own (test doubles): the rate BoraAudio
    /// delivers, `AudioClip.sampleRate`.
    public var sampleRate: Int { AudioClip.sampleRate }
}

/// The built-in confirmation context: "confirm" (yes, affirmative, go ahead, do it) or "cancel"
/// (no, negative, abort, stop), optionally followed by "please".
public enum ConfirmationContext {
    public static let confirmIntent = "confirm"
    public static let cancelIntent = "cancel"
    public static let yaml = """
    context:
      expressions:
        confirm:
          - "[confirm, yes, affirmative, go ahead, do it] (please)"
          - "yes confirm"
        cancel:
          - "[cancel, no, negative, abort, stop] (please)"
          - "no cancel"
    """

    /// The parsed context (the YAML above is a constant: a parse failure is a programming error
    /// caught by the tests, so it is reported as a `ContextError` like any other context).
    public static func load() throws(ContextError) -> Context {
        try Context.parse(yaml: yaml, name: "built-in confirmation context")
    }
}

/// The listen loop's recognizer: one Whisper session, two compiled grammars (the user's context
/// and the confirmation context), same beam and sensitivity. Not thread-safe (the loop calls it
/// from one thread).
public final class CommandRecognizer: UtteranceRecognizer, @unchecked Sendable {
    public let commands: IntentRecognizer
    public let confirmation: IntentRecognizer

    /// Compiles `context` (under `limits`) and the confirmation context for `session`'s tokenizer.
    public init(session: WhisperSession, context: Context, sensitivity: Float = 0.5, beam: Int = 3,
                limits: ContextLimits = .standard) throws(RecognizerSetupError) {
        let tokenizer: Tokenizer
        do throws(TokenizerError) { tokenizer = try session.model.makeTokenizer() } catch { throw .tokenizer(error) }
        let compiled: CompiledContext, yesNo: CompiledContext
        do throws(ContextError) {
            compiled = try CompiledContext(context: context, tokenizer: tokenizer, limits: limits)
            yesNo = try CompiledContext(context: try ConfirmationContext.load(), tokenizer: tokenizer)
        } catch { throw .context(error) }
        commands = IntentRecognizer(session: session, context: compiled, sensitivity: sensitivity, beam: beam)
        confirmation = IntentRecognizer(session: session, context: yesNo, sensitivity: sensitivity, beam: beam)
        confirmation.penalizesDisagreement = false   // see IntentRecognizer.penalizesDisagreement
    }

    /// The Whisper model's rate (both grammars share one session).
    public var sampleRate: Int { commands.sampleRate }

    public func recognizeUtterance(_ samples: UnsafeBufferPointer<Float>, grammar: UtteranceGrammar) throws(SpeechError) -> IntentResult {
        try (grammar == .commands ? commands : confirmation).recognize(samples)
    }
}
