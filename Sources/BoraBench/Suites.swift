// The `bench` suites both front ends run (`bora bench` on the host, the aarch64 `bora` built by
// tools/arm/build): each measures, calls `note` with one human-readable line per case as it goes,
// and returns the JSON document `--json` prints. The front ends only parse flags and print.
import BoraAudio
import BoraCore
import BoraGGUF
import BoraLM
import BoraSpeech
import BoraText
import CBoraAllocCount

/// `x` with `decimals` digits after the point (printf's `%.Nf`).
func fixed(_ x: Double, _ decimals: Int) -> String { formatDouble("%.\(decimals)f", x) }

/// `s` padded with spaces on the right to `width` characters.
func padded(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

/// The last path component ("/a/b.gguf" → "b.gguf").
func baseName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }

/// The thread counts of a `--threads` value ("1,2"): nil unless every entry is an integer in
/// 1…256 and there is at least one. Without a value: 1 and all cores (just 1 on one core).
public func benchThreadCounts(_ text: String?) -> [Int]? {
    guard let text else {
        let all = ThreadPool.defaultThreadCount
        return all > 1 ? [1, all] : [1]
    }
    var counts: [Int] = []
    for field in text.split(separator: ",", omittingEmptySubsequences: false) {
        guard let n = Int(String(field.filter { $0 != " " })), n > 0, n <= 256 else { return nil }
        counts.append(n)
    }
    return counts.isEmpty ? nil : counts
}

/// The fields every suite's JSON document has: suite, cpu, runs, alloc_counting, plus `extra`.
func benchDocument(_ suite: String, runs: Int, results: [JSONValue], extra: [String: JSONValue] = [:]) -> JSONValue {
    var doc: [String: JSONValue] = ["suite": .string(suite), "cpu": .string(cpuModelName()), "runs": .int(runs),
                                    "alloc_counting": .bool(bora_alloc_count_supported() != 0), "results": .array(results)]
    for (k, v) in extra { doc[k] = v }
    return .object(doc)
}

// MARK: - kernels

