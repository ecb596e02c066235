// bora-lite: a front end that builds both ways — as ordinary Swift on the host (`swift build
// --product bora-lite`) and as Embedded Swift for aarch64 (`tools/arm/build`), where it is the
// ARM executable. It drives the same runtime libraries as `bora` (BoraCore, BoraGGUF, BoraText,
// BoraLM) with a small argument reader instead of swift-argument-parser, which Embedded Swift
// cannot build. Both builds running the same front end is what makes x86 and ARM comparable.
//
//   bora-lite run MODEL -p|--prompt PROMPT [-n 32] [-t THREADS] [-c 2048] [--temp 0] [--chat] [--json]
//   bora-lite top1 MODEL.gguf --ids FILE [-t THREADS]   teacher-forced: one batch of the ids in
//                               FILE (comma-separated), then per position the top-1 id and its
//                               margin over the second, ×10⁴ (one JSON object)
//   bora-lite kernels           the kernel set this CPU selects (BORA_KERNELS forces one)
//   bora-lite transcribe [--model NAME|PATH] AUDIO... [--json]   Whisper, as `bora transcribe` (Speech.swift)
//   bora-lite vad [--model NAME|PATH] AUDIO... [--json]          Silero VAD segments, as `bora vad` (Speech.swift)
//   bora-lite intent --context FILE.yaml [--model NAME|PATH] [--json] AUDIO...   speech to intent,
//                               as `bora intent`; `context check FILE.yaml` (Intent.swift)
//   bora-lite listen --context F --actions F [--model NAME|PATH] --device NAME | --file AUDIO
//                               [--audit DIR] [--json]   the voice loop, as `bora listen`;
//                               `actions check`, `audit init|verify DIR` (Listen.swift)
//   bora-lite models verify [NAME...]   sha256 against the catalog, as `bora models verify` (Models.swift)
//   bora-lite bench kernels|llm|vad|asr …   the suites of `bora bench`, same flags and JSON (Bench.swift)
//   bora-lite devices | record --seconds S [--device NAME] OUT.wav|.opus   ALSA capture, as `bora
//                               devices` / `bora record` (Audio.swift)
//
// MODEL arguments take a catalog name or a GGUF path. The ARM build is installed as `bora`:
// messages begin with argv[0]'s name. `run` is greedy (temperature 0), as `bora run --temp 0`; --json prints {"kernel_set", "model",
// "prompt_tokens", "text", "tokens"}. Exit codes as the host's: 0 ok, 1 runtime failure, 2 usage, 3 bad input file.
import BoraCore
import BoraGGUF
import BoraLM
import BoraText
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// The name messages begin with: argv[0]'s last component ("bora" for the ARM binary, "bora-lite" on the host).
nonisolated(unsafe) var programName = "bora"

/// Writes `text` to a descriptor in whole (1 = stdout, 2 = stderr).
func emit(_ fd: Int32, _ text: String) {
    try? writeAll(fd, Array(text.utf8))
}


struct Usage: Error { let message: String }
struct Failure: Error { let message: String; let code: Int32 }

/// The options after the subcommand: `-x VALUE`, `--name VALUE`, `--flag`, positionals.
struct Arguments {
    var positional: [String] = []
    var values: [String: String] = [:]
    var flags: Set<String> = []

    init(_ args: ArraySlice<String>, flags known: Set<String>) throws(Usage) {
        var i = args.startIndex
        while i < args.endIndex {
            let a = args[i]
            if a.hasPrefix("-") && a.count > 1 {
                if known.contains(a) { flags.insert(a); i += 1; continue }
                guard i + 1 < args.endIndex else { throw Usage(message: "\(a) needs a value") }
                values[a] = args[i + 1]
                i += 2
            } else {
                positional.append(a)
                i += 1
            }
        }
    }

    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws(Usage) -> Int {
        guard let text = values[name] else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw Usage(message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }
}

func kernelSet() throws(Failure) -> KernelSet {
    do { return try KernelSet.fromEnvironment() } catch { throw Failure(message: error.description, code: 2) }
}

/// The model, its tokenizer and a session, loaded as `bora run` loads them (bad files: exit 3).
func load(_ path: String, kernels: KernelSet, threads: Int, context: Int,
          maxBatch: Int = 32) throws(Failure) -> (GGUFFile, LlamaModel, Tokenizer, LlamaSession) {
    let file: GGUFFile
    do { file = try GGUFFile(path: path) } catch { throw Failure(message: error.description, code: 3) }
    let model: LlamaModel
    do { model = try LlamaModel(file: file, kernels: kernels, repack: false) } catch { throw Failure(message: error.description, code: 3) }
    model.prefaultWeights()   // only the tensors it uses, not the whole file
    model.repackWeights()
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(gguf: file) } catch { throw Failure(message: error.description, code: 3) }
    let session: LlamaSession
    do {
        session = try LlamaSession(model: model, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: threads)),
                                   contextLength: min(context, model.config.trainedContextLength), maxBatch: maxBatch)
    } catch { throw Failure(message: error.description, code: 1) }
    return (file, model, tokenizer, session)
}

