// Golden tests of the Swift reference quantization against the `gguf` Python package
// (fixtures from tools/fixtures/quant_fixtures.py) and of the f16/bf16 conversions.
//
// Tolerances: every dequantization fixture must match bit for bit (NaN matches NaN): the
// reference uses the same f32 operations in the same order as gguf-py/ggml, so any
// difference is a bug. Quantization goldens must match byte for byte, no exceptions.

import Foundation
import Testing
import BoraCore

struct QuantManifest: Decodable {
    struct Dequant: Decodable { let name: String; let type: String; let elements: Int; let raw: String; let expected: String; let source: String }
    struct Quantize: Decodable { let name: String; let type: String; let elements: Int; let input: String; let expected: String; let note: String }
    struct Model: Decodable { let file: String; let tensor_types: [String] }
    let seed: Int
    let model: Model
    let dequant: [Dequant]
    let quantize: [Quantize]
}

enum QuantFixtures {
    /// Tests/Fixtures/quant, found from this source file (Tests/BoraCoreTests/QuantTests.swift).
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("quant")

    static func manifest() throws -> QuantManifest {
        try JSONDecoder().decode(QuantManifest.self, from: Data(contentsOf: directory.appendingPathComponent("manifest.json")))
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func floats(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        precondition(raw.count % 4 == 0)
        return (0..<raw.count / 4).map { i in
            Float(bitPattern: UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(raw[4 * i + 3]) << 24)
        }
    }
}

/// Bitwise equality with all NaNs equal; returns the mismatching indices.
func quantBitMismatches(_ got: [Float], _ want: [Float]) -> [Int] {
    precondition(got.count == want.count)
    return got.indices.filter { i in
        if got[i].isNaN || want[i].isNaN { return !(got[i].isNaN && want[i].isNaN) }
        return got[i].bitPattern != want[i].bitPattern
    }
}

@Suite("Quant fixtures (gguf-py goldens)")
struct QuantFixtureTests {
    @Test("manifest covers every supported type, synthetic and real")
    func manifestCoverage() throws {
        let m = try QuantFixtures.manifest()
        let dequantTypes = Set(m.dequant.map(\.type))
        #expect(dequantTypes.isSuperset(of: ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q4_K", "Q6_K"]))
        #expect(m.dequant.filter { $0.source != "synthetic" && !$0.source.hasPrefix("synthetic") }.count >= 3)
        #expect(Set(m.quantize.map(\.type)).isSuperset(of: ["Q8_0", "Q4_0", "Q4_1"]))
        // every type the real model file contains is represented by a real fixture
        let realTypes = Set(m.dequant.filter { $0.name.hasPrefix("real_") }.map(\.type))
        #expect(realTypes == Set(m.model.tensor_types))
    }

    @Test("dequantize matches gguf.quants.dequantize bit for bit (aligned and unaligned source)")
    func dequantizeMatchesGGUF() throws {
        let m = try QuantFixtures.manifest()
        #expect(!m.dequant.isEmpty)
        for entry in m.dequant {
            let type = try #require(QuantType(name: entry.type), "unknown type \(entry.type)")
            let raw = try QuantFixtures.bytes(entry.raw)
            let want = try QuantFixtures.floats(entry.expected)
            #expect(raw.count == type.byteCount(elements: entry.elements), "\(entry.name): raw size")
            #expect(want.count == entry.elements, "\(entry.name): expected size")
            for misalignment in [0, 1, 3] {
                let padded = [UInt8](repeating: 0xA5, count: misalignment) + raw
                var got = [Float](repeating: .nan, count: entry.elements)
                padded.withUnsafeBytes { src in
                    got.withUnsafeMutableBufferPointer { dst in
                        ReferenceKernels.dequantize(type, src.baseAddress! + misalignment, dst.baseAddress!, count: entry.elements)
                    }
                }
                let bad = quantBitMismatches(got, want)
                #expect(bad.isEmpty, "\(entry.name) (\(entry.source)) offset \(misalignment): \(bad.count) mismatches, first at \(bad.first.map { "\($0): \(got[$0]) vs \(want[$0])" } ?? "")")
            }
        }
    }

