// bora-lite's speech-to-intent commands (both builds; see BoraLite.swift), the library calls of
// the host's `bora intent` and `bora context check`:
//
//   bora-lite intent --context FILE.yaml [--model NAME|PATH] [--vad-model NAME|PATH] [--no-trim]
//                    [--sensitivity S] [--beam N] [-t THREADS] [--json] AUDIO...
//   bora-lite context check FILE.yaml [--model NAME|PATH] [--no-compile] [--json]
//
// `intent` recognizes each file against the context: only the span the Silero VAD finds (0.2 s
// before and 0.4 s after), as `bora intent`, or with --no-trim the whole file. Models: catalog
// names (default whisper-tiny.en and silero-vad) or GGUF paths. One line per
// file, or with --json one object per file: {"file", "understood", "intent", "slots",
// "confidence", "agreement", "transcript", "grammar_text"} (confidence and agreement to 3
// decimals). `context check` validates the file and prints its counts, and builds the token
// automaton with the model's tokenizer unless --no-compile. A context error is printed as FILE:LINE:COLUMN: problem, exit 3.
import BoraAudio
import BoraCore
import BoraGGUF
import BoraIntent
import BoraSpeech
import BoraText

/// `x` with three decimals, as JSON (Embedded Swift has no String(format:)).
func fixed3(_ x: Float) -> String {
    let thousandths = Int((Double(x) * 1000).rounded())
    let sign = thousandths < 0 ? "-" : ""
    let a = thousandths.magnitude
    let frac = String(a % 1000)
    return sign + String(a / 1000) + "." + String(repeating: "0", count: 3 - frac.count) + frac
}

/// The slots as a JSON object, keys sorted.
func slotsJSON(_ slots: [String: String]) -> String {
    "{" + slots.sorted { $0.key < $1.key }.map { "\($0.key.jsonQuoted):\($0.value.jsonQuoted)" }.joined(separator: ",") + "}"
}

func loadContext(_ path: String) throws(Failure) -> Context {
    do { return try Context.load(path: path) } catch { throw Failure(message: error.description, code: 3) }
}

func compile(_ context: Context, _ tokenizer: Tokenizer) throws(Failure) -> CompiledContext {
    do { return try CompiledContext(context: context, tokenizer: tokenizer) } catch { throw Failure(message: error.description, code: 3) }
}

