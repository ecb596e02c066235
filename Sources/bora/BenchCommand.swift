import ArgumentParser
import BoraCore
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
        guard let counts = benchThreadCounts(threads) else { throw ValidationError("--threads takes positive counts like 1,2") }
        return counts
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
        let types = try self.types.split(separator: ",").map { name -> QuantType in
            guard let t = QuantType(name: String(name)), t.activationType != nil else {
                throw ValidationError("unknown or unsupported weight type '\(name)' in --types")
            }
            return t
        }
        let json = options.json
        let (document, summary) = benchmarkKernels(kernels: kernels, types: types, threadCounts: threadCounts, runs: runs,
                                                   quick: options.quick) { line in
            if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        print(json ? document.serialized(escapingSlashes: false) : summary)
    }
}
