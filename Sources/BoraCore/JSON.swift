#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON value (RFC 8259), the one JSON representation of both builds (Foundation's
/// `JSONSerialization` is not available in Embedded Swift).
///
/// Numbers keep their kind: a literal without fraction or exponent that fits in `Int` is `.int`
/// (exact); every other number is `.double`. Objects are unordered (`[String: JSONValue]`); the
/// writer orders keys bytewise, so the text of a value is deterministic.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The member `key` of an object; nil for a missing member or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        if case let .object(members) = self { return members[key] }
        return nil
    }

    /// The string, or nil when this is not a string.
    public var string: String? { if case let .string(s) = self { return s }; return nil }
    /// The integer, or nil when this is not `.int` (a `.double` is never converted).
    public var int: Int? { if case let .int(n) = self { return n }; return nil }
    /// The number as a `Double` (`.int` converted), or nil when this is not a number.
    public var double: Double? {
        switch self {
        case let .int(n): return Double(n)
        case let .double(d): return d
        default: return nil
        }
    }
    /// The boolean, or nil when this is not a boolean.
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    /// The elements, or nil when this is not an array.
    public var array: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
    /// The members, or nil when this is not an object.
    public var object: [String: JSONValue]? { if case let .object(o) = self { return o }; return nil }
    /// True for `.null`.
    public var isNull: Bool { if case .null = self { return true }; return false }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringInterpolation, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(stringInterpolation: DefaultStringInterpolation) { self = .string(String(stringInterpolation: stringInterpolation)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Duplicate keys: the last one wins.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var members: [String: JSONValue] = [:]
        for (k, v) in elements { members[k] = v }
        self = .object(members)
    }
}

extension JSONValue {
    /// `.string` of each element.
    public init(_ strings: [String]) { self = .array(strings.map { .string($0) }) }
    /// `.object` of `.string` members.
    public init(_ strings: [String: String]) {
        var members: [String: JSONValue] = [:]
        for (k, v) in strings { members[k] = .string(v) }
        self = .object(members)
    }
}

// MARK: - Writer

extension JSONValue {
    /// The compact text of this value (no whitespace), as UTF-8 bytes.
    ///
    /// Contract (chosen to reproduce swift-corelibs-foundation's
    /// `JSONSerialization.data(withJSONObject:options: [.sortedKeys])` byte for byte on the values
    /// Bora writes, so audit lines keep their form; see `JSONCompatibilityTests`):
    /// - object members ordered by the UTF-8 bytes of their keys (Foundation orders by a
    ///   locale-aware, case-insensitive, numeric comparison instead: keys that differ only in case,
    ///   in digit runs, punctuation against letters or digits, or non-ASCII letters may come out in
    ///   another order than Foundation's; Bora's own keys are lowercase ASCII and `_`);
    /// - strings: `\"` `\\` `\b` `\f` `\n` `\r` `\t`, other characters below U+0020 as `\u00xx`
    ///   (lowercase hex), `/` as `\/` unless `escapingSlashes` is false, everything else (DEL and
    ///   non-ASCII included) as its UTF-8;
    /// - `.int` in decimal; `.double` as Swift's shortest round-trip `description` (e.g. `0.78`,
    ///   `1e-07`, `1e+16`) with a trailing `.0` removed (`1.0` → `1`, read back as `.int(1)`;
    ///   `-0.0` → `-0`, read back as `.int(0)`);
    ///   non-finite doubles (which JSON cannot express) are written as `null`.
    public func serializedBytes(escapingSlashes: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        JSONWriter(escapeSlashes: escapingSlashes).write(self, to: &out)
        return out
    }

    /// `serializedBytes` as a `String`.
    public func serialized(escapingSlashes: Bool = true) -> String {
        String(decoding: serializedBytes(escapingSlashes: escapingSlashes), as: UTF8.self)
    }

    /// The text `serializedBytes` writes for a `Double` (without the `null` of non-finite values).
    public static func numberText(_ d: Double) -> String {
        var s = d.description
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}

/// The writer behind `JSONValue.serializedBytes`. Recursive over the value's nesting (values
/// built in code; parsed values are at most `JSONValue.defaultMaximumDepth` deep).
struct JSONWriter {
    let escapeSlashes: Bool

