import BoraModels
import ArgumentParser
import BoraCore
import BoraBench
import CBoraAllocCount
import Foundation

/// `bora bench llm`: prompt and decode throughput of a llama-family GGUF.
struct LLMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm",
        abstract: "Prompt-processing and decode tokens/s, load time, peak RSS and heap allocations per token.",
        discussion: """
            MODEL is a GGUF path or a catalog name (default: smollm2-135m-instruct). The tests are \
            llama-bench's, so the numbers compare with its pp/tg rows: the prompt test evaluates -p \
            tokens of a fixed sequence in one call; the decode test evaluates -n tokens one at a time \
            (each the greedy pick from the previous logits). Both start from a KV cache holding -d \
            tokens (llama-bench -d, default 0: an empty cache), filled once before timing.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: BenchOptions
    @Argument(help: "GGUF path or catalog model name.") var model: String = "smollm2-135m-instruct"
    @Option(name: .customShort("p"), help: "Prompt tokens.") var promptTokens = 128
    @Option(name: .customShort("n"), help: "Decoded tokens.") var decodeTokens = 64
    @Option(name: [.customShort("d"), .customLong("depth")], help: "Tokens already in the KV cache when each test starts (llama-bench -d).")
    var depth = 0

    func validate() throws {
        guard promptTokens >= 1, decodeTokens >= 1, depth >= 0 else {
            throw ValidationError("-p and -n must be at least 1 and -d at least 0")
        }
    }

    func run() throws {
        _ = global.bootstrapLogging()
        let kernels = try kernelSetFromEnvironment()
        let path = try ModelLocator.resolve(model)
        let runs = options.runs ?? (options.quick ? 3 : 5)
        var rows: [[String: Any]] = []
        for threads in try options.threadCounts() {
            let r = try benchmarkLLM(path: path, kernels: kernels, threads: threads, promptTokens: promptTokens,
                                     decodeTokens: decodeTokens, depth: depth, runs: runs)
            let (promptStats, decodeStats, loadSeconds) = (r.prompt, r.decode, r.loadSeconds)
            let row: [String: Any] = [
                "model": path, "threads": threads, "kernel_set": kernels.name, "load_ms": loadSeconds * 1e3,
                "repack_ms": r.repackMilliseconds, "prompt_tokens": promptTokens, "prompt_tokens_per_s": Double(promptTokens) / promptStats.median,
                "prompt_spread_tokens_per_s": [Double(promptTokens) / promptStats.max, Double(promptTokens) / promptStats.min],
                "depth": depth, "decode_tokens": decodeTokens, "decode_tokens_per_s": Double(decodeTokens) / decodeStats.median,
                "decode_spread_tokens_per_s": [Double(decodeTokens) / decodeStats.max, Double(decodeTokens) / decodeStats.min],
                "allocations_per_decoded_token": r.allocationsPerDecodedToken, "peak_rss_bytes": peakRSSBytes(),
                "model_bytes": r.modelBytes, "arena_bytes": r.arenaBytes,
            ]
            rows.append(row)
            if !options.json {
                print(String(format: "%@  %dT  %@  load %.0f ms  depth %d  prompt %d: %.1f t/s  decode %d: %.1f t/s  allocs/token %.2f  peak RSS %d MiB (model %d MiB, arena %d MiB)",
                             (path as NSString).lastPathComponent, threads, kernels.name, loadSeconds * 1e3,
                             depth, promptTokens, Double(promptTokens) / promptStats.median, decodeTokens,
                             Double(decodeTokens) / decodeStats.median, r.allocationsPerDecodedToken,
                             peakRSSBytes() >> 20, r.modelBytes >> 20, r.arenaBytes >> 20))
            }
        }
        if options.json {
            try printJSON(["suite": "llm", "cpu": cpuModelName(), "runs": runs, "alloc_counting": bora_alloc_count_supported() != 0, "results": rows])
        }
    }
}