/// Reads comma-separated token ids.
func readIds(_ path: String) throws(Failure) -> [Int32] {
    let fd = posixOpen(path, O_RDONLY)
    guard fd >= 0 else { throw Failure(message: "\(path): cannot open the ids file", code: 3) }
    var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    close(fd)
    var ids: [Int32] = []
    for field in String(decoding: bytes, as: UTF8.self).split(separator: ",") {
        guard let id = Int32(String(field.filter { $0 != " " && $0 != "\n" })) else {
            throw Failure(message: "\(path): '\(field)' is not a token id; write ids separated by commas", code: 3)
        }
        ids.append(id)
    }
    guard !ids.isEmpty else { throw Failure(message: "\(path): no token ids", code: 3) }
    return ids
}

/// Teacher-forced top-1: all ids in one batch (as llama.cpp's reference evaluates them).
func top1(_ args: Arguments) throws(Failure) {
    guard args.positional.count == 1, let idsPath = args.values["--ids"] else {
        throw Failure(message: usageLine("top1"), code: 2)
    }
    let threads: Int
    do { threads = try args.int("-t", default: ThreadPool.defaultThreadCount, range: 1...256) } catch { throw Failure(message: error.message, code: 2) }
    let ids = try readIds(idsPath)
    let kernels = try kernelSet()
    let (_, model, _, session) = try load(try modelPath(args.positional[0]), kernels: kernels, threads: threads,
                                          context: ids.count, maxBatch: 64)   // as the llama.cpp agreement tests
    let vocab = model.config.vocabSize
    let all = UnsafeMutablePointer<Float>.allocate(capacity: ids.count * vocab)
    defer { all.deallocate() }
    do { try ids.withUnsafeBufferPointer { (b) throws(LlamaError) in _ = try session.evaluate(b, allLogits: all) } }
    catch { throw Failure(message: error.description, code: 1) }
    var tops: [String] = [], margins: [String] = []
    for p in 0..<ids.count {
        let row = all + p * vocab
        var best = 0, second = 1
        if row[1] > row[0] { best = 1; second = 0 }
        for v in 2..<vocab {
            if row[v] > row[best] { second = best; best = v } else if row[v] > row[second] { second = v }
        }
        tops.append(String(best))
        margins.append(String(Int((row[best] - row[second]) * 10000)))
    }
    emit(1, "{\"kernel_set\":\(kernels.name.jsonQuoted),\"top1\":[\(tops.joined(separator: ","))],\"margin_e4\":[\(margins.joined(separator: ","))]}\n")
}

