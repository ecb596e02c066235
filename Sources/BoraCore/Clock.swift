#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CLOCK_MONOTONIC in seconds.
@inline(__always) public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CLOCK_MONOTONIC in nanoseconds (for durations; the origin is unspecified).
@inline(__always) public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The UTC time `seconds` (+ `nanoseconds`) after the Unix epoch as ISO 8601 with milliseconds,
/// `2024-05-01T12:34:56.789Z` (the text Foundation's `ISO8601DateFormatter` gives with
/// `.withInternetDateTime, .withFractionalSeconds`; milliseconds rounded to nearest).
public func iso8601UTC(seconds: Int, nanoseconds: Int = 0) -> String {
    var s = seconds, ms = (nanoseconds + 500_000) / 1_000_000
    if ms >= 1000 { s += ms / 1000; ms %= 1000 }
    var t = time_t(s)
    var parts = tm()
    gmtime_r(&t, &parts)
    func pad(_ v: Int32, _ width: Int) -> String { zeroPadded(Int(v), width: width) }
    return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
        + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "." + zeroPadded(ms, width: 3) + "Z"
}

/// Now (CLOCK_REALTIME) in the form of `iso8601UTC`.
public func iso8601UTCNow() -> String {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return iso8601UTC(seconds: Int(ts.tv_sec), nanoseconds: Int(ts.tv_nsec))
}
