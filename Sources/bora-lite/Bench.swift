// bora-lite's benchmarks (both builds; see BoraLite.swift), the suites of `bora bench` with its
// flags, text and JSON (the measuring code is BoraBench's, shared with the host):
//
//   bora-lite bench kernels [--types q4_0,q4_1,q8_0,q4_K] [--threads 1,4] [--runs N] [--quick] [--json]
//   bora-lite bench llm [MODEL] [-p 128] [-n 64] [-d 0] [--threads …] [--runs N] [--quick] [--json]
//   bora-lite bench vad [--model silero-vad] [--runs 20] [--json]
//   bora-lite bench asr [--models whisper-tiny.en,…] [--modes variable,full] [--threads …] [--runs N] [--quick] [--json] [AUDIO…]
//
// MODEL and --model/--models take catalog names or GGUF paths. Exit codes as the host's.
import BoraAudio
import BoraBench
import BoraCore
import BoraSpeech

func bench(_ argv: ArraySlice<String>) throws(Failure) {
    guard let suite = argv.first else { throw Failure(message: usageLine("bench"), code: 2) }
    let args: Arguments
    do { args = try Arguments(argv.dropFirst(), flags: ["--json", "--quick"]) } catch { throw Failure(message: error.message, code: 2) }
    let json = args.flags.contains("--json"), quick = args.flags.contains("--quick")
    func number(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(Failure) -> Int {
        do { return try args.int(name, default: value, range: range) } catch { throw Failure(message: error.message, code: 2) }
    }
    func threadCounts() throws(Failure) -> [Int] {
        guard let counts = benchThreadCounts(args.values["--threads"]) else {
            throw Failure(message: "--threads takes positive counts like 1,2", code: 2)
        }
        return counts
    }
    func noPositional() throws(Failure) {
        if let extra = args.positional.first { throw Failure(message: "bench \(suite): unexpected argument '\(extra)'", code: 2) }
    }
    let kernels = try kernelSet()
    let say: (String) -> Void = { line in if !json { emit(1, line + "\n") } }
    let document: JSONValue
    switch suite {
    case "kernels":
        try noPositional()
        var types: [QuantType] = []
        for name in (args.values["--types"] ?? "q4_0,q4_1,q8_0,q4_K").split(separator: ",") {
            guard let t = QuantType(name: String(name)), t.activationType != nil else {
                throw Failure(message: "unknown or unsupported weight type '\(name)' in --types", code: 2)
            }
            types.append(t)
        }
        let runs = try number("--runs", quick ? 5 : 15, 1...10_000)
        let (doc, summary) = benchmarkKernels(kernels: kernels, types: types, threadCounts: try threadCounts(), runs: runs,
                                              quick: quick) { line in if !json { emit(2, line + "\n") } }
        document = doc
        if !json { emit(1, summary + "\n") }
    case "llm":
        guard args.positional.count <= 1 else { throw Failure(message: "bench llm takes one MODEL", code: 2) }
        let path = try modelPath(args.positional.first ?? "smollm2-135m-instruct")
        let p = try number("-p", 128, 1...100_000), n = try number("-n", 64, 1...100_000)
        let d = try number(args.values["--depth"] != nil ? "--depth" : "-d", 0, 0...1_000_000)
        let runs = try number("--runs", quick ? 3 : 5, 1...10_000)
        let counts = try threadCounts()
        do throws(BenchError) {
            document = try benchmarkLLMSuite(path: path, kernels: kernels, threadCounts: counts, promptTokens: p,
                                             decodeTokens: n, depth: d, runs: runs, note: say)
        } catch { throw Failure(message: error.description, code: error.badInput ? 3 : 1) }
    case "vad":
        try noPositional()
        let path = try modelPath(args.values["--model"] ?? "silero-vad")
        let runs = try number("--runs", 20, 1...10_000)
        do { document = try benchmarkVADSuite(path: path, kernels: kernels, runs: runs, note: say) }
        catch { throw Failure(message: error.description, code: error.badInput ? 3 : 1) }
    case "asr":
        let runs = try number("--runs", quick ? 3 : 10, 1...10_000)
        let threads = try threadCounts().last ?? ThreadPool.defaultThreadCount
        var modes: [Bool] = []
        for m in (args.values["--modes"] ?? "variable,full").split(separator: ",") {
            guard m == "variable" || m == "full" else { throw Failure(message: "--modes takes variable and/or full", code: 2) }
            modes.append(m == "full")
        }
        var files = args.positional
        if files.isEmpty {
            let speech = (environmentValue("BORA_CACHE") ?? (environmentValue("HOME") ?? "") + "/.cache/bora") + "/speech"
            files = ["\(speech)/commands/cmd04_turn_on_the_lights.wav", "\(speech)/jfk.wav"]
            for f in files where !fileExists(f) { throw Failure(message: "\(f) is missing; run tools/speech/fetch (or pass AUDIO files)", code: 1) }
        }
        var clips: [(name: String, clip: AudioClip)] = []
        for f in files {
            do { clips.append((f, try AudioDecoder.load(path: f))) } catch { throw Failure(message: "\(f): \(error.description)", code: 3) }
        }
        var rows: [JSONValue] = []
        for name in (args.values["--models"] ?? "whisper-tiny.en,whisper-tiny.en-q4_0").split(separator: ",") {
            let path = try modelPath(String(name))
            let session: WhisperSession
            do { session = try WhisperSession(path: path, kernels: kernels, threads: threads, maxBeam: 1) }
            catch { throw Failure(message: error.description, code: 3) }
            rows += benchmarkASR(session: session, modelName: String(name), fullWindowModes: modes, files: clips,
                                 runs: runs, threads: threads, note: say)
        }
        document = asrBenchDocument(runs: runs, results: rows)
    default:
        throw Failure(message: "unknown bench suite '\(suite)'; suites: kernels, llm, vad, asr", code: 2)
    }
    if json { emit(1, document.serialized(escapingSlashes: false) + "\n") }
}