func run(_ args: Arguments) throws(Failure) {
    guard args.positional.count == 1, let prompt = args.values["-p"] ?? args.values["--prompt"] else {
        throw Failure(message: usageLine("run"), code: 2)
    }
    if let temp = args.values["--temp"], Double(temp) != 0 {
        throw Failure(message: "this build decodes greedily only: pass --temp 0 or leave it out (sampling is in the host's bora run)", code: 2)
    }
    let n: Int, threads: Int, context: Int
    do {
        n = try args.int("-n", default: 32, range: 0...100_000)
        threads = try args.int("-t", default: ThreadPool.defaultThreadCount, range: 1...256)
        context = try args.int("-c", default: 2048, range: 1...1_000_000)
    } catch { throw Failure(message: error.message, code: 2) }
    let kernels = try kernelSet()
    let path = try modelPath(args.positional[0])
    do {
        let (file, model, tokenizer, session) = try load(path, kernels: kernels, threads: threads, context: context)
        var text = prompt
        let chat = args.flags.contains("--chat")
        if chat {
            guard let template = ChatTemplate(gguf: file) else {
                throw Failure(message: "this model has no chat template Bora can render (ChatML); run without --chat", code: 1)
            }
            text = template.render([ChatMessage(role: "user", content: prompt)])
        }
        let promptTokens = tokenizer.encode(text, addSpecial: true, parseSpecial: chat)
        guard !promptTokens.isEmpty else { throw Failure(message: "the prompt is empty after tokenization", code: 2) }
        guard promptTokens.count + n <= session.contextLength else {
            throw Failure(message: model.config.contextOverflowMessage(promptTokens: promptTokens.count, generate: n, requested: context), code: 1)
        }
        var options = SamplingOptions()
        options.temperature = 0
        let sampler = Sampler(options: options, vocabSize: model.config.vocabSize, kernels: session.matmul.kernels)
        var decoder = TextStreamDecoder(tokenizer: tokenizer)
        var output = "", tokens: [Int32] = []
        let json = args.flags.contains("--json")
        if !json { emit(1, chat ? prompt + "\n" : prompt) }
        do {
            var logits = try session.evaluate(promptTokens)
            while tokens.count < n {
                let token = sampler.sample(logits)
                if tokenizer.isEndOfGeneration(token) { break }
                tokens.append(token)
                let piece = decoder.append(token)
                if json { output += piece } else { emit(1, piece) }
                if tokens.count == n { break }
                logits = try session.evaluate([token])
            }
        } catch { throw Failure(message: error.description, code: 1) }
        let tail = decoder.flush()
        if json {
            output += tail
            let ids = tokens.map { String($0) }.joined(separator: ",")
            let promptIds = promptTokens.map { String($0) }.joined(separator: ",")
            emit(1, "{\"kernel_set\":\(kernels.name.jsonQuoted),\"model\":\(path.jsonQuoted),\"prompt_tokens\":[\(promptIds)],\"text\":\(output.jsonQuoted),\"tokens\":[\(ids)]}\n")
        } else {
            emit(1, tail + "\n")
        }
    }
}

/// Each command's synopsis and what it does, for `--help` (all of them) and `COMMAND --help`.
/// MODEL, --model, --vad-model and --models take a catalog name or a GGUF path.
let commandHelp: [(name: String, synopsis: String, summary: String)] = [
    ("run", "run MODEL -p|--prompt PROMPT [-n 32] [-t THREADS] [-c 2048] [--temp 0] [--chat] [--json]",
     "generate text greedily from a llama-family GGUF (as `bora run --temp 0`)"),
    ("top1", "top1 MODEL --ids FILE [-t THREADS]", "teacher-forced top-1 ids and margins over comma-separated token ids (one JSON object)"),
    ("kernels", "kernels", "the kernel set this CPU selects (BORA_KERNELS forces one)"),
    ("transcribe", "transcribe [--model whisper-tiny.en] [-t THREADS] [--beam 1] [--full-window] [--json] [--margins] AUDIO...",
     "Whisper transcription of WAV / Ogg Opus files"),
    ("vad", "vad [--model silero-vad] [--json] AUDIO...", "Silero VAD speech segments"),
    ("intent", "intent --context FILE.yaml [--model NAME] [--vad-model NAME] [--no-trim] [--sensitivity S] [--beam N] [-t THREADS] [--json] AUDIO...",
     "speech to intent over a context"),
    ("context", "context check FILE.yaml [--model NAME] [--no-compile] [--json]", "check a context file and count its commands"),
    ("listen", "listen --context FILE.yaml --actions FILE.yaml [--target BOARD] (--device NAME | --file AUDIO) [--model NAME] [--vad-model NAME] "
        + "[--pace realtime|fast|NUMx] [--max-seconds S] [--end-ms MS] [--sensitivity S] [--beam N] [-t THREADS] [--audit DIR] [--action-user USER] [--json]",
     "the voice loop: capture, VAD, intent, policy-checked actions, audit trail (SIGHUP reloads, SIGTERM stops)"),
    ("actions", "actions check --context FILE.yaml ACTIONS.yaml", "check an actions file against its context"),
    ("audit", "audit init DIR | audit verify DIR [--key KEY | --key-file FILE] [--json]", "seal a new audit directory, or verify one"),
    ("models", "models verify [NAME...]", "sha256 of the model files against Models/catalog.json"),
    ("bench", "bench kernels|llm|vad|asr [--runs N] [--threads 1,4] [--quick] [--json] …",
     "the suites of `bora bench` (timings under emulation mean nothing)"),
    ("devices", "devices", "ALSA capture cards and PCM names"),
    ("record", "record --seconds S [--device NAME] [--realtime] [--bitrate BPS] OUT.wav|OUT.opus|OUT.ogg", "capture audio to a file"),
]

