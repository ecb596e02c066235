import BoraModels
import ArgumentParser
import BoraBench
import BoraCore

/// `bora bench vad`: cost of one 32 ms frame, single-threaded.
struct VADBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vad",
        abstract: "µs per 32 ms frame (512 samples, 1 thread) of Silero VAD and the energy detector; heap allocations per frame.",
        discussion: """
        Scores 10 s of fixed synthetic audio (seeded noise with tone bursts) frame by frame, --runs times \
        after one warm-up pass, timing every frame. tools/vad/bench_onnx.py times onnxruntime \
        (intra_op_num_threads=1) on the same model for comparison.
        """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print machine-readable JSON (one object) instead of a table.") var json = false
    @Option(help: "Timed passes over the audio (after one warm-up pass).") var runs = 20
    @Option(help: "Silero model: catalog name or GGUF path.") var model = "silero-vad"

    func run() throws {
        _ = global.bootstrapLogging()
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
        let kernels = try kernelSetFromEnvironment()
        let path = try ModelLocator.resolve(model)
        let json = self.json
        let document = try benchmarkVADSuite(path: path, kernels: kernels, runs: runs) { line in if !json { print(line) } }
        if json { print(document.serialized(escapingSlashes: false)) }
    }
}
