import BoraCore
import Foundation
import Testing

/// Tests/Fixtures/json/cases.txt (tools/fixtures/json_fixtures.py: Python's `json` module as the
/// reference), found from this source file.
private let casesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/json/cases.txt").path

private func unhex(_ s: Substring) -> [UInt8] {
    var out: [UInt8] = [], chars = Array(s.utf8)
    var i = 0
    while i + 1 < chars.count {
        out.append(UInt8(String(decoding: chars[i...i + 1], as: UTF8.self), radix: 16)!)
        i += 2
    }
    chars = []
    return out
}

/// The JSONSerialization (swift-corelibs-foundation) form of a value: what Bora's audit lines
/// were written with before `JSONValue`.
func foundationObject(_ v: JSONValue) -> Any {
    switch v {
    case .null: return NSNull()
    case let .bool(b): return b
    case let .int(n): return n
    case let .double(d): return d
    case let .string(s): return s
    case let .array(a): return a.map(foundationObject)
    case let .object(o): return o.mapValues(foundationObject)
    }
}

func foundationBytes(_ v: JSONValue) throws -> [UInt8] {
    [UInt8](try JSONSerialization.data(withJSONObject: foundationObject(v), options: [.sortedKeys, .fragmentsAllowed]))
}

@Suite struct JSONReaderTests {
    @Test func goldenCasesFromPython() throws {
        let text = try String(contentsOfFile: casesPath, encoding: .utf8)
        var ok = 0, refused = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            let input = unhex(fields[1])
            if fields[0] == "ok" {
                let want = unhex(fields[2])
                do {
                    let value = try JSONValue.parse(input)
                    #expect(value.serializedBytes() == want, "\(String(decoding: input, as: UTF8.self)) → \(value.serialized()), Python \(String(decoding: want, as: UTF8.self))")
                    // The canonical text is a fixed point (except "-0": -0.0 is written "-0" as
                    // JSONSerialization does, which reads back as the integer 0).
                    if want != Array("-0".utf8) { #expect(try JSONValue.parse(want).serializedBytes() == want) }
                    ok += 1
                } catch {
                    Issue.record("refused \(String(decoding: input, as: UTF8.self).debugQuoted): \(error)")
                }
            } else {
                #expect(throws: JSONError.self, "accepted \(String(decoding: input, as: UTF8.self).debugQuoted)") { try JSONValue.parse(input) }
                refused += 1
            }
        }
        #expect(ok > 60 && refused > 60)
    }

    @Test func kindsAndIntegers() throws {
        #expect(try JSONValue.parse("17") == .int(17))
        #expect(try JSONValue.parse("17.0") == .double(17))
        #expect(try JSONValue.parse("-9223372036854775808") == .int(Int.min))
        #expect(try JSONValue.parse("9223372036854775808") == .double(9223372036854775808.0))
        #expect(try JSONValue.parse("1e2") == .double(100))
        #expect(try JSONValue.parse(#"{"a":1,"a":2}"#) == ["a": 2])
        let v = try JSONValue.parse(#" {"seq": 3, "prev": "x", "ok": true, "n": null, "c": 0.78, "s": ["a"]} "#)
        #expect(v["seq"]?.int == 3 && v["prev"]?.string == "x" && v["ok"]?.bool == true && v["n"]?.isNull == true)
        #expect(v["c"]?.double == 0.78 && v["c"]?.int == nil && v["seq"]?.double == 3 && v["s"]?.array == ["a"])
        #expect(v["missing"] == nil && JSONValue.string("x")["seq"] == nil)
    }

    @Test func errorsCarryKindAndOffset() {
        func error(_ text: String) -> JSONError? {
            do { _ = try JSONValue.parse(text); return nil } catch { return error }
        }
        #expect(error("") == JSONError(.unexpectedEnd, at: 0))
        #expect(error("[1,]") == JSONError(.unexpectedByte(UInt8(ascii: "]")), at: 3))
        #expect(error("[1 2]") == JSONError(.unexpectedByte(UInt8(ascii: "2")), at: 3))
        #expect(error("01") == JSONError(.invalidNumber, at: 1))
        #expect(error("1.") == JSONError(.unexpectedEnd, at: 2))
        #expect(error("1e400") == JSONError(.numberOutOfRange, at: 0))
        #expect(error(#"["a\x"]"#) == JSONError(.invalidEscape, at: 3))
        #expect(error(#""\ud800""#) == JSONError(.unpairedSurrogate, at: 1))
        #expect(error("\"a\nb\"") == JSONError(.controlCharacter, at: 2))
        #expect(error("{} x") == JSONError(.trailingContent, at: 3))
        #expect(error("nul") == JSONError(.unexpectedEnd, at: 3))
        var bad: [UInt8] = Array("[\"".utf8) + [0xED, 0xA0, 0x80] + Array("\"]".utf8)
        #expect(throws: JSONError(.invalidUTF8, at: 2)) { try JSONValue.parse(bad) }
        bad = [UInt8(ascii: "\""), 0xC3]
        #expect(throws: JSONError(.invalidUTF8, at: 1)) { try JSONValue.parse(bad) }
        #expect(JSONError(.invalidNumber, at: 5).description == "invalid JSON at byte 5: malformed number")
        let input: any BoraInputError = JSONError(.unexpectedEnd, at: 0)
        #expect(input.description.hasPrefix("invalid JSON at byte 0"))
    }

    @Test func nestingIsLimitedWithoutRecursion() throws {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try JSONValue.parse(ok).serialized() == ok)
        let tooDeep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: JSONError(.tooDeep(limit: 128), at: 128)) { try JSONValue.parse(tooDeep) }
        #expect(throws: JSONError(.tooDeep(limit: 4), at: 12)) { try JSONValue.parse(#"{"a":[{"b":[[1]]}]}"#, maximumDepth: 4) }
        // A hostile document: a million open brackets is refused at the limit, not a stack overflow.
        let hostile = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONError(.tooDeep(limit: 128), at: 128)) { try JSONValue.parse(hostile) }
        #expect(throws: JSONError(.unexpectedEnd, at: 1_000_000)) { try JSONValue.parse(hostile, maximumDepth: 2_000_000) }
    }

    @Test func largeDocumentsParseInLinearTime() throws {
        // 200k elements and a 1 MB string: a quadratic reader would take minutes.
        let array = "[" + (0..<200_000).map { "\($0 % 1000).5" }.joined(separator: ",") + "]"
        let long = "\"" + String(repeating: "é\\n", count: 300_000) + "\""
        let t0 = Date()
        let parsed = try JSONValue.parse(array)
        let s = try JSONValue.parse(long)
        #expect(parsed.array?.count == 200_000 && s.string?.utf8.count == 900_000)
        #expect(Date().timeIntervalSince(t0) < 10)
    }
}

