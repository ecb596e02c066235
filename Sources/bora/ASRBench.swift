import ArgumentParser
import BoraAudio
import BoraBench
import BoraCore
import BoraSpeech
import Foundation

/// `bora bench asr`: Whisper transcription latency, real-time factor, heap allocations per
/// utterance and peak RSS, per model × encoding mode × audio file.
struct ASRBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asr",
        abstract: "Whisper latency per utterance: variable-length vs full-window encoding, per model.",
        discussion: """
        Each case transcribes one file greedily: one warm-up, then --runs timed runs of the \
        allocation-free path (log-mel, encoder, decoder); reports median/p90/min latency, real-time \
        factor, heap allocations per utterance after warm-up (all threads), and the process's peak RSS \
        so far. Without AUDIO it uses the corpus of tools/speech/fetch: a 2–3 s spoken command and \
        jfk.wav (11 s). Models default to whisper-tiny.en (Q8_0) and whisper-tiny.en-q4_0. \
        For a clean RSS figure per model run one model per process.
        """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: BenchOptions
    @Option(help: "Whisper models (catalog names or paths), comma-separated.") var models = "whisper-tiny.en,whisper-tiny.en-q4_0"
    @Option(help: "Encoding modes, comma-separated: variable, full.") var modes = "variable,full"
    @Argument(help: "Audio files (default: a spoken command and jfk.wav from ~/.cache/bora/speech).") var audio: [String] = []

    func run() throws {
        _ = global.bootstrapLogging()
        let runs = options.runs ?? (options.quick ? 3 : 10)
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
        let threads = try options.threadCounts().last ?? ThreadPool.defaultThreadCount
        let modeList = modes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !modeList.isEmpty, modeList.allSatisfy({ $0 == "variable" || $0 == "full" }) else {
            throw ValidationError("--modes takes variable and/or full")
        }
        var files = audio
        if files.isEmpty {
            let speech = (ProcessInfo.processInfo.environment["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora") + "/speech"
            files = ["\(speech)/commands/cmd04_turn_on_the_lights.wav", "\(speech)/jfk.wav"]
            for f in files where !FileManager.default.fileExists(atPath: f) {
                throw BoraRuntimeError("\(f) is missing; run tools/speech/fetch (or pass AUDIO files)")
            }
        }
        let clips = try files.map { (name: $0, clip: try AudioDecoder.load(path: $0)) }
        var rows: [JSONValue] = []
        let json = options.json
        for name in models.split(separator: ",").map(String.init) {
            let session = try loadWhisperSession(name, threads: threads, maxBeam: 1)
            rows += benchmarkASR(session: session, modelName: name, fullWindowModes: modeList.map { $0 == "full" },
                                 files: clips, runs: runs, threads: threads) { line in if !json { print(line) } }
        }
        if json { print(asrBenchDocument(runs: runs, results: rows).serialized(escapingSlashes: false)) }
    }
}
