import BoraCore
import Foundation

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
