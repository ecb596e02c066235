import ArgumentParser
import BoraBench
import BoraCore
import BoraGGUF
import BoraLM
import BoraText
import CBoraAllocCount
import Foundation

/// `bora run MODEL -p PROMPT`: generate text with a llama-family GGUF model.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate text from a prompt with a llama-family GGUF model (streams to stdout).",
        discussion: """
        MODEL is a .gguf path or a catalog name (`bora models list`). --chat wraps the prompt in the \
        model's chat template (ChatML for SmolLM2-Instruct). --temp 0 decodes greedily; the same \
        --seed gives the same output. --json prints one object at the end with the text and timings \
        (load, prompt and decode tokens/s, time to first token, peak RSS, heap allocations per decoded token).
        """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var modelCheck: ModelCheckOptions
    @Argument(help: "GGUF path or catalog model name.") var model: String
    @Option(name: .shortAndLong, help: "Prompt text.") var prompt: String
    @Option(name: .short, help: "Tokens to generate (stops earlier at end-of-sequence).") var n = 128
    @Option(name: .short, help: "Context length (KV cache capacity).") var c = 2048
    @Option(name: .short, help: "Threads (default: all cores, or BORA_THREADS).") var t: Int?
    @Option(help: "Sampling temperature; 0 = greedy.") var temp: Float = 0.8
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(name: .customLong("top-k"), help: "Top-k (0 = off).") var topK = 40
    @Option(name: .customLong("top-p"), help: "Top-p (1 = off).") var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Min-p (0 = off).") var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1 = off).") var repeatPenalty: Float = 1.0
    @Flag(help: "Format the prompt with the model's chat template.") var chat = false
    @Flag(help: "Print a JSON object with text and timings instead of streaming.") var json = false
    @Option(help: "Mixture-of-Experts models: keep experts on storage and at most this many MiB of them in RAM (default: all mapped).")
    var expertCacheMb: Double?
    @Flag(help: "With --expert-cache-mb: do not read the next layer's guessed experts ahead.") var noPrefetch = false
    @Option(help: "With --expert-cache-mb: read ahead only guesses whose router probability reaches this (0…1; default 2 / experts per layer).")
    var prefetchMin: Float?
    @Option(help: "With --expert-cache-mb, for benchmarks: model storage speed in MB/s (SD ≈ 40, eMMC ≈ 150, NVMe ≈ 1500).")
    var ioLimit: Double?
    @Option(help: "With --expert-cache-mb: eviction policy, layer (each layer owns an equal share of the cache) or lru.")
    var eviction = "layer"
    @Flag(help: ArgumentHelp("With --json: add a 64-bit FNV-1a hash of every logits vector (bit-identity checks).", visibility: .hidden))
    var hashLogits = false

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be ≥ 0") }
        guard c > 0 else { throw ValidationError("-c must be positive") }
        if let t, t <= 0 || t > 256 { throw ValidationError("-t must be between 1 and 256") }
        if let m = expertCacheMb, !(m > 0) { throw ValidationError("--expert-cache-mb must be positive") }
        if let r = ioLimit, !(r > 0) { throw ValidationError("--io-limit must be positive (MB/s)") }
        if expertCacheMb == nil && (noPrefetch || ioLimit != nil) { throw ValidationError("--no-prefetch and --io-limit need --expert-cache-mb") }
        guard temp >= 0, topP > 0, topP <= 1, minP >= 0, minP < 1, repeatPenalty > 0 else {
            throw ValidationError("sampling options out of range: --temp ≥ 0, 0 < --top-p ≤ 1, 0 ≤ --min-p < 1, --repeat-penalty > 0")
        }
    }

    func run() throws {
        let log = global.bootstrapLogging()
        let start = monotonicSeconds()
        let kernels = try kernelSetFromEnvironment()
        let path = try modelCheck.resolve(model)
        var phase = monotonicSeconds()
        func lap(_ what: String) {
            let t = monotonicSeconds()
            log.debug("\(what): \(String(format: "%.1f", (t - phase) * 1e3)) ms, RSS \(currentRSSBytes() >> 20) MiB (peak \(peakRSSBytes() >> 20))")
            phase = t
        }
        var expertOptions: ExpertStoreOptions?
        if let mb = expertCacheMb {
            var o = ExpertStoreOptions(budgetBytes: Int(mb * 1_048_576))
            o.prefetch = !noPrefetch
            o.prefetchMinProbability = prefetchMin
            guard let policy = ExpertEviction(rawValue: eviction) else { throw ValidationError("--eviction must be layer or lru") }
            o.eviction = policy
            o.ioLimitBytesPerSecond = ioLimit.map { $0 * 1e6 }
            expertOptions = o
        }
        // Repacking (Q4_0 and Q8_0 on x86, ≈ 60 / 110 ms for SmolLM2-135M) waits until it pays: before a long
        // prompt, else after the first token, so a short prompt's first token does not wait for it.
        let loaded = try LoadedLanguageModel(path: path, kernels: kernels, experts: expertOptions, repack: false, lap: lap)
        let (file, llama, tokenizer, store) = (loaded.file, loaded.model, loaded.tokenizer, loaded.store)
        if let store {
            log.info("expert cache: \(store.slotCount) of \(llama.expertCount) experts (\(store.slotBytes) bytes each), prefetch \(store.options.prefetch ? "on" : "off")")
        }
        let threads = t ?? ThreadPool.defaultThreadCount
        let session = try LlamaSession(model: llama, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: threads)),
                                       contextLength: min(c, llama.config.trainedContextLength), experts: store)
        lap("session")
        let loadSeconds = monotonicSeconds() - start
        log.info("loaded \(path) in \(Int(loadSeconds * 1000)) ms, kernels \(kernels.name), \(threads) threads")
        func repack() {
            guard !llama.isRepacked else { return }
            llama.repackWeights()
            if llama.repacked.count > 0 {
                log.info("repacked \(llama.repacked.count) matrices (\(llama.repacked.bytes >> 20) MiB) in \(Int(llama.repacked.milliseconds)) ms (BORA_REPACK=0 keeps the GGUF layout)")
            }
        }

        var text = prompt
        if chat {
            guard let template = ChatTemplate(gguf: file) else {
                throw BoraRuntimeError("this model has no chat template Bora can render (ChatML); run without --chat")
            }
            text = template.render([ChatMessage(role: "user", content: prompt)])
        }
        let promptTokens = loaded.encodePrompt(text, parseSpecial: chat)
        guard !promptTokens.isEmpty else { throw ValidationError("the prompt is empty after tokenization") }
        guard promptTokens.count + n <= session.contextLength else {
            throw BoraRuntimeError(llama.config.contextOverflowMessage(promptTokens: promptTokens.count, generate: n, requested: c))
        }

        var options = SamplingOptions()
        options.temperature = temp; options.seed = seed; options.topK = topK; options.topP = topP
        options.minP = minP; options.repetitionPenalty = repeatPenalty
        let sampler = Sampler(options: options, vocabSize: llama.config.vocabSize, kernels: session.matmul.kernels)
        var history = [Int32](repeating: 0, count: promptTokens.count + n)
        for (i, tok) in promptTokens.enumerated() { history[i] = tok }
        var decoder = TextStreamDecoder(tokenizer: tokenizer)
        var output = ""

        if promptTokens.count >= llama.repackBreakEvenTokens { repack() }
        let promptStart = monotonicSeconds()
        var logits = try session.evaluate(promptTokens)
        let promptSeconds = monotonicSeconds() - promptStart
        var logitsHash = LogitsHash(vocabularySize: llama.config.vocabSize)
        if hashLogits { logitsHash.add(logits) }
        store?.resetMetrics()   // per-token figures cover decoding
        var generated = 0
        var firstTokenSeconds = 0.0
        var decodeSeconds = 0.0
        var decodeAllocations: UInt64 = 0
        let stdout = FileHandle.standardOutput
        if !json { stdout.write(Data((chat ? prompt + "\n" : prompt).utf8)) }
        while generated < n {
            var t0 = monotonicSeconds()
            bora_alloc_count_reset()
            bora_alloc_count_enable(1)
            let token = history.withUnsafeBufferPointer { h in
                sampler.sample(logits, history: UnsafeBufferPointer(rebasing: h[0..<(promptTokens.count + generated)]))
            }
            bora_alloc_count_enable(0)
            decodeAllocations += bora_alloc_count_allocations()
            if generated == 0 { firstTokenSeconds = processAgeSeconds() ?? (monotonicSeconds() - start) }
            if tokenizer.isEndOfGeneration(token) { break }
            history[promptTokens.count + generated] = token
            generated += 1
            let piece = decoder.append(token)
            if json { output += piece } else if !piece.isEmpty { stdout.write(Data(piece.utf8)) }
            if generated == n { decodeSeconds += monotonicSeconds() - t0; break }
            if !llama.isRepacked {
                // the first token is out: repack now, outside the decode timing
                decodeSeconds += monotonicSeconds() - t0
                repack()
                t0 = monotonicSeconds()
            }
            bora_alloc_count_reset()
            bora_alloc_count_enable(1)
            var tok = token
            logits = try withUnsafePointer(to: &tok) { try session.evaluate(UnsafeBufferPointer(start: $0, count: 1)) }
            bora_alloc_count_enable(0)
            if hashLogits { logitsHash.add(logits) }
            decodeAllocations += bora_alloc_count_allocations()
            decodeSeconds += monotonicSeconds() - t0
        }
        let tail = decoder.flush()
        if let errors = store?.metrics.readErrors, errors > 0 {
            throw BoraRuntimeError("\(errors) expert read(s) from \(path) failed; the output is not valid — check the storage device")
        }
        lap("decode \(generated) tokens (\(memoryBreakdown()))")
        if json {
            output += tail
            var moe: [String: Any] = [:]
            if let store {
                let m = store.metrics
                let perToken = Double(max(generated, 1))
                moe = ["expert_cache_bytes": store.slotCount * store.slotBytes, "expert_slots": store.slotCount,
                       "experts_total": llama.expertCount, "expert_bytes_total": llama.totalExpertBytes,
                       "non_expert_weight_bytes": llama.nonExpertWeightBytes, "prefetch": store.options.prefetch,
                       "prefetch_min_probability": Double(store.options.prefetchMinProbability ?? 2 / Float(llama.config.expertCount)), "eviction": store.options.eviction.rawValue,
                       "direct_io": store.usesDirectIO, "io_limit_mb_per_s": ioLimit ?? 0,
                       "expert_hit_rate": m.hitRate, "expert_misses_per_token": Double(m.misses) / perToken,
                       "expert_bytes_read_per_token": Double(m.bytesRead) / perToken,
                       "prefetch_accuracy": m.prefetchAccuracy, "prefetch_issued_per_token": Double(m.prefetchIssued) / perToken,
                       "stall_ms_per_token": Double(m.stallNanos) / 1e6 / perToken, "expert_read_errors": m.readErrors]
            }
            if hashLogits { moe["logits_hash"] = logitsHash.hex }
            try printJSON(moe.merging([
                "model": path, "kernel_set": kernels.name, "threads": threads, "text": output,
                "prompt_tokens": promptTokens.count, "generated_tokens": generated,
                "load_ms": loadSeconds * 1e3, "repack_ms": llama.repacked.milliseconds, "repacked_bytes": llama.repacked.bytes,
                "prompt_ms": promptSeconds * 1e3,
                "prompt_tokens_per_s": Double(promptTokens.count) / promptSeconds,
                "decode_tokens_per_s": generated > 0 ? Double(generated) / decodeSeconds : 0,
                "time_to_first_token_ms_since_process_start": firstTokenSeconds * 1e3,
                "peak_rss_bytes": peakRSSBytes(), "model_bytes": file.byteCount, "arena_bytes": session.arenaBytes,
                "heap_allocations_per_decoded_token": generated > 0 ? Double(decodeAllocations) / Double(generated) : 0,
                "alloc_counting": bora_alloc_count_supported() != 0,
            ]) { a, _ in a })
        } else {
            stdout.write(Data((tail + "\n").utf8))
            log.info("prompt \(promptTokens.count) tokens in \(Int(promptSeconds * 1000)) ms; \(generated) tokens at \(String(format: "%.1f", Double(generated) / max(decodeSeconds, 1e-9))) t/s")
        }
    }
}
