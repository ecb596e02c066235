import BoraModels
import ArgumentParser
import BoraCore
import BoraBench

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
        let json = options.json
        let document = try benchmarkLLMSuite(path: path, kernels: kernels, threadCounts: try options.threadCounts(),
                                             promptTokens: promptTokens, decodeTokens: decodeTokens, depth: depth, runs: runs) { line in
            if !json { print(line) }
        }
        if json { print(document.serialized(escapingSlashes: false)) }
    }
}
