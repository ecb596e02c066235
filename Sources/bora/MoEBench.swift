import ArgumentParser
import BoraBench
import BoraCore
import BoraGGUF
import BoraLM
import BoraModels
import BoraText
import Foundation

/// `bora bench moe`: decode speed and peak RSS of a Mixture-of-Experts model with experts kept on
/// storage under RAM budgets, with and without read-ahead, at modelled storage speeds.
struct MoEBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moe",
        abstract: "Expert offload: decode tokens/s, peak RSS, hit rate, bytes read, prefetch accuracy and stalls per expert budget.",
        discussion: """
        Every case runs `bora run MODEL --temp 0 --json --hash-logits` in a fresh process after dropping \
        the model file from the page cache (posix_fadvise DONTNEED), so peak RSS (the child's ru_maxrss) \
        and reads are those of a cold start. Cases: all experts mapped (plain mmap, the reference), then \
        budgets of 100, 50, 25 and 12.5 % of the expert bytes, with and without prefetch, at each \
        --io-limit class. Every case's logits hash must equal the all-mapped run's (bit-identical \
        output); a mismatch is reported and exits 1. With llama.cpp's llama-bench in the cache \
        (tools/llamacpp/build), its decode speed and peak RSS on the same file (plain mmap) are added.
        """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A Mixture-of-Experts GGUF path or catalog name.") var model = "smollm2-moe"
    @Option(name: .short, help: "Tokens to decode per case.") var n = 32
    @Option(name: .short, help: "Threads.") var t = 2
    @Option(help: "Budgets in percent of all expert bytes, comma-separated.") var budgets = "100,50,25,12.5"
    @Option(help: "Storage classes in MB/s, comma-separated (SD card, eMMC, NVMe).") var ioLimits = "40,150,1500"
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Flag(help: "Decode the model's own greedy output instead of the built-in English text.") var greedy = false
    // One case in this process (the parent spawns these, one fresh process per case).
    @Flag(help: .hidden) var child = false
    @Option(help: .hidden) var childBudgetMb: Double?
    @Option(help: .hidden) var childIoLimit: Double?
    @Flag(help: .hidden) var childNoPrefetch = false

    /// The decode workload: each next token is the text's next token (teacher forcing), so the
    /// experts routed are those of natural text rather than of the model's own (for this test
    /// model, degenerate) output. The forward pass per token is the same as in generation.
    static let text = """
    The night train left the valley a little after ten. In the last carriage a conductor checked \
    the tickets of two farmers, a student with a heavy bag of books and an old woman who was \
    knitting a blue scarf. Outside, the river followed the tracks for a while, then turned away \
    into the dark fields. Nobody spoke much. When the lights of the city finally appeared, the \
    student closed her book, the farmers stood up to fetch their coats, and the old woman put \
    her needles away and smiled at the window as if she had been waiting for this moment all day.
    """

    func run() throws {
        _ = global.bootstrapLogging()
        if child { return try runChild() }
        let path = try ModelLocator.resolve(model)
        let file = try GGUFFile(path: path, hint: .random)
        let kernels = try kernelSetFromEnvironment()
        let llama = try LlamaModel(file: file, kernels: kernels)
        guard llama.config.isMixtureOfExperts else { throw ValidationError("\(path) has no experts; bench moe needs a Mixture-of-Experts model (e.g. smollm2-moe)") }
        let percents = budgets.split(separator: ",").compactMap { Double($0) }
        let classes = ioLimits.split(separator: ",").compactMap { Double($0) }
        guard !percents.isEmpty, percents.allSatisfy({ $0 > 0 && $0 <= 100 }), !classes.isEmpty, classes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--budgets takes percentages in (0, 100], --io-limits positive MB/s, comma-separated")
        }
        let expertBytes = llama.totalExpertBytes
        let prompt = "The little robot rolled into the kitchen and"
        let exe = CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "/proc/self/exe"
        func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
        func runCase(_ extra: [String]) throws -> [String: Any] {
            dropFromPageCache(path)
            var extra = extra
            if !greedy {
                extra = extra.map { $0 == "--expert-cache-mb" ? "--child-budget-mb" : $0 == "--io-limit" ? "--child-io-limit" : $0 == "--no-prefetch" ? "--child-no-prefetch" : $0 }
            }
            let (out, rss, status) = try spawnCapturing(exe, greedy
                ? ["run", path, "-p", prompt, "-n", String(n), "-t", String(t), "--temp", "0", "--json", "--hash-logits", "-c", String(n + 32)] + extra
                : ["bench", "moe", path, "--child", "-n", String(n), "-t", String(t)] + extra)
            guard status == 0, var o = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] else {
                throw BoraRuntimeError("bora run \(extra.joined(separator: " ")) failed (exit \(status))")
            }
            o["peak_rss_child_bytes"] = rss
            return o
        }
        note("\((path as NSString).lastPathComponent): \(llama.config.layerCount) layers × \(llama.config.expertCount) experts (top \(llama.config.expertUsedCount)), experts \(expertBytes >> 20) MiB, other weights \(llama.nonExpertWeightBytes >> 20) MiB; \(n) tokens per case (\(greedy ? "greedy output" : "English text, teacher-forced")), \(t) threads")
        var rows: [[String: Any]] = []
        let reference = try runCase([])
        let referenceHash = reference["logits_hash"] as? String ?? ""
        let residentSpeed = reference["decode_tokens_per_s"] as? Double ?? 0
        rows.append(["case": "all mapped (mmap)", "budget_percent": 100.0, "prefetch": false, "io_limit_mb_per_s": 0.0,
                     "decode_tokens_per_s": residentSpeed, "peak_rss_bytes": reference["peak_rss_child_bytes"] ?? 0,
                     "identical": true])
        var mismatches = 0
        for pct in percents {
            let mb = Double(expertBytes) * pct / 100 / 1_048_576
            for io in classes {
                for prefetch in [true, false] {
                    var extra = ["--expert-cache-mb", String(format: "%.3f", mb), "--io-limit", String(io)]
                    if !prefetch { extra.append("--no-prefetch") }
                    let o = try runCase(extra)
                    let identical = (o["logits_hash"] as? String) == referenceHash
                    if !identical { mismatches += 1 }
                    var row: [String: Any] = ["case": "budget \(fmt(pct)) %", "budget_percent": pct, "budget_bytes": o["expert_cache_bytes"] ?? 0,
                                              "prefetch": prefetch, "io_limit_mb_per_s": io, "identical": identical,
                                              "peak_rss_bytes": o["peak_rss_child_bytes"] ?? 0]
                    for k in ["decode_tokens_per_s", "expert_hit_rate", "expert_bytes_read_per_token", "prefetch_accuracy",
                              "stall_ms_per_token", "direct_io"] { row[k] = o[k] }
                    rows.append(row)
                    if !json {
                        note(String(format: "budget %5@ %%  io %5.0f MB/s  prefetch %@  %6.1f t/s (%3.0f %% of mapped)  RSS %4d MiB  hit %3.0f %%  read %5.2f MB/tok  pf-acc %3.0f %%  stall %6.1f ms/tok  %@",
                                    fmt(pct), io, prefetch ? "on " : "off", row["decode_tokens_per_s"] as? Double ?? 0,
                                    100 * (row["decode_tokens_per_s"] as? Double ?? 0) / max(residentSpeed, 1e-9),
                                    ((row["peak_rss_bytes"] as? Int) ?? 0) >> 20, 100 * (row["expert_hit_rate"] as? Double ?? 0),
                                    (row["expert_bytes_read_per_token"] as? Double ?? 0) / 1e6, 100 * (row["prefetch_accuracy"] as? Double ?? 0),
                                    row["stall_ms_per_token"] as? Double ?? 0, identical ? "identical" : "DIFFERENT OUTPUT"))
                    }
                }
            }
        }
        var llamaRow: [String: Any] = ["case": "llama.cpp (mmap)"]
        let cache = ProcessInfo.processInfo.environment["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora"
        let bench = cache + "/llamacpp/0.3.36/bin/llama-bench"
        if FileManager.default.isExecutableFile(atPath: bench) {
            dropFromPageCache(path)
            let (out, rss, status) = try spawnCapturing(bench, ["-m", path, "-p", "0", "-n", String(n), "-t", String(t), "-r", "1", "-o", "json"])
            if status == 0, let data = out.data(using: .utf8), let arr = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
               let first = arr.first {
                llamaRow["decode_tokens_per_s"] = first["avg_ts"]
                llamaRow["peak_rss_bytes"] = rss
            } else {
                llamaRow["missing"] = "llama-bench exited \(status)"
            }
        } else {
            llamaRow["missing"] = "\(bench) not built (tools/llamacpp/build)"
        }
        rows.append(llamaRow)
        let result: [String: Any] = ["suite": "moe", "model": path, "cpu": cpuModelName(), "threads": t, "tokens": n,
                                     "expert_bytes": expertBytes, "non_expert_weight_bytes": llama.nonExpertWeightBytes,
                                     "resident_decode_tokens_per_s": residentSpeed, "mismatches": mismatches, "cases": rows]
        if json {
            try printJSON(result)
        } else {
            note(String(format: "all mapped: %.1f t/s, peak RSS %d MiB; llama.cpp: %@", residentSpeed,
                        ((reference["peak_rss_child_bytes"] as? Int) ?? 0) >> 20,
                        llamaRow["missing"] as? String ?? String(format: "%.1f t/s, peak RSS %d MiB", llamaRow["decode_tokens_per_s"] as? Double ?? 0,
                                                                  ((llamaRow["peak_rss_bytes"] as? Int) ?? 0) >> 20)))
        }
        if mismatches > 0 { throw BoraRuntimeError("\(mismatches) case(s) produced different logits than the all-mapped run") }
    }

    /// One case: load like `bora run` (tokenizer included), encode the text, evaluate its first 8
    /// tokens as the prompt, then decode the next `n` tokens one at a time; print JSON.
    private func runChild() throws {
        let kernels = try kernelSetFromEnvironment()
        let path = try ModelLocator.resolve(model)
        let options = childBudgetMb.map { mb in
            var o = ExpertStoreOptions(budgetBytes: Int(mb * 1_048_576))
            o.prefetch = !childNoPrefetch
            o.ioLimitBytesPerSecond = childIoLimit.map { $0 * 1e6 }
            return o
        }
        let loaded = try LoadedLanguageModel(path: path, kernels: kernels, experts: options)
        let (llama, store) = (loaded.model, loaded.store)
        let tokens = loaded.encodePrompt(Self.text)
        let promptCount = 8
        let steps = min(n, tokens.count - promptCount)
        let session = try LlamaSession(model: llama, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: t)),
                                       contextLength: promptCount + steps + 1, experts: store)
        var logits = try session.evaluate(Array(tokens[0..<promptCount]))
        var hash = LogitsHash(vocabularySize: llama.config.vocabSize)
        hash.add(logits)
        store?.resetMetrics()
        var decodeSeconds = 0.0
        try tokens.withUnsafeBufferPointer { all in
            for i in 0..<steps {
                let t0 = monotonicSeconds()
                logits = try session.evaluate(UnsafeBufferPointer(rebasing: all[(promptCount + i)..<(promptCount + i + 1)]))
                decodeSeconds += monotonicSeconds() - t0
                hash.add(logits)
            }
        }
        var o: [String: Any] = ["decode_tokens_per_s": Double(steps) / decodeSeconds, "generated_tokens": steps,
                                "logits_hash": hash.hex, "peak_rss_bytes": peakRSSBytes()]
        if let store {
            let m = store.metrics
            if m.readErrors > 0 { throw BoraRuntimeError("\(m.readErrors) expert reads failed") }
            let per = Double(max(steps, 1))
            o["expert_cache_bytes"] = store.slotCount * store.slotBytes
            o["expert_hit_rate"] = m.hitRate
            o["expert_bytes_read_per_token"] = Double(m.bytesRead) / per
            o["prefetch_accuracy"] = m.prefetchAccuracy
            o["stall_ms_per_token"] = Double(m.stallNanos) / 1e6 / per
            o["direct_io"] = store.usesDirectIO
        }
        try printJSON(o)
    }

    private func fmt(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}