/// `bench kernels`: the read bandwidth (a multi-threaded streaming read of 512 MB, 256 MB with
/// `quick`), then for each type (and its x8 repack where the kernel set multiplies from it) GEMV on
/// SmolLM2 shapes and on one matrix larger than the last-level cache, at each thread count, as GB/s
/// of weights and a fraction of the bandwidth; GEMM with 64 vectors as weight-bytes×vectors per
/// second and its ratio to GEMV. Types the set does not support are skipped. Returns the JSON
/// document and the closing summary line.
public func benchmarkKernels(kernels: KernelSet, types: [QuantType], threadCounts: [Int], runs: Int, quick: Bool,
                             note: (String) -> Void) -> (json: JSONValue, summary: String) {
    note("kernel set: \(kernels.name) · CPU: \(cpuModelName()) · runs: \(runs)")
    let bandwidth = measureReadBandwidth(bytes: (quick ? 256 : 512) << 20, threadCounts: threadCounts, runs: runs) { t, gbs in
        note("read bandwidth, \(t) thread(s): \(fixed(gbs, 1)) GB/s")
    }
    var bestBandwidth = 0.0
    for v in bandwidth.values { bestBandwidth = max(bestBandwidth, v) }
    let bigBytesTarget = (quick ? 128 : 256) << 20
    var rows: [JSONValue] = []
    var variants: [(QuantType, Bool)] = []
    for type in types where kernels.supports(type) {
        variants.append((type, false))
        if kernels.prefersRepacked(type) { variants.append((type, true)) }
    }
    for (type, repack) in variants {
        let typeLabel = repack ? "\(type.description) x8" : type.description
        let bigCols = 4096
        let bigRows = (bigBytesTarget / type.byteCount(elements: bigCols)!) / 16 * 16
        // K-quant rows need multiples of 256 columns: SmolLM2's 576 becomes 512 for Q4_K.
        let hidden = type.blockSize == 256 ? 512 : 576
        let shapes: [(String, Int, Int, Bool)] = [("\(hidden)x1536", hidden, 1536, false), ("1536x\(hidden)", 1536, hidden, false),
                                                  ("\(hidden)x49152", hidden, 49152, false), ("\(bigCols)x\(bigRows) (> LLC)", bigCols, bigRows, true)]
        for (label, cols, outRows, outOfCache) in shapes {
            let weight = RandomWeights(type: type, cols: cols, rows: outRows)
            defer { weight.free() }
            let repacked = RepackedWeights(kernels: kernels, enabled: true)
            let view = repack ? repacked.repack(weight.view) : weight.view
            let vectorsForGEMM = 64
            let x = UnsafeMutablePointer<Float>.allocate(capacity: cols * vectorsForGEMM)
            defer { x.deallocate() }
            for i in 0..<(cols * vectorsForGEMM) { x[i] = Float(i % 97) / 97 - 0.5 }
            let y = UnsafeMutablePointer<Float>.allocate(capacity: outRows * vectorsForGEMM)
            defer { y.deallocate() }
            let scratch = UnsafeMutableRawPointer.allocate(
                byteCount: Matmul.scratchBytes(type: type, cols: cols, vectors: vectorsForGEMM), alignment: 64)
            defer { scratch.deallocate() }
            for t in threadCounts {
                let matmul = Matmul(kernels: kernels, pool: ThreadPool(threads: t))
                let bytes = Double(view.byteCount)
                // Small matrices run many times per sample so timer resolution does not matter.
                let repeats = max(1, Int(8e6 / bytes))
                let (gemv, allocs) = measure(runs: runs) {
                    for _ in 0..<repeats { matmul.multiply(y, weight: view, x: x, vectors: 1, scratch: scratch) }
                }
                let per = Double(repeats)
                let gemvGBs = bytes * per / gemv.median / 1e9
                var row: [String: JSONValue] = [
                    "type": .string(type.description), "layout": .string(repack ? "x8" : "gguf"), "shape": .string(label),
                    "cols": .int(cols), "rows": .int(outRows), "threads": .int(t), "weight_bytes": .int(Int(bytes)),
                    "gemv_median_s": .double(gemv.median / per), "gemv_min_s": .double(gemv.min / per),
                    "gemv_p90_s": .double(gemv.p90 / per), "gemv_gb_s": .double(gemvGBs),
                    "bandwidth_fraction": .double(gemvGBs / bestBandwidth), "allocations_per_gemv": .double(allocs / per),
                ]
                if repack { row["repack_ms"] = .double(repacked.milliseconds) }
                var line = padded(typeLabel, 8) + " " + padded(label, 22) + " \(t)T  GEMV " + fixed(gemv.median / per * 1e3, 3)
                    + " ms  " + fixed(gemvGBs, 1) + " GB/s  " + fixed(gemvGBs / bestBandwidth * 100, 1) + "% of bw  allocs/call "
                    + fixed(allocs / per, 0)
                if !outOfCache {  // GEMM on the huge matrix would take minutes
                    let (gemm, gemmAllocs) = measure(runs: max(3, runs / 3)) {
                        matmul.multiply(y, weight: view, x: x, vectors: vectorsForGEMM, scratch: scratch)
                    }
                    let gemmGBs = bytes * Double(vectorsForGEMM) / gemm.median / 1e9
                    row["gemm64_median_s"] = .double(gemm.median)
                    row["gemm64_weight_gb_s_x_vectors"] = .double(gemmGBs)
                    row["gemm64_vs_gemv"] = .double(gemmGBs / gemvGBs)
                    row["allocations_per_gemm"] = .double(gemmAllocs)
                    line += "  GEMM64 " + fixed(gemm.median * 1e3, 2) + " ms  " + fixed(gemmGBs / gemvGBs, 1) + "x GEMV"
                }
                rows.append(.object(row))
                note(line)
            }
        }
    }
    var bandwidthJSON: [String: JSONValue] = [:]
    for (t, gbs) in bandwidth { bandwidthJSON["\(t)"] = .double(gbs) }
    let json = benchDocument("kernels", runs: runs, results: rows, extra: [
        "kernel_set": .string(kernels.name), "threads": .array(threadCounts.map { .int($0) }),
        "read_bandwidth_gb_s": .object(bandwidthJSON), "peak_rss_bytes": .int(peakRSSBytes()),
    ])
    let summary = "kernel set \(kernels.name); best read bandwidth \(fixed(bestBandwidth, 1)) GB/s; peak RSS \(peakRSSBytes() >> 20) MiB; "
        + "allocation counting \(bora_alloc_count_supported() != 0 ? "on" : "unavailable")"
    return (json, summary)
}

