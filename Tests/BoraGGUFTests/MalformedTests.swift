// Hand-aimed corruptions of a valid file: each must end in the specific typed error, with a
// description that tells the user what to do.

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

@Suite struct MalformedTests {
    /// A small valid file with two keys, a string, a bool and two tensors (Q8_0 and F32).
    static func base(alignment: Int = 32) -> [UInt8] {
        var w = GGUFWriter(alignment: alignment)
        w.set("k.one", .uint32(1))
        w.set("k.two", .uint32(2))
        w.set("k.str", "abc")
        w.set("k.bool", true)
        w.set("k.arr", .array(GGUFArray(int32s: [1, 2, 3])))
        w.addTensor(name: "t.one", shape: [32, 2], type: .q8_0, bytes: [UInt8](repeating: 1, count: 68))
        w.addTensor(name: "t.two", shape: [4], type: .f32, bytes: [UInt8](repeating: 2, count: 16))
        return w.serialize()
    }

    static func expectError(_ bytes: [UInt8], _ check: (GGUFError) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = parseAndTouch(bytes)
        #expect(error.map(check) == true, "got \(error.map { "\($0)" } ?? "success")", sourceLocation: sourceLocation)
        if let error { #expect(!error.description.isEmpty && !error.description.contains("\n"), sourceLocation: sourceLocation) }
    }

    @Test func baseIsValid() { #expect(parseAndTouch(Self.base()) == nil) }

    @Test func header() {
        var b = Self.base()
        b.patch(0, UInt32(0x4C4C_5546))
        Self.expectError(b) { if case .badMagic = $0 { true } else { false } }

        b = Self.base(); b.patch(4, UInt32(3).byteSwapped)
        Self.expectError(b) { $0 == .bigEndian(version: 3) }
        b = Self.base(); b.patch(4, UInt32(1))
        Self.expectError(b) { $0 == .unsupportedVersion(1) }
        b = Self.base(); b.patch(4, UInt32(4))
        Self.expectError(b) { $0 == .unsupportedVersion(4) }
        b = Self.base(); b.patch(4, UInt32(2))
        #expect(parseAndTouch(b) == nil)  // v2 has the same layout

        b = Self.base(); b.patch(8, UInt64.max)
        Self.expectError(b) { $0 == .countTooLarge(what: "tensor count", count: .max, at: 8) }
        b = Self.base(); b.patch(16, UInt64(1) << 40)
        Self.expectError(b) { $0 == .countTooLarge(what: "metadata count", count: 1 << 40, at: 16) }
        Self.expectError([]) { if case .truncated(at: 0, needed: 4, what: "magic") = $0 { true } else { false } }
    }

    @Test func metadata() {
        let layout = GGUFLayout(Self.base())
        var b = Self.base()
        // "k.two" → "k.one": duplicate key, reported at the second key's offset.
        let secondKey = layout.fields.filter { $0.kind == .keyLength }[1].offset
        b[secondKey + 8 + 2 ..< secondKey + 8 + 5] = ArraySlice("one".utf8)
        Self.expectError(b) { $0 == .duplicateKey("k.one", at: secondKey) }

        b = Self.base(); b.patch(layout.field(.valueType, "k.one").offset, UInt32(13))
        Self.expectError(b) { $0 == .unknownValueType(13, at: layout.field(.valueType, "k.one").offset) }

        b = Self.base()
        let str = layout.field(.stringLength, "k.str").offset
        b[str + 9] = 0xFF
        Self.expectError(b) { $0 == .invalidUTF8(at: str) }
        b = Self.base(); b[str + 9] = 0xC0  // overlong lead byte
        Self.expectError(b) { $0 == .invalidUTF8(at: str) }
        b = Self.base(); b.patch(str, UInt64(1) << 62)
        Self.expectError(b) { if case .truncated(_, _, "string value") = $0 { true } else { false } }

        b = Self.base()
        let boolAt = layout.field(.scalar, "k.bool").offset
        b[boolAt] = 2
        Self.expectError(b) { $0 == .invalidBool(2, at: boolAt) }

        b = Self.base()
        let count = layout.field(.arrayCount, "k.arr").offset
        b.patch(count, UInt64(1) << 61)
        Self.expectError(b) { $0 == .countTooLarge(what: "array element count", count: 1 << 61, at: count) }
        b = Self.base(); b.patch(layout.field(.arrayType, "k.arr").offset, UInt32(99))
        Self.expectError(b) { if case .unknownValueType(99, _) = $0 { true } else { false } }
    }

    @Test func nestingDepthIsCapped() throws {
        func nested(_ depth: Int) -> GGUFArray {
            depth == 1 ? GGUFArray(int32s: [7]) : GGUFArray(arrays: [nested(depth - 1)])
        }
        var w = GGUFWriter()
        w.set("deep", .array(nested(GGUFFile.maxArrayDepth)))
        #expect(parseAndTouch(w.serialize()) == nil)
        w.set("deep", .array(nested(GGUFFile.maxArrayDepth + 1)))
        Self.expectError(w.serialize()) { if case .nestingTooDeep = $0 { true } else { false } }
    }

    @Test func alignment() {
        let good = Self.base(alignment: 64)
        #expect(parseAndTouch(good) == nil)
        let at = GGUFLayout(good).field(.scalar, "general.alignment").offset
        for bad: UInt32 in [0, 3, 48, 100] {
            var b = good
            b.patch(at, bad)
            Self.expectError(b) { if case .badAlignment = $0 { true } else { false } }
        }
        // general.alignment stored as a string: built by hand, GGUFWriter refuses it.
        var raw = [UInt8]()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { raw += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { raw += $0 } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); raw += s.utf8 }
        u32(GGUFFile.magic); u32(3); u64(0); u64(1)
        str("general.alignment"); u32(GGUFValueType.string.rawValue); str("32")
        Self.expectError(raw) { $0 == .badAlignment(value: "\"32\" (string)") }
    }

    @Test func tensors() {
        let layout = GGUFLayout(Self.base())
        var b = Self.base()
        b.patch(layout.field(.tensorType, "t.one").offset, UInt32(4))  // Q4_2, removed from ggml
        Self.expectError(b) { $0 == .unknownTensorType(4, tensor: "t.one") }

        b = Self.base(); b.patch(layout.field(.dimCount, "t.one").offset, UInt32(5))
        Self.expectError(b) { if case .tooManyDimensions(tensor: "t.one", count: 5, _) = $0 { true } else { false } }

        b = Self.base(); b.patch(layout.field(.dim, "t.one").offset, UInt64(48))  // not a multiple of 32
        Self.expectError(b) { if case .badShape(tensor: "t.one", _, _, _) = $0 { true } else { false } }
        b = Self.base()
        let dims = layout.fields.filter { $0.kind == .dim && $0.context == "t.one" }
        b.patch(dims[1].offset, UInt64(1) << 62)  // 32 × 2^62 elements overflows
        Self.expectError(b) { if case .badShape(tensor: "t.one", _, _, _) = $0 { true } else { false } }
        b = Self.base(); b.patch(dims[1].offset, UInt64.max)
        Self.expectError(b) { if case .badShape(tensor: "t.one", _, _, _) = $0 { true } else { false } }
        b = Self.base(); b.patch(dims[1].offset, UInt64(1) << 30)  // valid shape, far too big for the file
        Self.expectError(b) { if case .tensorOutOfBounds(name: "t.one", _, _, _) = $0 { true } else { false } }

        let offset = layout.field(.tensorOffset, "t.two").offset
        b = Self.base(); b.patch(offset, UInt64(97))
        Self.expectError(b) { $0 == .misalignedTensor(name: "t.two", offset: 97, alignment: 32) }
        b = Self.base(); b.patch(offset, UInt64(1) << 63)
        Self.expectError(b) { if case .tensorOutOfBounds(name: "t.two", _, _, _) = $0 { true } else { false } }
        b = Self.base(); b.patch(offset, UInt64(128))  // exactly one alignment unit too far
        Self.expectError(b) { if case .tensorOutOfBounds(name: "t.two", offset: 128, bytes: 16, _) = $0 { true } else { false } }

        b = Self.base()
        let name2 = layout.fields.filter { $0.kind == .nameLength }[1].offset
        b[name2 + 8 + 2 ..< name2 + 8 + 5] = ArraySlice("one".utf8)
        Self.expectError(b) { $0 == .duplicateTensor("t.one") }
    }

    @Test func descriptionsSayWhatToDo() {
        #expect(GGUFError.truncated(at: 10, needed: 8, what: "tensor offset").description.contains("bora models fetch"))
        #expect(GGUFError.badMagic(found: 0x4C4C_5546).description.contains("0x46554c4c"))
        #expect(GGUFError.unknownTensorType(99, tensor: "x").description.contains("re-quantize"))
        #expect(GGUFError.io(.open(path: "/x", errno: 2, message: "No such file or directory")).description.contains("/x"))
    }
}