    @Test("quantize reproduces gguf.quants.quantize bytes exactly")
    func quantizeMatchesGGUF() throws {
        let m = try QuantFixtures.manifest()
        #expect(m.quantize.count >= 9)
        for entry in m.quantize {
            let type = try #require(QuantType(name: entry.type))
            let input = try QuantFixtures.floats(entry.input)
            let want = try QuantFixtures.bytes(entry.expected)
            let byteCount = try #require(type.byteCount(elements: input.count))
            #expect(want.count == byteCount, "\(entry.name): golden size")
            var got = [UInt8](repeating: 0xCC, count: byteCount)
            input.withUnsafeBufferPointer { src in
                got.withUnsafeMutableBytes { dst in
                    ReferenceKernels.quantize(type, src.baseAddress!, dst.baseAddress!, count: input.count)
                }
            }
            let bad = got.indices.filter { got[$0] != want[$0] }
            #expect(bad.isEmpty, "\(entry.name) (\(entry.note)): \(bad.count) bytes differ, first at \(bad.first.map { "byte \($0) (block \($0 / type.bytesPerBlock)): \(got[$0]) vs \(want[$0])" } ?? "")")
        }
    }

    @Test("quantize → dequantize round trip stays within half a step", arguments: [QuantType.q8_0, .q4_0, .q4_1, .q5_0])
    func roundTripError(type: QuantType) throws {
        var rng = QuantTestRNG(seed: 7)
        let n = 32 * 40
        let x = (0..<n).map { i in Float.random(in: -1...1, using: &rng) * (i / 32 % 2 == 0 ? 1 : 30) }
        var q = [UInt8](repeating: 0, count: type.byteCount(elements: n)!)
        var y = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { src in q.withUnsafeMutableBytes { ReferenceKernels.quantize(type, src.baseAddress!, $0.baseAddress!, count: n) } }
        q.withUnsafeBytes { src in y.withUnsafeMutableBufferPointer { ReferenceKernels.dequantize(type, src.baseAddress!, $0.baseAddress!, count: n) } }
        let levels: Float = [.q8_0: 127, .q4_0: 8, .q4_1: 7.5, .q5_0: 16][type]!
        for b in 0..<n / 32 {
            let block = x[32 * b..<32 * b + 32]
            let range = type == .q4_1 ? (block.max()! - block.min()!) / 2 : block.map(abs).max()!
            let step = range / levels
            // half a step, plus the f16 rounding of the scale (and of m) applied to the largest level
            let tol = step * 0.5 + range * 0x1p-10 + (type == .q4_1 ? abs(block.min()!) * 0x1p-11 : 0)
            for i in 32 * b..<32 * b + 32 {
                // Q4_0/Q5_0 are asymmetric (levels -8...7 / -16...15 around max ↦ -8/-16): values of
                // the opposite sign near |max| are clipped to the last level, a full step away.
                let clipped = (type == .q4_0 || type == .q5_0) && abs(x[i]) > (levels - 1) * step
                if clipped { #expect(abs(y[i] - x[i]) <= step + tol); continue }
                #expect(abs(y[i] - x[i]) <= tol, "\(type) element \(i): \(x[i]) → \(y[i]), tol \(tol)")
            }
        }
    }
}

@Suite("f16 / bf16 bit conversions")
struct HalfTests {
    @Test("f16 → f32 → f16 over all 65536 patterns; NaNs stay NaN with sign and payload, quieted")
    func f16RoundTripAllPatterns() {
        for bits in 0...UInt16.max {
            let f = FloatBits.f16ToF32(bits)
            let back = FloatBits.f32ToF16(f)
            let isNaN = bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0
            if isNaN {
                #expect(f.isNaN && f.sign == (bits & 0x8000 != 0 ? .minus : .plus))
                #expect(back == bits | 0x0200, "NaN \(String(bits, radix: 16)) → \(String(back, radix: 16))")
            } else if back != bits {
                Issue.record("f16 \(String(bits, radix: 16)) → \(f) → \(String(back, radix: 16))")
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    @Test("f16 → f32 agrees with Swift Float16 for all 65536 patterns")
    func f16ToF32MatchesFloat16() {
        for bits in 0...UInt16.max {
            let mine = FloatBits.f16ToF32(bits), swift = Float(Float16(bitPattern: bits))
            if mine.isNaN || swift.isNaN {
                #expect(mine.isNaN && swift.isNaN && mine.sign == swift.sign)
            } else if mine.bitPattern != swift.bitPattern {
                Issue.record("f16 \(String(bits, radix: 16)): \(mine) vs Float16 \(swift)")
            }
        }
    }

    @Test("f32 → f16 agrees with Swift Float16 (RNE) on a sweep of floats and every f16 midpoint")
    func f32ToF16MatchesFloat16() {
        var floats: [Float] = []
        for hi in stride(from: UInt32(0), to: 0xFFFF_FFFF - 0x3FF, by: 0x3FF) { floats.append(Float(bitPattern: hi)) }
        for bits in UInt16(0)..<0x7C00 {  // midpoints between consecutive finite halves, ±1 ulp
            let mid = (Double(FloatBits.f16ToF32(bits)) + Double(FloatBits.f16ToF32(bits + 1))) / 2
            let m = Float(mid)
            floats += [m, m.nextUp, m.nextDown, -m, -m.nextUp, -m.nextDown]
        }
        var mismatches = 0
        for f in floats where !f.isNaN {
            let mine = FloatBits.f32ToF16(f), swift = Float16(f).bitPattern
            if mine != swift {
                mismatches += 1
                if mismatches < 5 { Issue.record("f32 \(f) (\(String(f.bitPattern, radix: 16))): \(String(mine, radix: 16)) vs Float16 \(String(swift, radix: 16))") }
            }
        }
        #expect(mismatches == 0)
    }
    #endif

    @Test("f32 → f16 hand-checked values (ties to even, overflow, subnormals, NaN)")
    func f32ToF16Known() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (0, 0x0000), (-0.0, 0x8000), (65504, 0x7BFF),
            (65519.996, 0x7BFF), (65520, 0x7C00), (1e10, 0x7C00), (-.infinity, 0xFC00),
            (0x1p-24, 0x0001), (0x1p-25, 0x0000), (0x1.8p-25, 0x0001), (0x1.8p-24, 0x0002),
            (0x1p-14, 0x0400), (0x1.ff8p-15, 0x03FF), (0x1.ffcp-15, 0x0400), (1 + 0x1p-11, 0x3C00), (1 + 0x3p-11, 0x3C02),
            (1 + 0x1p-10, 0x3C01), (0.1, 0x2E66), (-0x1p-26, 0x8000),
        ]
        for (f, want) in cases {
            #expect(FloatBits.f32ToF16(f) == want, "\(f): got \(String(FloatBits.f32ToF16(f), radix: 16)) want \(String(want, radix: 16))")
        }
        #expect(FloatBits.f32ToF16(Float(bitPattern: 0x7F80_2000)) == 0x7E01)  // payload kept, quieted
        #expect(FloatBits.f32ToF16(Float(bitPattern: 0xFFC0_0000)) == 0xFE00)
    }

    @Test("f32 → bf16 rounds to nearest even, quiets NaN, and round-trips every bf16")
    func bf16() {
        #expect(FloatBits.f32ToBF16(1) == 0x3F80)
        #expect(FloatBits.f32ToBF16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie → even
        #expect(FloatBits.f32ToBF16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie → even (up)
        #expect(FloatBits.f32ToBF16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(FloatBits.f32ToBF16(Float(bitPattern: 0x7F7F_FFFF)) == 0x7F80)  // overflow → inf
        #expect(FloatBits.f32ToBF16(Float(bitPattern: 0x7F80_0001)) == 0x7FC0)  // sNaN → qNaN
        for bits in 0...UInt16.max {
            let f = FloatBits.bf16ToF32(bits)
            #expect(f.bitPattern == UInt32(bits) << 16)
            let back = FloatBits.f32ToBF16(f)
            let isNaN = bits & 0x7F80 == 0x7F80 && bits & 0x007F != 0
            if back != (isNaN ? bits | 0x0040 : bits) { Issue.record("bf16 \(String(bits, radix: 16)) → \(String(back, radix: 16))") }
        }
        // sampled floats: the result is the nearer of the two neighbours, ties to even
        for hi in stride(from: UInt32(0), to: 0x7F7F_0000, by: 0x0001_2345) {
            let f = Float(bitPattern: hi)
            let lo = Double(Float(bitPattern: hi & 0xFFFF_0000)), up = Double(Float(bitPattern: (hi & 0xFFFF_0000) + 0x1_0000))
            let dLo = Double(f) - lo, dUp = up - Double(f)
            let r = FloatBits.f32ToBF16(f)
            let want: UInt16 = dLo < dUp || (dLo == dUp && (hi >> 16) & 1 == 0) ? UInt16(hi >> 16) : UInt16(hi >> 16) + 1
            if r != want { Issue.record("bf16 of \(String(hi, radix: 16)): \(String(r, radix: 16)) want \(String(want, radix: 16))") }
        }
    }
}

/// Deterministic test RNG.
typealias QuantTestRNG = SplitMix64