    func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out += Self.nullBytes
        case let .bool(b): out += b ? Self.trueBytes : Self.falseBytes
        case let .int(n): out += Array(n.description.utf8)
        case let .double(d):
            if d.isFinite { out += Array(JSONValue.numberText(d).utf8) } else { out += Self.nullBytes }
        case let .string(s): writeString(s, to: &out)
        case let .array(elements):
            out.append(UInt8(ascii: "["))
            for (i, e) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(e, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static let nullBytes = Array("null".utf8), trueBytes = Array("true".utf8), falseBytes = Array("false".utf8)
    static let hexDigits = Array("0123456789abcdef".utf8)

    func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), b]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case UInt8(ascii: "/") where escapeSlashes: out += [UInt8(ascii: "\\"), b]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        Self.hexDigits[Int(b >> 4)], Self.hexDigits[Int(b & 15)]]
            default: out.append(b)   // UTF-8 of a Swift String is always valid
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: - Reader

/// Why a JSON text was refused, and where (`offset`: the byte offset in the input of the first
/// byte that does not fit).
public struct JSONError: BoraInputError, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// The text ended inside a value (or is empty).
        case unexpectedEnd
        /// A byte that cannot start or continue the value here.
        case unexpectedByte(UInt8)
        /// A malformed number (leading zero, `-` without digits, `.` or `e` without digits).
        case invalidNumber
        /// A number whose magnitude is beyond `Double` (it would be infinite).
        case numberOutOfRange
        /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
        case invalidEscape
        /// A `\u` escape of a UTF-16 surrogate without its other half.
        case unpairedSurrogate
        /// An unescaped character below U+0020 inside a string.
        case controlCharacter
        /// Bytes that are not UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated).
        case invalidUTF8
        /// Arrays and objects nest deeper than `limit`.
        case tooDeep(limit: Int)
        /// Something other than whitespace after the value.
        case trailingContent
    }
    public let kind: Kind
    public let offset: Int

    public init(_ kind: Kind, at offset: Int) { self.kind = kind; self.offset = offset }

    public var description: String {
        let what: String
        switch kind {
        case .unexpectedEnd: what = "the text ends inside a value"
        case let .unexpectedByte(b):
            what = b >= 0x20 && b < 0x7F ? "unexpected '\(String(decoding: [b], as: UTF8.self))'" : "unexpected byte 0x\(String(b, radix: 16))"
        case .invalidNumber: what = "malformed number"
        case .numberOutOfRange: what = "number out of range"
        case .invalidEscape: what = "invalid escape sequence"
        case .unpairedSurrogate: what = "\\u escape of an unpaired UTF-16 surrogate"
        case .controlCharacter: what = "unescaped control character in a string"
        case .invalidUTF8: what = "invalid UTF-8"
        case let .tooDeep(limit): what = "arrays/objects nest deeper than \(limit)"
        case .trailingContent: what = "unexpected text after the value"
        }
        return "invalid JSON at byte \(offset): \(what)"
    }
}

extension JSONValue {
    /// The nesting limit `parse` applies unless told otherwise.
    public static let defaultMaximumDepth = 128

    /// Parses one JSON text (RFC 8259, strict): optional whitespace (space, tab, LF, CR), one
    /// value, optional whitespace, end. No byte-order mark, comments, trailing commas, `NaN` or
    /// `Infinity`; strings must be valid UTF-8 with control characters escaped; `\uXXXX` surrogate
    /// pairs are combined and an unpaired surrogate is refused (a Swift `String` cannot hold it).
    /// Integers that fit in `Int` become `.int`, other numbers `.double` (the nearest; an integer
    /// beyond `Int` loses precision; a magnitude beyond `Double` is refused). Duplicate object
    /// keys: the last one wins. Arrays and objects may nest `maximumDepth` deep (a document that
    /// is one array is depth 1). Runs in time linear in the input and never recurses.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int = defaultMaximumDepth) throws(JSONError) -> JSONValue {
        var reader = JSONReader(bytes: bytes, maximumDepth: maximumDepth)
        return try reader.parseDocument()
    }

    /// `parse` of an array's (or slice's) bytes.
    public static func parse(_ bytes: some Collection<UInt8>, maximumDepth: Int = defaultMaximumDepth) throws(JSONError) -> JSONValue {
        let copy = ContiguousArray(bytes)
        var result: Result<JSONValue, JSONError> = .success(.null)
        copy.withUnsafeBytes { raw in
            do throws(JSONError) { result = .success(try parse(raw, maximumDepth: maximumDepth)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// `parse` of a string's UTF-8.
    public static func parse(_ text: String, maximumDepth: Int = defaultMaximumDepth) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), maximumDepth: maximumDepth)
    }
}