/// "usage: bora SYNOPSIS" for `command` (one of `commandHelp`'s names): the message of a usage error.
func usageLine(_ command: String) -> String {
    "usage: \(programName) " + (commandHelp.first { $0.name == command }?.synopsis ?? command)
}

/// The help text: every command, or just `command`'s.
func helpText(_ command: String? = nil) -> String {
    if let command, let entry = commandHelp.first(where: { $0.name == command }) {
        return usageLine(command) + "\n  \(entry.summary)\n"
    }
    var text = "\(programName) \(BoraVersion.string): offline inference on this board (the Embedded build of Bora's runtime).\n"
        + "MODEL, --model, --vad-model and --models take a catalog name or a GGUF path.\n"
        + "Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 bad input file.\n\ncommands:\n"
    for entry in commandHelp { text += "  \(programName) \(entry.synopsis)\n      \(entry.summary)\n" }
    return text
}

/// The program: returns the exit code.
func boraLite(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var args: [String] = []
    for i in 0..<Int(argc) { args.append(argv[i].map { String(cString: $0) } ?? "") }
    if let name = args.first?.split(separator: "/").last { programName = String(name) }
    do throws(Failure) {
        guard args.count >= 2 else { emit(2, helpText()); return 2 }
        if ["--help", "-h", "help"].contains(args[1]) { emit(1, helpText(args.count > 2 ? args[2] : nil)); return 0 }
        if args[1] == "--version" { emit(1, BoraVersion.string + "\n"); return 0 }
        if args.dropFirst(2).contains(where: { $0 == "--help" || $0 == "-h" }) { emit(1, helpText(args[1])); return 0 }
        switch args[1] {
        case "run":
            let parsed: Arguments
            do { parsed = try Arguments(args[2...], flags: ["--chat", "--json"]) } catch { throw Failure(message: error.message, code: 2) }
            try run(parsed)
        case "top1":
            let parsed: Arguments
            do { parsed = try Arguments(args[2...], flags: []) } catch { throw Failure(message: error.message, code: 2) }
            try top1(parsed)
        case "kernels":
            emit(1, try kernelSet().name + "\n")
        case "transcribe":
            let parsed: Arguments
            do { parsed = try Arguments(args[2...], flags: ["--json", "--full-window", "--margins"]) } catch { throw Failure(message: error.message, code: 2) }
            try transcribe(parsed)
        case "vad":
            let parsed: Arguments
            do { parsed = try Arguments(args[2...], flags: ["--json"]) } catch { throw Failure(message: error.message, code: 2) }
            try vad(parsed)
        case "intent":
            let parsed: Arguments
            do { parsed = try Arguments(args[2...], flags: ["--json", "--no-trim"]) } catch { throw Failure(message: error.message, code: 2) }
            try intent(parsed)
        case "context":
            guard args.count >= 3, args[2] == "check" else { throw Failure(message: usageLine("context"), code: 2) }
            let parsed: Arguments
            do { parsed = try Arguments(args[3...], flags: ["--json", "--no-compile"]) } catch { throw Failure(message: error.message, code: 2) }
            try contextCheck(parsed)
        case "models":
            guard args.count >= 3, args[2] == "verify" else { throw Failure(message: usageLine("models"), code: 2) }
            try modelsVerify(Array(args[3...]))
        case "listen":
            let parsed: Arguments
            do { parsed = try Arguments(args[2...], flags: ["--json"]) } catch { throw Failure(message: error.message, code: 2) }
            try listen(parsed)
        case "actions":
            guard args.count >= 3, args[2] == "check" else { throw Failure(message: usageLine("actions"), code: 2) }
            let parsed: Arguments
            do { parsed = try Arguments(args[3...], flags: []) } catch { throw Failure(message: error.message, code: 2) }
            try actionsCheck(parsed)
        case "audit":
            try auditCommand(Array(args[2...]))
        case "bench":
            try bench(args[2...])
        case "devices":
            devices()
        case "record":
            let parsed: Arguments
            do { parsed = try Arguments(args[2...], flags: ["--realtime"]) } catch { throw Failure(message: error.message, code: 2) }
            try record(parsed)
        default:
            throw Failure(message: "unknown command '\(args[1])'; commands: run, top1, kernels, transcribe, vad, intent, context check, listen, actions check, audit init|verify, models verify, bench, devices, record", code: 2)
        }
        return 0
    } catch {
        emit(2, "\(programName): \(error.message)\n")
        return error.code
    }
}
