import ArgumentParser
import BoraCore
import BoraGGUF
import BoraLM
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
        let kernels: KernelSet
        do { kernels = try KernelSet.fromEnvironment() } catch { throw ValidationError(error.description) }
        let path = try resolveModelPath(model)
        let runs = options.runs ?? (options.quick ? 3 : 5)
        var rows: [[String: Any]] = []
        for threads in try options.threadCounts() {
            let t0 = now()
            let file = try GGUFFile(path: path)
            let llama = try LlamaModel(file: file, kernels: kernels)
            let session = try LlamaSession(model: llama, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: threads)),
                                           contextLength: depth + promptTokens + decodeTokens)
            let loadSeconds = now() - t0
            let vocab = llama.config.vocabSize
            let sequence = { (count: Int, salt: Int) in (0..<count).map { Int32(($0 * 7919 + salt) % (vocab - 100) + 50) } }
            let prompt = sequence(promptTokens, 13)
            // The cache both tests start from, filled once (llama-bench restores a saved state).
            if depth > 0 { _ = try session.evaluate(sequence(depth, 101)) }
            let sampler = Sampler(options: .greedy, vocabSize: vocab, kernels: kernels)
            var generated = [Int32](repeating: 0, count: decodeTokens)
            let (promptStats, _) = measure(runs: runs) {
                session.truncate(to: depth)
                _ = try? session.evaluate(prompt)
            }
            // Decode: one token at a time from the depth, allocations counted over the loop.
            var decodeAllocations = 0.0
            let (decodeStats, allocs) = measure(runs: runs) {
                session.truncate(to: depth)
                var token = prompt[0]
                generated.withUnsafeMutableBufferPointer { out in
                    withUnsafeMutablePointer(to: &token) { tp in
                        for i in 0..<decodeTokens {
                            let logits = try! session.evaluate(UnsafeBufferPointer(start: tp, count: 1))
                            tp.pointee = sampler.sample(logits)
                            out[i] = tp.pointee
                        }
                    }
                }
            }
            decodeAllocations = allocs / Double(decodeTokens)
            let row: [String: Any] = [
                "model": path, "threads": threads, "kernel_set": kernels.name, "load_ms": loadSeconds * 1e3,
                "repack_ms": llama.repacked.milliseconds, "prompt_tokens": promptTokens, "prompt_tokens_per_s": Double(promptTokens) / promptStats.median,
                "prompt_spread_tokens_per_s": [Double(promptTokens) / promptStats.max, Double(promptTokens) / promptStats.min],
                "depth": depth, "decode_tokens": decodeTokens, "decode_tokens_per_s": Double(decodeTokens) / decodeStats.median,
                "decode_spread_tokens_per_s": [Double(decodeTokens) / decodeStats.max, Double(decodeTokens) / decodeStats.min],
                "allocations_per_decoded_token": decodeAllocations, "peak_rss_bytes": peakRSSBytes(),
                "model_bytes": file.byteCount, "arena_bytes": session.arenaBytes,
            ]
            rows.append(row)
            if !options.json {
                print(String(format: "%@  %dT  %@  load %.0f ms  depth %d  prompt %d: %.1f t/s  decode %d: %.1f t/s  allocs/token %.2f  peak RSS %d MiB (model %d MiB, arena %d MiB)",
                             (path as NSString).lastPathComponent, threads, kernels.name, loadSeconds * 1e3,
                             depth, promptTokens, Double(promptTokens) / promptStats.median, decodeTokens,
                             Double(decodeTokens) / decodeStats.median, decodeAllocations,
                             peakRSSBytes() >> 20, file.byteCount >> 20, session.arenaBytes >> 20))
            }
        }
        if options.json {
            try printJSON(["suite": "llm", "cpu": cpuModelName(), "runs": runs, "alloc_counting": bora_alloc_count_supported() != 0, "results": rows])
        }
    }
}

/// A GGUF path, or the GGUF of a catalog model name.
func resolveModelPath(_ nameOrPath: String) throws -> String {
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".gguf") || FileManager.default.fileExists(atPath: nameOrPath) {
        return nameOrPath
    }
    let (catalog, cache) = try ModelsCommand.load()
    let m = try catalog.model(named: nameOrPath)
    guard cache.isFetched(m) else { throw BoraRuntimeError("\(nameOrPath) is not fetched; run `bora models fetch \(nameOrPath)`") }
    return cache.loadPath(m)
}