/// The parser behind `JSONValue.parse`: an explicit stack of open containers instead of recursion.
struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    let maximumDepth: Int
    var i = 0

    init(bytes: UnsafeRawBufferPointer, maximumDepth: Int) { self.bytes = bytes; self.maximumDepth = maximumDepth }

    /// An open container (its contents live in `arrays`/`objects`, mutated in place so that
    /// appending stays O(1)); an object's frame holds the key awaiting its value.
    enum Frame {
        case array
        case object(key: String)
    }

    mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte (not consumed); throws at the end of the input.
    mutating func peek() throws(JSONError) -> UInt8 {
        skipWhitespace()
        guard i < bytes.count else { throw JSONError(.unexpectedEnd, at: i) }
        return bytes[i]
    }

    mutating func expect(_ byte: UInt8) throws(JSONError) {
        let b = try peek()
        guard b == byte else { throw JSONError(.unexpectedByte(b), at: i) }
        i += 1
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        var stack: [Frame] = []
        var arrays: [[JSONValue]] = []            // contents of the open arrays, innermost last
        var objects: [[String: JSONValue]] = []   // contents of the open objects, innermost last
        var value: JSONValue
        while true {
            // Parse one value; containers push a frame and continue with their first element.
            let b = try peek()
            switch b {
            case UInt8(ascii: "["):
                guard stack.count < maximumDepth else { throw JSONError(.tooDeep(limit: maximumDepth), at: i) }
                i += 1
                if try peek() == UInt8(ascii: "]") { i += 1; value = .array([]) } else {
                    stack.append(.array)
                    arrays.append([])
                    continue
                }
            case UInt8(ascii: "{"):
                guard stack.count < maximumDepth else { throw JSONError(.tooDeep(limit: maximumDepth), at: i) }
                i += 1
                if try peek() == UInt8(ascii: "}") { i += 1; value = .object([:]) } else {
                    stack.append(.object(key: try parseKey()))
                    objects.append([:])
                    continue
                }
            case UInt8(ascii: "\""): value = .string(try parseString())
            case UInt8(ascii: "t"): try literal("true"); value = .bool(true)
            case UInt8(ascii: "f"): try literal("false"); value = .bool(false)
            case UInt8(ascii: "n"): try literal("null"); value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): value = try parseNumber()
            default: throw JSONError(.unexpectedByte(b), at: i)
            }
            // Hand the value to the innermost open container; close containers that end here.
            while true {
                guard let top = stack.last else {
                    skipWhitespace()
                    guard i == bytes.count else { throw JSONError(.trailingContent, at: i) }
                    return value
                }
                let next = try peek()
                switch top {
                case .array:
                    arrays[arrays.count - 1].append(value)
                    i += 1
                    if next == UInt8(ascii: "]") {
                        stack.removeLast()
                        value = .array(arrays.removeLast())
                        continue
                    }
                    guard next == UInt8(ascii: ",") else { throw JSONError(.unexpectedByte(next), at: i - 1) }
                case let .object(key):
                    objects[objects.count - 1][key] = value
                    i += 1
                    if next == UInt8(ascii: "}") {
                        stack.removeLast()
                        value = .object(objects.removeLast())
                        continue
                    }
                    guard next == UInt8(ascii: ",") else { throw JSONError(.unexpectedByte(next), at: i - 1) }
                    stack[stack.count - 1] = .object(key: try parseKey())
                }
                break
            }
        }
    }

    /// `"key"` then `:`.
    mutating func parseKey() throws(JSONError) -> String {
        let b = try peek()
        guard b == UInt8(ascii: "\"") else { throw JSONError(.unexpectedByte(b), at: i) }
        let key = try parseString()
        try expect(UInt8(ascii: ":"))
        return key
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for k in 0..<w.count {
            guard i < bytes.count else { throw JSONError(.unexpectedEnd, at: i) }
            guard bytes[i] == w[k] else { throw JSONError(.unexpectedByte(bytes[i]), at: i) }
            i += 1
        }
    }

    /// A number starting at `i` (grammar checked here; conversion by the C library's strtod or
    /// the standard library's parser, both correctly rounded).
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = i
        var integral = true
        func digits(_ r: inout JSONReader) -> Int {
            let s = r.i
            while r.i < r.bytes.count, r.bytes[r.i] >= 0x30, r.bytes[r.i] <= 0x39 { r.i += 1 }
            return r.i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { throw JSONError(.unexpectedEnd, at: i) }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { throw JSONError(.invalidNumber, at: i) }
        } else if digits(&self) == 0 {
            throw JSONError(.invalidNumber, at: i)
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digits(&self) > 0 else { throw JSONError(i < bytes.count ? .invalidNumber : .unexpectedEnd, at: i) }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw JSONError(i < bytes.count ? .invalidNumber : .unexpectedEnd, at: i) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if integral, let n = Int(text) { return .int(n) }
        guard let d = Self.double(text), d.isFinite else { throw JSONError(.numberOutOfRange, at: start) }
        return .double(d)
    }

    /// The nearest `Double` to a valid JSON number. The Embedded runtime lacks the standard
    /// library's `Double(String)` (its C helper), so that build calls strtod(3) itself (the C
    /// locale: the Embedded binary never calls setlocale).
    static func double(_ text: String) -> Double? {
        #if hasFeature(Embedded)
        return text.withCString { strtod($0, nil) }
        #else
        return Double(text)
        #endif
    }

    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        default: return nil
        }
    }

    /// Four hex digits at `i`.
    mutating func hex4() throws(JSONError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard i < bytes.count else { throw JSONError(.unexpectedEnd, at: i) }
            guard let h = Self.hexValue(bytes[i]) else { throw JSONError(.invalidEscape, at: i) }
            v = v << 4 | h
            i += 1
        }
        return v
    }

    /// A string starting at the opening quote at `i`; leaves `i` after the closing quote.
    mutating func parseString() throws(JSONError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw JSONError(.unexpectedEnd, at: i) }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)   // validated below as it was copied
            case UInt8(ascii: "\\"):
                let escapeAt = i
                i += 1
                guard i < bytes.count else { throw JSONError(.unexpectedEnd, at: i) }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw JSONError(.unpairedSurrogate, at: escapeAt)
                        }
                        i += 2
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw JSONError(.unpairedSurrogate, at: escapeAt) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw JSONError(.unpairedSurrogate, at: escapeAt)
                    }
                    Self.appendUTF8(scalar, to: &out)
                default: throw JSONError(.invalidEscape, at: escapeAt)
                }
            case 0..<0x20: throw JSONError(.controlCharacter, at: i)
            case 0..<0x80: out.append(b); i += 1
            default:
                let n = try utf8SequenceLength(at: i)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<i + n]))
                i += n
            }
        }
    }

    /// The length of the valid UTF-8 sequence (2…4 bytes) at `at`, whose first byte is ≥ 0x80.
    /// Refuses overlong forms, encoded surrogates and values beyond U+10FFFF (RFC 3629).
    func utf8SequenceLength(at: Int) throws(JSONError) -> Int {
        let b0 = bytes[at]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF   // allowed range of the second byte
        switch b0 {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: throw JSONError(.invalidUTF8, at: at)
        }
        guard at + n <= bytes.count else { throw JSONError(.invalidUTF8, at: at) }
        guard bytes[at + 1] >= lo && bytes[at + 1] <= hi else { throw JSONError(.invalidUTF8, at: at) }
        for k in 2..<max(n, 2) where bytes[at + k] & 0xC0 != 0x80 { throw JSONError(.invalidUTF8, at: at) }
        return n
    }

    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800: out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case 0x800..<0x10000: out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        default: out += [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        }
    }
}
