import BoraCore
import CBoraAllocCount
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Summary statistics of repeated timings, in seconds.
struct TimingStats: Codable {
    let runs: Int
    let median: Double
    let p90: Double
    let min: Double
    let max: Double

    init(_ samples: [Double]) {
        precondition(!samples.isEmpty)
        let s = samples.sorted()
        runs = s.count
        median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        p90 = s[Swift.min(s.count - 1, Int((Double(s.count) * 0.9).rounded(.up)) - 1)]
        min = s.first!
        max = s.last!
    }
}

/// Monotonic seconds.
@inline(__always) func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` `warmup` times, then `runs` timed times; also counts heap allocations made by the
/// timed runs (all threads). Returns the timings and allocations per run.
func measure(runs: Int, warmup: Int = 1, _ body: () -> Void) -> (TimingStats, allocationsPerRun: Double) {
    for _ in 0..<warmup { body() }
    var samples: [Double] = []
    samples.reserveCapacity(runs)
    bora_alloc_count_reset()
    bora_alloc_count_enable(1)
    for _ in 0..<runs {
        let t0 = now()
        body()
        samples.append(now() - t0)
    }
    bora_alloc_count_enable(0)
    // reserveCapacity above means appending never allocates inside the counted region.
    let allocations = Double(bora_alloc_count_allocations()) / Double(runs)
    return (TimingStats(samples), allocations)
}

/// Peak resident set size of this process, bytes.
func peakRSSBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}

/// "AMD EPYC …" from /proc/cpuinfo, or the architecture name.
/// Resident set size now (VmRSS), bytes; 0 when /proc is unavailable.
func currentRSSBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}

func cpuModelName() -> String {
    if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
        for line in text.split(separator: "\n") where line.hasPrefix("model name") || line.hasPrefix("Model") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
    }
    #if arch(x86_64)
    return "x86_64"
    #else
    return "aarch64"
    #endif
}

/// Prints a JSON object (sorted keys) on one line.
func printJSON(_ object: Any) throws {
    var out = ""
    try JSONText.append(object, to: &out)
    print(out)
}

/// A small JSON writer for the CLI's output objects (dictionaries with sorted keys, arrays,
/// strings, booleans, integers, floating point; nil and non-finite numbers become null).
/// Foundation's JSONSerialization would do, but it faults in about 5 MiB of Foundation code and
/// data, which shows in the peak RSS that `bora run --json` and `bora bench moe` report.
enum JSONText {
    struct Unsupported: Error, CustomStringConvertible {
        let type: String
        var description: String { "cannot write a \(type) as JSON" }
    }

    static func append(_ value: Any, to out: inout String) throws {
        switch value {
        case let v as Bool: out += v ? "true" : "false"
        case let v as Int: out += String(v)
        case let v as Int32: out += String(v)
        case let v as Int64: out += String(v)
        case let v as UInt32: out += String(v)
        case let v as UInt64: out += String(v)
        case let v as Double: out += v.isFinite ? "\(v)" : "null"
        case let v as Float: out += v.isFinite ? "\(Double(v))" : "null"
        case let v as String: appendString(v, to: &out)
        case let v as [String: Any]:
            out += "{"
            for (i, key) in v.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                try append(v[key]!, to: &out)
            }
            out += "}"
        case let v as [Any]:
            out += "["
            for (i, element) in v.enumerated() {
                if i > 0 { out += "," }
                try append(element, to: &out)
            }
            out += "]"
        case Optional<Any>.none: out += "null"
        default: throw Unsupported(type: "\(type(of: value))")
        }
    }

    /// Appends `s` as a JSON string literal: RFC 8259 escapes, control characters and DEL as
    /// \u00XX, non-ASCII passed through as UTF-8.
    static func appendString(_ s: String, to out: inout String) { out += s.jsonQuoted }
}

/// Seconds since this process started (Linux: /proc/self/stat start time, 10 ms resolution;
/// elsewhere nil), so "time to first token" includes process launch and model loading.
func processAgeSeconds() -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
          let uptimeText = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
          let uptime = Double(uptimeText.split(separator: " ").first ?? ""),
          let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after "(comm)": state is field 3; starttime is field 22.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
    return uptime - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// "anon X MiB, file Y MiB" from /proc/self/status (RssAnon, RssFile): heap and arenas vs mapped model pages.
func memoryBreakdown() -> String {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "" }
    func kb(_ key: String) -> Int {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return "anon \(kb("RssAnon") >> 10) MiB, file \(kb("RssFile") >> 10) MiB"
}

/// glibc's `malloc_trim` (not exported by the Glibc module): returns free heap pages to the OS.
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32

/// Gives freed heap memory back to the OS (after a build phase with many temporaries), so RSS
/// reflects what is live.
func releaseFreeHeap() { _ = glibcMallocTrim(0) }

/// FNV-1a (64-bit words) over successive logits vectors: equal hashes ⇔ (almost surely) bitwise
/// equal logits, for bit-identity checks between runs.
struct LogitsHash {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    let count: Int
    init(vocabularySize: Int) { count = vocabularySize }
    mutating func add(_ logits: UnsafePointer<Float>) {
        let raw = UnsafeRawPointer(logits)
        for i in 0..<(count / 2) { value = (value ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3 }
    }
    var hex: String { String(format: "%016llx", value) }
}