// MARK: - llm

/// `bench llm`: `benchmarkLLM` at each thread count (a fresh load each), one line per count.
public func benchmarkLLMSuite(path: String, kernels: KernelSet, threadCounts: [Int], promptTokens: Int, decodeTokens: Int,
                              depth: Int, runs: Int, note: (String) -> Void) throws(BenchError) -> JSONValue {
    var rows: [JSONValue] = []
    for threads in threadCounts {
        let r = try benchmarkLLM(path: path, kernels: kernels, threads: threads, promptTokens: promptTokens,
                                 decodeTokens: decodeTokens, depth: depth, runs: runs)
        let prompt = Double(promptTokens), decode = Double(decodeTokens)
        rows.append([
            "model": .string(path), "threads": .int(threads), "kernel_set": .string(kernels.name),
            "load_ms": .double(r.loadSeconds * 1e3), "repack_ms": .double(r.repackMilliseconds),
            "prompt_tokens": .int(promptTokens), "prompt_tokens_per_s": .double(prompt / r.prompt.median),
            "prompt_spread_tokens_per_s": [.double(prompt / r.prompt.max), .double(prompt / r.prompt.min)],
            "depth": .int(depth), "decode_tokens": .int(decodeTokens), "decode_tokens_per_s": .double(decode / r.decode.median),
            "decode_spread_tokens_per_s": [.double(decode / r.decode.max), .double(decode / r.decode.min)],
            "allocations_per_decoded_token": .double(r.allocationsPerDecodedToken), "peak_rss_bytes": .int(peakRSSBytes()),
            "model_bytes": .int(r.modelBytes), "arena_bytes": .int(r.arenaBytes),
        ])
        note("\(baseName(path))  \(threads)T  \(kernels.name)  load \(fixed(r.loadSeconds * 1e3, 0)) ms  depth \(depth)  "
             + "prompt \(promptTokens): \(fixed(prompt / r.prompt.median, 1)) t/s  decode \(decodeTokens): \(fixed(decode / r.decode.median, 1)) t/s  "
             + "allocs/token \(fixed(r.allocationsPerDecodedToken, 2))  peak RSS \(peakRSSBytes() >> 20) MiB "
             + "(model \(r.modelBytes >> 20) MiB, arena \(r.arenaBytes >> 20) MiB)")
    }
    return benchDocument("llm", runs: runs, results: rows)
}

// MARK: - vad

