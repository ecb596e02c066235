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
    public var debugQuoted: String {
        var out = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
