import ArgumentParser
import BoraCore
import CBoraAllocCount
import BoraBench
import Foundation

/// `bora bench SUITE`: benchmarks as programs (never timing asserts in tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Bora on this machine: warm-up, N runs, median/p90/min, heap allocations.",
        discussion: "Suites: kernels, llm, asr, vad, moe. The voice loop's soak benchmark is tools/bench/loop.",
        subcommands: [KernelsBench.self, LLMBench.self, ASRBench.self, VADBench.self, MoEBench.self]
    )
}

struct BenchOptions: ParsableArguments {
    @Flag(help: "Print machine-readable JSON (one object) instead of a table.") var json = false
    @Option(help: "Timed runs per case (after one warm-up run).") var runs: Int?
    @Option(help: "Thread counts to measure, comma-separated (default: 1 and all cores).") var threads: String?
    @Flag(help: "Smaller buffers and fewer runs (about a minute).") var quick = false

    func threadCounts() throws -> [Int] {
        if let threads {
            let counts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 && $0 <= 256 }) else {
                throw ValidationError("--threads takes positive counts like 1,2")
            }
            return counts
        }
        let all = ThreadPool.defaultThreadCount
        return all > 1 ? [1, all] : [1]
    }
}

struct KernelsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GEMV/GEMM throughput of the quantized kernels vs this machine's read bandwidth.",
        discussion: """
        For Q4_0, Q4_1, Q8_0 and Q4_K: GEMV on SmolLM2 shapes (in×out 576×1536, 1536×576, 576×49152) and \
        on one matrix larger than the last-level cache, at each thread count (Q4_0 and Q8_0 also from \
        the x8 repack where the kernel set uses it, "q4_0 x8", with the repack's time in --json), reported as GB/s of weights \
        streamed and as a fraction of the measured read bandwidth (multi-threaded streaming read of a \
        512 MB buffer). GEMM with 64 vectors is reported as weight-bytes×vectors per second and its ratio \
        to GEMV. BORA_KERNELS forces a kernel set.
        """
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: BenchOptions
    @Option(help: "Weight types to measure, comma-separated (default: q4_0,q4_1,q8_0,q4_K).") var types = "q4_0,q4_1,q8_0,q4_K"

    func run() throws {
        _ = global.bootstrapLogging()
        let kernels = try kernelSetFromEnvironment()
        let threadCounts = try options.threadCounts()
        let runs = options.runs ?? (options.quick ? 5 : 15)
        let bandwidthBytes = (options.quick ? 256 : 512) << 20
        let bigBytesTarget = (options.quick ? 128 : 256) << 20
        let progress = !options.json
        func note(_ s: String) { if progress { FileHandle.standardError.write(Data((s + "\n").utf8)) } }

        note("kernel set: \(kernels.name) · CPU: \(cpuModelName()) · runs: \(runs)")
        // 1. Read bandwidth.
        let bandwidth = measureReadBandwidth(bytes: bandwidthBytes, threadCounts: threadCounts, runs: runs) { t, gbs in
            note(String(format: "read bandwidth, %d thread(s): %.1f GB/s", t, gbs))
        }
        let bestBandwidth = bandwidth.values.max()!

        // 2. GEMV / GEMM per type and shape.
        var rows: [[String: Any]] = []
        let types = try self.types.split(separator: ",").map { name -> QuantType in
            guard let t = QuantType(name: String(name)), t.activationType != nil else {
                throw ValidationError("unknown or unsupported weight type '\(name)' in --types")
            }
            return t
        }
        // A type runs twice where the set multiplies it from the x8 repack: GGUF layout, then repacked.
        let variants = types.filter { kernels.supports($0) }.flatMap { type in
            kernels.prefersRepacked(type) ? [(type, false), (type, true)] : [(type, false)]
        }
        for (type, repack) in variants {
            let typeLabel = repack ? "\(type) x8" : type.description
            let bigCols = 4096
            let bigRows = (bigBytesTarget / type.byteCount(elements: bigCols)!) / 16 * 16
            // K-quant rows need multiples of 256 columns: SmolLM2's 576 becomes 512 for Q4_K.
            let hidden = type.blockSize == 256 ? 512 : 576
            let shapes: [(String, Int, Int)] = [("\(hidden)x1536", hidden, 1536), ("1536x\(hidden)", 1536, hidden),
                                                ("\(hidden)x49152", hidden, 49152), ("\(bigCols)x\(bigRows) (> LLC)", bigCols, bigRows)]
            for (label, cols, outRows) in shapes {
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
                    let repeatsPerSample = max(1, Int(8e6 / bytes))
                    let (gemv, allocs) = measure(runs: runs) {
                        for _ in 0..<repeatsPerSample {
                            matmul.multiply(y, weight: view, x: x, vectors: 1, scratch: scratch)
                        }
                    }
                    let gemvGBs = bytes * Double(repeatsPerSample) / gemv.median / 1e9
                    var row: [String: Any] = [
                        "type": type.description, "layout": repack ? "x8" : "gguf", "shape": label, "cols": cols, "rows": outRows, "threads": t,
                        "weight_bytes": Int(bytes), "gemv_median_s": gemv.median / Double(repeatsPerSample),
                        "gemv_min_s": gemv.min / Double(repeatsPerSample), "gemv_p90_s": gemv.p90 / Double(repeatsPerSample),
                        "gemv_gb_s": gemvGBs, "bandwidth_fraction": gemvGBs / bestBandwidth,
                        "allocations_per_gemv": allocs / Double(repeatsPerSample),
                    ]
                    if repack { row["repack_ms"] = repacked.milliseconds }
                    var line = String(format: "%-8@ %-22@ %dT  GEMV %7.3f ms  %6.1f GB/s  %5.1f%% of bw  allocs/call %.0f",
                                      typeLabel, label, t, gemv.median / Double(repeatsPerSample) * 1e3,
                                      gemvGBs, gemvGBs / bestBandwidth * 100, allocs / Double(repeatsPerSample))
                    if !label.contains("LLC") {  // GEMM on the huge matrix would take minutes
                        let (gemm, gemmAllocs) = measure(runs: max(3, runs / 3)) {
                            matmul.multiply(y, weight: view, x: x, vectors: vectorsForGEMM, scratch: scratch)
                        }
                        let gemmGBs = bytes * Double(vectorsForGEMM) / gemm.median / 1e9
                        row["gemm64_median_s"] = gemm.median
                        row["gemm64_weight_gb_s_x_vectors"] = gemmGBs
                        row["gemm64_vs_gemv"] = gemmGBs / gemvGBs
                        row["allocations_per_gemm"] = gemmAllocs
                        line += String(format: "  GEMM64 %7.2f ms  %.1fx GEMV", gemm.median * 1e3, gemmGBs / gemvGBs)
                    }
                    rows.append(row)
                    note(line)
                }
            }
        }
        if options.json {
            try printJSON([
                "suite": "kernels", "kernel_set": kernels.name, "cpu": cpuModelName(),
                "threads": threadCounts, "runs": runs,
                "read_bandwidth_gb_s": Dictionary(uniqueKeysWithValues: bandwidth.map { ("\($0.key)", $0.value) }),
                "alloc_counting": bora_alloc_count_supported() != 0,
                "peak_rss_bytes": peakRSSBytes(), "results": rows,
            ])
        } else {
            print("kernel set \(kernels.name); best read bandwidth \(String(format: "%.1f", bestBandwidth)) GB/s; peak RSS \(peakRSSBytes() >> 20) MiB; allocation counting \(bora_alloc_count_supported() != 0 ? "on" : "unavailable")")
        }
    }
}
