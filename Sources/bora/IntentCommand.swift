import ArgumentParser
import BoraAudio
import BoraCore
import BoraIntent
import BoraSpeech
import Foundation

/// `bora intent --context FILE.yaml AUDIO…`: speech to intent with a context grammar.
struct IntentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intent",
        abstract: "Recognize spoken commands against a context grammar (speech-to-intent).",
        discussion: """
        The Whisper decoder searches only the sentences the context allows and scores the best one \
        against what it would transcribe freely: the confidence is the per-token likelihood ratio of the \
        two, doubled when every word of the reading is in the free transcript ("agreement" 1) and cut \
        to two thirds when none is (0). A reading whose confidence reaches 0.4 × (1 − --sensitivity) \
        is "understood", anything else is "not understood" — nothing is guessed. As in `bora listen`, \
        the voice activity detector first finds where the speech is (first speech to last, with \
        0.2 s more before and 0.4 s after) and only that span is recognized, so latency follows the spoken part, \
        not the file; a file without speech is "not understood (no speech)". --no-trim recognizes \
        the whole file. Prints one line per file ("FILE: intent {slots} (confidence)" or "not understood"), \
        or with --json one object per file: {"file","understood","intent","slots","confidence","agreement", \
        "transcript","latency_ms","speech_ms","grammar_text","scores"} ("speech_ms": [start, end] of \
        the span recognized, null when no speech); latency includes the detector and excludes reading \
        the file. Audio: WAV, Ogg Opus, raw s16le with --raw-rate; the speech span at most 30 s.
        """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var audioLimit: AudioLimitOptions
    @OptionGroup var modelCheck: ModelCheckOptions
    @Option(help: "Context file (Rhino-style YAML, see Models/contexts/).") var context: String
    @Option(help: "Whisper GGUF path or catalog name.") var model = "whisper-tiny.en"
    @Option(help: "0…1: higher accepts more (fewer misses, more false accepts).") var sensitivity: Float = 0.5
    @Option(help: "Beam width of the grammar search.") var beam = 3
    @Option(help: "Rank grammar readings by total log-probability plus this bonus per token (default: by mean per token). Finds more commands but accepts more out-of-context speech: for push-to-talk, e.g. --length-bonus 0.8 --beam 5.")
    var lengthBonus: Float?
    @Option(help: "Sample rate of raw s16le mono input.") var rawRate: Int?
    @Option(name: .short, help: "Threads (default: all cores).") var t: Int?
    @Flag(help: "Print one JSON object per file.") var json = false
    @Flag(help: "Recognize the whole file instead of the span the voice activity detector finds.") var noTrim = false
    @Option(help: "Voice activity detector that finds the speech: silero or energy.") var vad: VADChoice = .silero
    @Option(help: "Silero model: catalog name or GGUF path.") var vadModel = "silero-vad"
    @OptionGroup var contextLimits: ContextLimitOptions
    @Argument(help: "Audio files.") var audio: [String]

    func validate() throws {
        guard !audio.isEmpty else { throw ValidationError("give at least one audio file") }
        guard sensitivity >= 0 && sensitivity <= 1 else { throw ValidationError("--sensitivity must be between 0 and 1") }
        guard beam >= 1 && beam <= 16 else { throw ValidationError("--beam must be between 1 and 16") }
        if let lengthBonus, !(lengthBonus >= 0 && lengthBonus <= 10) { throw ValidationError("--length-bonus must be between 0 and 10") }
        if let t, t <= 0 || t > 256 { throw ValidationError("-t must be between 1 and 256") }
    }

    func run() throws {
        let log = global.bootstrapLogging()
        let start = monotonicSeconds()
        let limits = try contextLimits.limits
        let ctx = try Context.load(path: context, limits: limits)
        let session = try loadWhisperSession(model, threads: t, maxBeam: beam, verify: modelCheck.verifyModels)
        let compiled = try CompiledContext(context: ctx, tokenizer: try session.model.makeTokenizer(), limits: limits)
        let recognizer = IntentRecognizer(session: session, context: compiled, sensitivity: sensitivity, beam: beam)
        let segmenter = noTrim ? nil : try SpeechSegmenter(detector: try vad.makeDetector(model: vadModel, check: modelCheck))
        recognizer.options.grammarLengthBonus = lengthBonus
        log.info("loaded \(model) and \(context) (\(compiled.automaton.stateCount) automaton states) in \(Int((monotonicSeconds() - start) * 1000)) ms")
        var failures = FileFailures()
        for file in audio {
            do {
                let clip = try AudioDecoder.load(path: file, rawSampleRate: rawRate, limits: audioLimit.limits)
                let t0 = monotonicSeconds()
                let span = try segmenter.map { try $0.speechSpan(samples: clip.samples) } ?? 0..<clip.samples.count
                guard let span else {
                    if json {
                        try printJSON(["file": file, "understood": false, "intent": "", "slots": [String: String](),
                                       "confidence": 0, "transcript": "", "latency_ms": rounded((monotonicSeconds() - t0) * 1000),
                                       "speech_ms": Double?.none as Any, "grammar_text": ""] as [String: Any])
                    } else {
                        print("\(audio.count > 1 ? "\(file): " : "")not understood (no speech)")
                    }
                    continue
                }
                let r = try clip.samples.withUnsafeBufferPointer { all throws(SpeechError) in
                    try recognizer.recognize(UnsafeBufferPointer(rebasing: all[span]))
                }
                let latency = monotonicSeconds() - t0
                if json {
                    try printJSON([
                        "file": file, "understood": r.understood, "intent": r.intent, "slots": r.slots,
                        "confidence": rounded(Double(r.confidence), 3), "agreement": rounded(Double(r.agreement), 3),
                        "transcript": r.transcript, "latency_ms": rounded(latency * 1000), "grammar_text": r.grammarText,
                        "speech_ms": [span.lowerBound, span.upperBound].map { rounded(Double($0) * 1000 / Double(AudioClip.sampleRate)) },
                        "scores": [
                            "likelihood_ratio": rounded(Double(r.scores.confidence), 3),
                            "log_prob": rounded(Double(r.scores.logProb), 3), "tokens": r.scores.tokenCount,
                            "free_log_prob": rounded(Double(r.scores.freeLogProb), 3), "free_tokens": r.scores.freeTokenCount,
                            "no_speech_prob": rounded(Double(r.scores.noSpeechProb), 4),
                            "end_log_prob": r.scores.found ? rounded(Double(r.scores.endLogProb), 3) : -99,
                        ] as [String: Any],
                    ] as [String: Any])
                } else {
                    let prefix = audio.count > 1 ? "\(file): " : ""
                    if r.understood {
                        let slots = r.slots.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                        print("\(prefix)\(r.intent) {\(slots)} (confidence \(String(format: "%.2f", r.confidence)))")
                    } else {
                        print("\(prefix)not understood (heard \"\(r.transcript)\", confidence \(String(format: "%.2f", r.confidence)))")
                    }
                }
            } catch {
                failures.record(error, file: file, json: json)
            }
        }
        try failures.exit()
    }
}
