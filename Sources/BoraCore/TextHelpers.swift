#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// String operations the runtime needs in both builds: Embedded Swift has neither
/// `String(reflecting:)` nor the substring search of `_StringProcessing`.
extension String {
    /// True when `needle`'s UTF-8 bytes occur in this string's (an empty needle always does).
    /// Byte-wise: no Unicode canonical equivalence, which the ASCII needles used here never need.
    public func hasSubstring(_ needle: String) -> Bool { utf8Offset(of: needle) != nil }

    /// The UTF-8 offset of the first occurrence of `needle` at or after offset `from`, or nil.
    public func utf8Offset(of needle: String, from: Int = 0) -> Int? {
        let hay = Array(utf8), pattern = Array(needle.utf8)
        guard from >= 0, pattern.count <= hay.count - min(from, hay.count) else { return nil }
        guard !pattern.isEmpty else { return from }
        outer: for start in from...(hay.count - pattern.count) {
            for k in 0..<pattern.count where hay[start + k] != pattern[k] { continue outer }
            return start
        }
        return nil
    }

    /// This string in double quotes with Swift's escapes, as `String(reflecting:)` prints it:
    /// \\ \" \' \n \r \t \0, other control characters as \u{X}.
    public var debugQuoted: String { quoted(json: false) }

    /// This string as a JSON string literal (RFC 8259): \" \\ \n \r \t, other control
    /// characters and DEL as \u00XX, everything else (non-ASCII too) as it is, in UTF-8.
    public var jsonQuoted: String { quoted(json: true) }

    private func quoted(json: Bool) -> String {
        var out = "\""
        for u in unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "'" where !json: out += "\\'"
            case "\0" where !json: out += "\\0"
            case _ where u.value < 0x20 || u.value == 0x7F:
                let hex = String(u.value, radix: 16)
                out += json ? "\\u" + String(repeating: "0", count: 4 - hex.count) + hex : "\\u{" + hex + "}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// `n` in decimal, left-padded with zeros to `width` digits (a minus sign comes first and counts
/// toward the width, as printf's `%0Nd`).
public func zeroPadded(_ n: Int, width: Int) -> String {
    let digits = String(n.magnitude)
    let sign = n < 0 ? "-" : ""
    let fill = max(0, width - sign.count - digits.count)
    return sign + String(repeating: "0", count: fill) + digits
}

/// printf's text for one double: `format` holds exactly one double conversion and nothing that
/// needs another argument (`"%g"`, `"%.2f"`, `"%.0f"`; the C library formats it, C locale).
public func formatDouble(_ format: String, _ value: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    #if hasFeature(Embedded)
    let n = buffer.withUnsafeMutableBufferPointer { bora_format_double($0.baseAddress, 64, format, value) }
    #else
    let n = buffer.withUnsafeMutableBufferPointer { b in withVaList([value]) { vsnprintf(b.baseAddress, 64, format, $0) } }
    #endif
    if n >= 64 {   // long %f of a huge value
        buffer = [CChar](repeating: 0, count: Int(n) + 1)
        #if hasFeature(Embedded)
        _ = buffer.withUnsafeMutableBufferPointer { bora_format_double($0.baseAddress, $0.count, format, value) }
        #else
        _ = buffer.withUnsafeMutableBufferPointer { b in withVaList([value]) { vsnprintf(b.baseAddress, b.count, format, $0) } }
        #endif
    }
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
