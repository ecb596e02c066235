// Truncations and mutations: every malformed file must end in a typed error or a valid parse,
// never a trap or an out-of-bounds read (run under ASan: --sanitize=address).

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

@Suite struct FuzzTests {
    static let files = ["tiny.gguf", "align64.gguf"]

    @Test(arguments: files)
    func truncationAtEveryByte(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        #expect(parseAndTouch(bytes) == nil)
        // A prefix is valid only once it holds all tensor data; the padding after it is optional.
        let dataEnd = try #require(GGUFLayout(bytes).boundaries.last)
        for n in 0..<bytes.count {
            let error = parseAndTouch(Array(bytes[..<n]))
            if n < dataEnd {
                #expect(isTruncationError(error), "prefix \(n): \(error.map { "\($0)" } ?? "parsed")")
            } else {
                #expect(error == nil, "prefix \(n): \(error.map { "\($0)" } ?? "parsed")")
            }
        }
    }

    @Test(arguments: files)
    func truncationAtSectionBoundaries(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let layout = GGUFLayout(bytes)
        #expect(layout.boundaries.count > 10)
        for n in layout.boundaries where n < bytes.count {
            for cut in [n - 1, n, n + 1] where cut >= 0 && cut < layout.boundaries.last! {
                #expect(isTruncationError(parseAndTouch(Array(bytes[..<cut]))), "prefix \(cut)")
            }
        }
    }

    /// 10,000 files, each with 1–8 random bytes overwritten (fixed seed).
    @Test func randomMutations() throws {
        let original = try Fixtures.bytes("tiny.gguf")
        var rng = SeededRNG(seed: 0xB0DA)
        var outcomes: [String: Int] = [:]
        for _ in 0..<10_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            outcomes[Self.kind(parseAndTouch(bytes)), default: 0] += 1
        }
        print("random mutations:", outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        #expect(outcomes.values.reduce(0, +) == 10_000)
        #expect(outcomes["ok", default: 0] > 0 && outcomes.count > 5)
    }

    /// Every count, length, type, dimension and offset field set to boundary values.
    @Test(arguments: files)
    func targetedFieldMutations(name: String) throws {
        let original = try Fixtures.bytes(name)
        let layout = GGUFLayout(original)
        let wide: [UInt64] = [0, 1, 2, 7, 8, 31, 32, 33, 255, 256, 4096, UInt64(original.count),
                              UInt64(original.count) + 1, UInt64(original.count) - 1, 1 << 31, 1 << 32,
                              (1 << 32) - 1, 1 << 62, 1 << 63, UInt64(Int.max), UInt64(Int.max) + 1, .max - 1, .max]
        var outcomes: [String: Int] = [:]
        var total = 0
        for field in layout.fields where field.kind != .scalar && field.kind != .magic {
            let current: UInt64 = field.size == 8
                ? original.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: field.offset, as: UInt64.self) }
                : UInt64(original.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: field.offset, as: UInt32.self) })
            var values = wide + [current &+ 1, current &- 1, current &+ 32, current &- 32, current &* 2]
            if field.size == 4 { values = values.map { $0 & 0xFFFF_FFFF } + [13, 9, 8, 30, 31, 39] }
            for value in values {
                var bytes = original
                if field.size == 8 { bytes.patch(field.offset, value) } else { bytes.patch(field.offset, UInt32(truncatingIfNeeded: value)) }
                outcomes[Self.kind(parseAndTouch(bytes)), default: 0] += 1
                total += 1
            }
        }
        print("targeted mutations (\(name), \(total) files):", outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        #expect(total > 500)
    }

    /// Every byte of the header and the first fields set to every value.
    @Test func everyValueOfEveryHeaderByte() throws {
        let original = try Fixtures.bytes("align64.gguf")
        for offset in 0..<64 {
            for value in 0...255 {
                var bytes = original
                bytes[offset] = UInt8(value)
                parseAndTouch(bytes)
            }
        }
    }

    /// The parser's UTF-8 check agrees with the standard library on random short byte strings
    /// biased towards multi-byte sequences (overlongs, surrogates, > U+10FFFF, cut sequences).
    @Test func utf8ValidatorMatchesStandardLibrary() {
        var rng = SeededRNG(seed: 8)
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for _ in 0..<200_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &rng)).map { _ in
                Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            let ours = bytes.withUnsafeBytes { isValidUTF8($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count) }
            #expect(ours == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
    }

    static func kind(_ error: GGUFError?) -> String {
        guard let error else { return "ok" }
        let text = "\(error)"
        #expect(!text.isEmpty)
        return Mirror(reflecting: error).children.first?.label ?? text  // the case name
    }
}
