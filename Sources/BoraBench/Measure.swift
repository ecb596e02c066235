import BoraCore
import CBoraAllocCount
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// A benchmark that cannot run: the description says why; `badInput` marks a bad input file
/// (exit 3), otherwise it is a runtime failure (exit 1).
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public let badInput: Bool
    public init(_ message: String, badInput: Bool = false) { description = message; self.badInput = badInput }
}

/// A small proc file's text (/proc/self/status, /proc/cpuinfo), or nil.
private func procText(_ path: String) -> String? { try? readTextFile(path, maxBytes: 1 << 20) }

/// Summary statistics of repeated timings, in seconds.
public struct TimingStats: Sendable {
    public let runs: Int
    public let median: Double
    public let p90: Double
    public let min: Double
    public let max: Double

    /// The statistics of `samples` (at least one): median (mean of the middle two for an even
    /// count), the 90th percentile by nearest rank, min and max.
    public init(_ samples: [Double]) {
        precondition(!samples.isEmpty)
        let s = samples.sorted()
        runs = s.count
        median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        p90 = s[Swift.min(s.count - 1, Int((Double(s.count) * 0.9).rounded(.up)) - 1)]
        min = s.first!
        max = s.last!
    }
}

/// Runs `body` `warmup` times, then `runs` timed times; also counts heap allocations made by the
/// timed runs (all threads). Returns the timings and allocations per run.
public func measure(runs: Int, warmup: Int = 1, _ body: () -> Void) -> (TimingStats, allocationsPerRun: Double) {
    for _ in 0..<warmup { body() }
    var samples: [Double] = []
    samples.reserveCapacity(runs)
    bora_alloc_count_reset()
    bora_alloc_count_enable(1)
    for _ in 0..<runs {
        let t0 = monotonicSeconds()
        body()
        samples.append(monotonicSeconds() - t0)
    }
    bora_alloc_count_enable(0)
    // reserveCapacity above means appending never allocates inside the counted region.
    let allocations = Double(bora_alloc_count_allocations()) / Double(runs)
    return (TimingStats(samples), allocations)
}

/// Peak resident set size of this process, bytes.
public func peakRSSBytes() -> Int {
    var usage = rusage()
    #if hasFeature(Embedded)
    getrusage(__rusage_who_t(rawValue: 0), &usage)   // RUSAGE_SELF (an enum parameter under _GNU_SOURCE)
    #else
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #endif
    return Int(usage.ru_maxrss) * 1024
}

/// Resident set size now (VmRSS), bytes; 0 when /proc is unavailable.
public func currentRSSBytes() -> Int {
    guard let status = procText("/proc/self/status"),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}

/// "AMD EPYC …" from /proc/cpuinfo, or the architecture name.
public func cpuModelName() -> String {
    if let text = procText("/proc/cpuinfo") {
        for line in text.split(separator: "\n") where line.hasPrefix("model name") || line.hasPrefix("Model") {
            if let colon = line.firstIndex(of: ":") {
                return String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
            }
        }
    }
    #if arch(x86_64)
    return "x86_64"
    #else
    return "aarch64"
    #endif
}

/// Seconds since this process started (Linux: /proc/self/stat start time, 10 ms resolution;
/// elsewhere nil), so "time to first token" includes process launch and model loading.
public func processAgeSeconds() -> Double? {
    guard let stat = procText("/proc/self/stat"),
          let uptimeText = procText("/proc/uptime"),
          let uptime = Double(uptimeText.split(separator: " ").first ?? ""),
          let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after "(comm)": state is field 3; starttime is field 22.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
    return uptime - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// "anon X MiB, file Y MiB" from /proc/self/status (RssAnon, RssFile): heap and arenas vs mapped model pages.
public func memoryBreakdown() -> String {
    guard let status = procText("/proc/self/status") else { return "" }
    func kb(_ key: String) -> Int {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return "anon \(kb("RssAnon") >> 10) MiB, file \(kb("RssFile") >> 10) MiB"
}

/// FNV-1a (64-bit words) over successive logits vectors: equal hashes ⇔ (almost surely) bitwise
/// equal logits, for bit-identity checks between runs.
public struct LogitsHash {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    /// Floats per logits vector.
    public let count: Int
    public init(vocabularySize: Int) { count = vocabularySize }
    /// Folds one vector of `count` floats into the hash (as 64-bit words; an odd last float is left out).
    public mutating func add(_ logits: UnsafePointer<Float>) {
        let raw = UnsafeRawPointer(logits)
        for i in 0..<(count / 2) { value = (value ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3 }
    }
    /// The hash as 16 lowercase hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