func intent(_ args: Arguments) throws(Failure) {
    let usage = usageLine("intent")
    guard args.positional.count >= 1, let contextPath = args.values["--context"] else { throw Failure(message: usage, code: 2) }
    let beam: Int, threads: Int
    do {
        beam = try args.int("--beam", default: 3, range: 1...16)
        threads = try args.int("-t", default: ThreadPool.defaultThreadCount, range: 1...256)
    } catch { throw Failure(message: error.message, code: 2) }
    var sensitivity: Float = 0.5
    if let text = args.values["--sensitivity"] {
        guard let s = decimal(text), s <= 1 else { throw Failure(message: "--sensitivity must be between 0 and 1", code: 2) }
        sensitivity = Float(s)
    }
    let kernels = try kernelSet()
    let context = try loadContext(contextPath)
    let session: WhisperSession
    let model = try modelPath(args.values["--model"] ?? "whisper-tiny.en")
    do { session = try WhisperSession(path: model, kernels: kernels, threads: threads, maxBeam: beam) } catch {
        throw Failure(message: error.description, code: 3)
    }
    let tokenizer: Tokenizer
    do { tokenizer = try session.model.makeTokenizer() } catch { throw Failure(message: error.description, code: 3) }
    let compiled = try compile(context, tokenizer)
    let recognizer = IntentRecognizer(session: session, context: compiled, sensitivity: sensitivity, beam: beam)
    var segmenter: SpeechSegmenter?
    if !args.flags.contains("--no-trim") {
        let vadPath = try modelPath(args.values["--vad-model"] ?? "silero-vad")
        do { segmenter = try SpeechSegmenter(detector: try SileroVAD(path: vadPath, kernels: kernels)) } catch {
            throw Failure(message: error.description, code: 3)
        }
    }
    let json = args.flags.contains("--json")
    let files = args.positional[...]
    var failed = false
    for file in files {
        do throws(Failure) {
            let clip: AudioClip
            do { clip = try AudioDecoder.load(path: file) } catch { throw Failure(message: error.description, code: 3) }
            var span: Range<Int>? = 0..<clip.samples.count
            if let segmenter {
                do { span = try segmenter.speechSpan(samples: clip.samples) } catch { throw Failure(message: error.description, code: 3) }
            }
            let prefix = files.count > 1 ? "\(file): " : ""
            guard let span else {
                if json {
                    emit(1, "{\"confidence\":0.000,\"file\":\(file.jsonQuoted),\"grammar_text\":\"\",\"intent\":\"\",\"slots\":{},\"transcript\":\"\",\"understood\":false}\n")
                } else {
                    emit(1, prefix + "not understood (no speech)\n")
                }
                continue
            }
            let r: IntentResult
            do {
                r = try clip.samples.withUnsafeBufferPointer { (all) throws(SpeechError) -> IntentResult in
                    try recognizer.recognize(UnsafeBufferPointer(rebasing: all[span]))
                }
            } catch { throw Failure(message: error.description, code: 3) }
            if json {
                emit(1, "{\"agreement\":\(fixed3(r.agreement)),\"confidence\":\(fixed3(r.confidence)),\"file\":\(file.jsonQuoted),"
                     + "\"grammar_text\":\(r.grammarText.jsonQuoted),\"intent\":\(r.intent.jsonQuoted),\"slots\":\(slotsJSON(r.slots)),"
                     + "\"transcript\":\(r.transcript.jsonQuoted),\"understood\":\(r.understood)}\n")
            } else if r.understood {
                let slots = r.slots.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                emit(1, "\(prefix)\(r.intent) {\(slots)} (confidence \(fixed3(r.confidence)))\n")
            } else {
                emit(1, "\(prefix)not understood (heard \(r.transcript.jsonQuoted), confidence \(fixed3(r.confidence)))\n")
            }
        } catch {
            failed = true
            if json { emit(1, "{\"error\":\(error.message.jsonQuoted),\"file\":\(file.jsonQuoted)}\n") }
            emit(2, "\(programName): \(file): \(error.message)\n")
        }
    }
    if failed { throw Failure(message: "some files could not be recognized (above)", code: 3) }
}

func contextCheck(_ args: Arguments) throws(Failure) {
    guard args.positional.count == 1 else {
        throw Failure(message: usageLine("context"), code: 2)
    }
    let path = args.positional[0]
    let context = try loadContext(path)
    let sentences = context.sentenceCount()
    var fields = ["\"file\":\(path.jsonQuoted)", "\"intents\":\(context.intents.count)", "\"expressions\":\(context.expressionCount)",
                  "\"slot_types\":\(context.slots.count)", "\"macros\":\(context.macroNames.count)", "\"sentences\":\(sentences.count)",
                  "\"sentences_saturated\":\(sentences.saturated)", "\"sentences_approximate\":\(sentences.approximate)"]
    var automaton: (states: Int, edges: Int)?
    if !args.flags.contains("--no-compile") {
        let model = try modelPath(args.values["--model"] ?? "whisper-tiny.en")
        let file: GGUFFile
        do { file = try GGUFFile(path: model) } catch { throw Failure(message: error.description, code: 3) }
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(gguf: file) } catch { throw Failure(message: error.description, code: 3) }
        let compiled = try compile(context, tokenizer)
        automaton = (compiled.automaton.stateCount, compiled.automaton.edgeToken.count)
        fields += ["\"automaton_states\":\(automaton!.states)", "\"automaton_edges\":\(automaton!.edges)"]
    }
    if args.flags.contains("--json") {
        emit(1, "{" + fields.sorted().joined(separator: ",") + "}\n")
        return
    }
    let bound = sentences.saturated ? "more than " : sentences.approximate ? "up to " : ""
    var out = "\(path): ok — \(context.intents.count) intents, \(context.expressionCount) expressions, \(bound)\(sentences.count) distinct sentences\n"
    if let automaton { out += "token automaton: \(automaton.states) states, \(automaton.edges) edges\n" }
    emit(1, out)
}