/// `bench vad`: Silero (the GGUF at `path`) and the energy detector over 10 s of
/// `syntheticVADAudio`, one thread, `runs` timed passes; µs per 32 ms frame and allocations per frame.
public func benchmarkVADSuite(path: String, kernels: KernelSet, runs: Int, note: (String) -> Void) throws(BenchError) -> JSONValue {
    let t0 = monotonicSeconds()
    let silero: SileroVAD, energy: EnergyVAD
    do throws(VADError) {
        silero = try SileroVAD(path: path, kernels: kernels)
        energy = try EnergyVAD()
    } catch { throw BenchError(error.description, badInput: true) }
    let loadMs = (monotonicSeconds() - t0) * 1e3
    let audio = syntheticVADAudio(seconds: 10)
    var rows: [JSONValue] = []
    let detectors: [(String, any VoiceActivityDetector)] = [("silero", silero), ("energy", energy)]
    for (name, detector) in detectors {
        let (stats, allocations, frames) = try timeVAD(detector, audio: audio, runs: runs)
        rows.append([
            "detector": .string(name), "kernel_set": .string(kernels.name), "threads": 1, "frames": .int(frames),
            "us_per_frame_median": .double(stats.median * 1e6), "us_per_frame_p90": .double(stats.p90 * 1e6),
            "us_per_frame_min": .double(stats.min * 1e6), "real_time_fraction": .double(stats.median / 0.032),
            "allocations_per_frame": .double(allocations),
        ])
        note("\(name)  1T  \(kernels.name)  \(frames) frames  median \(fixed(stats.median * 1e6, 1)) µs  p90 \(fixed(stats.p90 * 1e6, 1)) µs  "
             + "min \(fixed(stats.min * 1e6, 1)) µs  (\(fixed(stats.median / 0.032 * 100, 3))% of real time)  allocs/frame \(fixed(allocations, 2))")
    }
    note("model \(path) loaded in \(fixed(loadMs, 1)) ms")
    return benchDocument("vad", runs: runs, results: rows, extra: ["model": .string(path), "load_ms": .double(loadMs)])
}

// MARK: - asr

/// `bench asr` for one loaded model: each mode (`fullWindow` false = variable-length) × file,
/// one warm-up then `runs` timed greedy transcriptions of the allocation-free path; latency,
/// real-time factor, mel/encoder/decoder split, allocations per utterance, peak RSS so far and the text.
public func benchmarkASR(session: WhisperSession, modelName: String, fullWindowModes: [Bool],
                         files: [(name: String, clip: AudioClip)], runs: Int, threads: Int, note: (String) -> Void) -> [JSONValue] {
    var rows: [JSONValue] = []
    for full in fullWindowModes {
        var options = TranscribeOptions()
        options.fullWindow = full
        let mode = full ? "full" : "variable"
        for (file, clip) in files {
            var timings = Transcript()
            let (stats, allocations) = clip.samples.withUnsafeBufferPointer { buffer in
                measure(runs: runs) {
                    _ = session.transcribeWindow(buffer, firstFrame: 0, options: options, globalMax: nil, timings: &timings)
                }
            }
            let text = trimmed(session.model.tokenizer.decode(Array(session.lastTokens)))
            let count = Double(runs + 1)
            let (mel, enc, dec) = (timings.melMilliseconds / count, timings.encodeMilliseconds / count, timings.decodeMilliseconds / count)
            rows.append([
                "model": .string(modelName), "mode": .string(mode), "file": .string(baseName(file)), "threads": .int(threads),
                "kernel_set": .string(session.matmul.kernels.name), "audio_seconds": .double(clip.duration),
                "latency_ms": ["median": .double(stats.median * 1e3), "p90": .double(stats.p90 * 1e3),
                               "min": .double(stats.min * 1e3), "max": .double(stats.max * 1e3)],
                "rtf": .double(stats.median / clip.duration), "allocations_per_utterance": .double(allocations),
                "mel_ms": .double(mel), "encode_ms": .double(enc), "decode_ms": .double(dec),
                "peak_rss_bytes": .int(peakRSSBytes()), "text": .string(text),
            ])
            note("\(modelName)  \(mode)  \(baseName(file)) (\(fixed(clip.duration, 1)) s)  \(threads)T  median \(fixed(stats.median * 1e3, 1)) ms  "
                 + "p90 \(fixed(stats.p90 * 1e3, 1))  min \(fixed(stats.min * 1e3, 1))  RTF \(fixed(stats.median / clip.duration, 3))  "
                 + "mel \(fixed(mel, 1)) enc \(fixed(enc, 1)) dec \(fixed(dec, 1)) ms  allocs/utt \(fixed(allocations, 1))  "
                 + "peak RSS \(peakRSSBytes() >> 20) MiB  \"\(text)\"")
        }
    }
    return rows
}

/// The `bench asr` JSON document around `benchmarkASR`'s rows.
public func asrBenchDocument(runs: Int, results: [JSONValue]) -> JSONValue { benchDocument("asr", runs: runs, results: results) }