@Suite struct JSONWriterTests {
    /// Values of the kinds Bora's audit records and events hold.
    static let samples: [JSONValue] = [
        .string("a/b"), .string("clips/1700000000123-0001.opus"), .string("é😀 \u{2028}\u{7F}\"\\\n\t\r\u{8}\u{C}\u{1}\u{1F}\u{0}"),
        .string("3; rm -rf / $(reboot) `x` <&>"), .string(""),
        .int(0), .int(-5), .int(Int.max), .int(Int.min), .int(143),
        .double(0.78), .double(0.1), .double(1), .double(100), .double(1234.5), .double(12.3), .double(1e21), .double(1e-7),
        .double(0.001), .double(2.5e-5), .double(-0.0), .double(1e16), .double(1e15), .double(123456789.123),
        .double(Double(Float(0.78))), .double(Double(Float(0.9))), .double((Double(Float(0.95)) * 1000).rounded() / 1000),
        .double(5e-324), .double(1.7976931348623157e308), .double(3012.4), .double(0.30000000000000004),
        .bool(true), .bool(false), .null,
        .array([]), .object([:]), ["/bin/echo", "x", "{slot}"],
        ["slots": ["state": "on", "room": "kitchen"], "argv": ["/usr/bin/lamp", "on"], "exit_code": 0, "timed_out": false,
         "output_bytes": 12, "confidence": 0.78, "latency_ms": 143.2, "nested": [["a": [1, 2.5, nil]]]],
    ]

    @Test func bytesMatchJSONSerialization() throws {
        for v in Self.samples {
            #expect(v.serializedBytes() == (try foundationBytes(v)), "\(v.serialized())")
        }
    }

    @Test func keyOrderIsBytewise() throws {
        let v: JSONValue = ["b": 1, "a": 2, "a_b": 3, "ab": 4, "action": 5, "action_kind": 6, "é": 7, "Z": 8, "time": 9, "timed_out": 10]
        #expect(v.serialized() == #"{"Z":8,"a":2,"a_b":3,"ab":4,"action":5,"action_kind":6,"b":1,"time":9,"timed_out":10,"é":7}"#)
        // Lowercase ASCII and "_" (every key Bora itself writes) order as JSONSerialization does.
        let own: JSONValue = ["a": 2, "a_b": 3, "ab": 4, "action": 5, "action_kind": 6, "b": 1, "time": 9, "timed_out": 10,
                              "clip": 1, "clip_sha256": 2, "output": 3, "output_bytes": 4, "output_sha256": 5, "output_truncated": 6]
        #expect(own.serializedBytes() == (try foundationBytes(own)))
    }

    @Test func slashesAndNonFinite() {
        #expect(JSONValue.string("a/b").serialized(escapingSlashes: false) == #""a/b""#)
        #expect(JSONValue.array([.double(.infinity), .double(.nan)]).serialized() == "[null,null]")
        #expect(JSONValue.numberText(2) == "2" && JSONValue.numberText(0.5) == "0.5")
    }

    @Test func writtenValuesReadBack() throws {
        for v in Self.samples where v != .double(-0.0) {   // "-0" reads back as .int(0)
            let back = try JSONValue.parse(v.serializedBytes())
            #expect(back.serializedBytes() == v.serializedBytes())
        }
    }
}
