// Reference dot/gemm and activation quantizers.
//
// dot is checked against an independent oracle: dequantize both rows (itself checked bit for
// bit against gguf-py in QuantTests) and sum w[i]*a[i] in Double. Tolerance, relative to
// S = Σ|w[i]·a[i]|: 1e-5·S. The reference accumulates one Float per block (≤ ~40 blocks
// here, ≈ 40·2^-24 ≈ 2.4e-6 worst case) and the dequantized values carry one or two f32
// roundings each, so 1e-5 leaves ~4× margin while a wrong nibble, scale or sign is off by
// O(S). Q4_1×Q8_1 additionally uses the activation's f16 `s = d·Σq` (rounded from the
// unrounded d) instead of Σ of dequantized values, so it may differ by up to 2·2^-11 of
// Σ_blocks |m_w·s_a|; that term is added to its tolerance.

import Testing
import BoraCore

/// A weight row of `type` with `n` elements, valid and deterministic.
func quantMakeWeights(_ type: QuantType, n: Int, rng: inout QuantTestRNG) -> [UInt8] {
    let byteCount = type.byteCount(elements: n)!
    switch type {
    case .q4_K, .q6_K:
        // random quants and scales, sane f16 super-block scales
        var bytes = (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for b in 0..<n / 256 {
            let base = b * type.bytesPerBlock
            let offsets = type == .q4_K ? [0, 2] : [208]
            for off in offsets {
                let h = FloatBits.f32ToF16(Float.random(in: 0.001...0.1, using: &rng))
                bytes[base + off] = UInt8(h & 0xFF)
                bytes[base + off + 1] = UInt8(h >> 8)
            }
        }
        return bytes
    default:
        // real quantizer output over blocks of varied scale and offset
        let x = (0..<n).map { i -> Float in
            let blockScale: Float = [0.02, 1, 0.3, 5][(i / 32) % 4]
            return Float.random(in: -1...1, using: &rng) * blockScale + (i / 32 % 3 == 0 ? 0.1 : 0)
        }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        x.withUnsafeBufferPointer { src in bytes.withUnsafeMutableBytes { ReferenceKernels.quantize(type, src.baseAddress!, $0.baseAddress!, count: n) } }
        return bytes
    }
}

/// An activation row of `type` quantized from random floats.
func quantMakeActivations(_ type: QuantType, n: Int, rng: inout QuantTestRNG) -> [UInt8] {
    let x = (0..<n).map { i in Float.random(in: -2...2, using: &rng) * (i % 7 == 0 ? 3 : 1) }
    var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: n)!)
    x.withUnsafeBufferPointer { src in bytes.withUnsafeMutableBytes { ReferenceKernels.quantizeActivation(type, src.baseAddress!, $0.baseAddress!, count: n) } }
    return bytes
}

func quantDequantized(_ type: QuantType, _ bytes: [UInt8], n: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: n)
    bytes.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { ReferenceKernels.dequantize(type, src.baseAddress!, $0.baseAddress!, count: n) } }
    return out
}

func quantReferenceDot(_ type: QuantType, n: Int, _ w: [UInt8], _ a: [UInt8]) -> Float {
    w.withUnsafeBytes { wp in a.withUnsafeBytes { ap in ReferenceKernels.dot(weightType: type, n: n, w: wp.baseAddress!, a: ap.baseAddress!) } }
}

func quantLengths(for type: QuantType) -> [Int] {
    switch type.blockSize {
    case 1: return [1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 100, 576]
    case 32: return [1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33].map { $0 * 32 }
    default: return [1, 2, 3, 5].map { $0 * 256 }
    }
}

@Suite("Reference dot, gemm and activation quantizers")
struct QuantDotTests {
    @Test("dot equals dequantize-then-dot within 1e-5·Σ|w·a|", arguments: [QuantType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K])
    func dotMatchesDequantized(type: QuantType) throws {
        #expect(ReferenceKernels.dotWeightTypes.contains(type))
        let act = try #require(type.activationType)
        var rng = QuantTestRNG(seed: UInt64(type.rawValue) &+ 101)
        for n in quantLengths(for: type) {
            let w = quantMakeWeights(type, n: n, rng: &rng)
            let a = quantMakeActivations(act, n: n, rng: &rng)
            let wf = quantDequantized(type, w, n: n), af = quantDequantized(act, a, n: n)
            var exact = 0.0, magnitude = 0.0
            for i in 0..<n {
                exact += Double(wf[i]) * Double(af[i])
                magnitude += abs(Double(wf[i]) * Double(af[i]))
            }
            var tolerance = 1e-5 * magnitude
            if type == .q4_1 {
                for b in 0..<n / 32 {
                    let m = FloatBits.f16ToF32(UInt16(w[20 * b + 2]) | UInt16(w[20 * b + 3]) << 8)
                    let s = FloatBits.f16ToF32(UInt16(a[36 * b + 2]) | UInt16(a[36 * b + 3]) << 8)
                    tolerance += 2 * 0x1p-11 * abs(Double(m) * Double(s))
                }
            }
            let got = quantReferenceDot(type, n: n, w, a)
            #expect(abs(Double(got) - exact) <= tolerance, "\(type) n=\(n): dot \(got) vs \(exact) (tol \(tolerance), Σ|wa| \(magnitude))")
            #expect(magnitude > 0)
        }
    }

    @Test("Q4_K dot takes its min term from the activation bsums")
    func q4KUsesBsums() {
        var rng = QuantTestRNG(seed: 3)
        let n = 512
        let w = quantMakeWeights(.q4_K, n: n, rng: &rng)
        var a = quantMakeActivations(.q8_K, n: n, rng: &rng)
        let before = quantReferenceDot(.q4_K, n: n, w, a)
        // bsums[0] of block 0 += 1 (ggml uses bsums, not Σqs, for the mins)
        let bsum0 = Int16(bitPattern: UInt16(a[260]) | UInt16(a[261]) << 8) + 1
        a[260] = UInt8(UInt16(bitPattern: bsum0) & 0xFF)
        a[261] = UInt8(UInt16(bitPattern: bsum0) >> 8)
        let after = quantReferenceDot(.q4_K, n: n, w, a)
        let dmin = FloatBits.f16ToF32(UInt16(w[2]) | UInt16(w[3]) << 8)
        let dA = a.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: Float.self) }
        let scales = Array(w[4..<16])
        let min0 = Int(scales[4] & 63)  // get_scale_min_k4(0): min = q[4] & 63
        let expectedShift = -Double(dmin * dA) * Double(min0)
        #expect(abs(Double(after - before) - expectedShift) <= 1e-5 * abs(Double(before)) + 1e-6)
    }

    @Test("gemm writes y[v*ldy + r] = dot(row r, vector v) for r in rows only", arguments: [QuantType.f16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K])
    func gemmMatchesDot(type: QuantType) throws {
        let act = try #require(type.activationType)
        var rng = QuantTestRNG(seed: 99 &+ UInt64(type.rawValue))
        let n = type.blockSize == 256 ? 512 : 96, rowCount = 6, vectors = 3, ldy = rowCount + 3
        let rowBytes = type.byteCount(elements: n)!, actBytes = act.byteCount(elements: n)!
        let wRowBytes = rowBytes + 5, aRowBytes = actBytes + 3  // padded, unaligned strides
        var w = [UInt8](repeating: 0xEE, count: 1 + rowCount * wRowBytes)
        var a = [UInt8](repeating: 0xEE, count: 1 + vectors * aRowBytes)
        for r in 0..<rowCount { w.replaceSubrange(1 + r * wRowBytes..<1 + r * wRowBytes + rowBytes, with: quantMakeWeights(type, n: n, rng: &rng)) }
        for v in 0..<vectors { a.replaceSubrange(1 + v * aRowBytes..<1 + v * aRowBytes + actBytes, with: quantMakeActivations(act, n: n, rng: &rng)) }
        let sentinel: Float = -12345.5
        var y = [Float](repeating: sentinel, count: vectors * ldy)
        let rows = 2..<5
        w.withUnsafeBytes { wp in a.withUnsafeBytes { ap in y.withUnsafeMutableBufferPointer { yp in
            ReferenceKernels.gemm(type: type, n: n, w: wp.baseAddress! + 1, wRowBytes: wRowBytes, rows: rows,
                                  a: ap.baseAddress! + 1, aRowBytes: aRowBytes, vectors: vectors, y: yp.baseAddress!, ldy: ldy)
        } } }
        for v in 0..<vectors {
            for r in 0..<ldy {
                let value = y[v * ldy + r]
                if rows.contains(r) {
                    let wRow = Array(w[1 + r * wRowBytes..<1 + r * wRowBytes + rowBytes])
                    let aRow = Array(a[1 + v * aRowBytes..<1 + v * aRowBytes + actBytes])
                    let want = quantReferenceDot(type, n: n, wRow, aRow)
                    #expect(value.bitPattern == want.bitPattern, "\(type) y[\(v)*\(ldy)+\(r)] = \(value), dot = \(want)")
                } else {
                    #expect(value == sentinel, "\(type) gemm wrote outside rows: y[\(v)*\(ldy)+\(r)]")
                }
            }
        }
    }

    @Test("activation quants stay in -127...127 and never trap, even for subnormal, inf and NaN input", arguments: [QuantType.q8_0, .q8_1, .q8_K])
    func activationRange(type: QuantType) {
        let n = 256
        var blocks: [[Float]] = [
            (0..<n).map { Float(bitPattern: UInt32($0 % 7 + 1)) * ($0 % 2 == 0 ? 1 : -1) },  // Q8_K: -127/max overflows
            (0..<n).map { Float($0 % 9 + 1) * 1e-38 * ($0 % 2 == 0 ? 1 : -1) },              // Q8_0/Q8_1: 1/d overflows
            (0..<n).map { $0 == 3 ? -.infinity : Float($0) },
            (0..<n).map { $0 % 5 == 0 ? .nan : -Float($0) },
            (0..<n).map { _ in -.greatestFiniteMagnitude },
        ]
        blocks.append((0..<n).map { Float($0) - 128 })
        for x in blocks {
            var q = [UInt8](repeating: 0, count: type.byteCount(elements: n)!)
            x.withUnsafeBufferPointer { src in q.withUnsafeMutableBytes { ReferenceKernels.quantizeActivation(type, src.baseAddress!, $0.baseAddress!, count: n) } }
            let (header, perBlock) = type == .q8_K ? (4, 256) : (type == .q8_0 ? 2 : 4, 32)
            for b in 0..<n / perBlock {
                for j in 0..<perBlock {
                    let v = Int8(bitPattern: q[b * type.bytesPerBlock + header + j])
                    #expect(v != -128, "\(type) block \(b) element \(j) is -128")
                }
            }
        }
    }

    @Test("Q8_1 = Q8_0 quants plus s ≈ d·Σq")
    func q8_1() {
        var rng = QuantTestRNG(seed: 5)
        let n = 32 * 9
        let x = (0..<n).map { _ in Float.random(in: -3...3, using: &rng) }
        var q80 = [UInt8](repeating: 0, count: 34 * 9), q81 = [UInt8](repeating: 0, count: 36 * 9)
        x.withUnsafeBufferPointer { src in
            q80.withUnsafeMutableBytes { ReferenceKernels.quantizeActivation(.q8_0, src.baseAddress!, $0.baseAddress!, count: n) }
            q81.withUnsafeMutableBytes { ReferenceKernels.quantizeActivation(.q8_1, src.baseAddress!, $0.baseAddress!, count: n) }
        }
        for b in 0..<9 {
            #expect(Array(q80[34 * b..<34 * b + 2]) == Array(q81[36 * b..<36 * b + 2]), "d differs in block \(b)")
            #expect(Array(q80[34 * b + 2..<34 * b + 34]) == Array(q81[36 * b + 4..<36 * b + 36]), "qs differ in block \(b)")
            let d = FloatBits.f16ToF32(UInt16(q81[36 * b]) | UInt16(q81[36 * b + 1]) << 8)
            let s = FloatBits.f16ToF32(UInt16(q81[36 * b + 2]) | UInt16(q81[36 * b + 3]) << 8)
            let sum = q81[36 * b + 4..<36 * b + 36].reduce(0) { $0 + Int(Int8(bitPattern: $1)) }
            #expect(abs(s - d * Float(sum)) <= 0x1p-10 * abs(d * Float(sum)) + 1e-7, "block \(b): s \(s) vs d·Σq \(d * Float(sum))")
        }
    }

    @Test("Q8_K: sign-keeping max ↦ -127, ties to even, bsums, zero block")
    func q8K() {
        // block 0: max = -127 (first largest |x|) → iscale = 1, d = 1; x.5 values round half to even
        // block 1: max = +127 → iscale = -1, d = -1, q = -x
        // block 2: all zeros (destination pre-filled with garbage)
        var x = [Float](repeating: 0, count: 768)
        x[0] = -127; x[1] = 2.5; x[2] = 3.5; x[3] = -2.5; x[4] = 127; x[5] = 0.5; x[6] = 1.5
        for j in 7..<256 { x[j] = Float(j % 50) - 25 }
        x[256] = 127; x[257] = -127; x[258] = 10
        var q = [UInt8](repeating: 0xFF, count: 292 * 3)
        x.withUnsafeBufferPointer { src in q.withUnsafeMutableBytes { ReferenceKernels.quantizeActivation(.q8_K, src.baseAddress!, $0.baseAddress!, count: 768) } }
        func d(_ b: Int) -> Float { q.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 292 * b, as: Float.self) } }
        func qs(_ b: Int, _ j: Int) -> Int { Int(Int8(bitPattern: q[292 * b + 4 + j])) }
        func bsum(_ b: Int, _ k: Int) -> Int { Int(Int16(bitPattern: UInt16(q[292 * b + 260 + 2 * k]) | UInt16(q[292 * b + 261 + 2 * k]) << 8)) }
        #expect(d(0) == 1)
        #expect([qs(0, 0), qs(0, 1), qs(0, 2), qs(0, 3), qs(0, 4), qs(0, 5), qs(0, 6)] == [-127, 2, 4, -2, 127, 0, 2])
        #expect(d(1) == -1)
        #expect([qs(1, 0), qs(1, 1), qs(1, 2)] == [-127, 127, -10])
        for b in 0..<2 {
            for k in 0..<16 { #expect(bsum(b, k) == (16 * k..<16 * k + 16).reduce(0) { $0 + qs(b, $1) }, "block \(b) bsums[\(k)]") }
        }
        #expect(q[584..<876].allSatisfy { $0 == 0 }, "an all-zero super-block is all-zero bytes")
        // dequantize(quantize(x)) within |d|/2 on random input
        var rng = QuantTestRNG(seed: 11)
        let r = (0..<512).map { _ in Float.random(in: -5...5, using: &rng) }
        var rq = [UInt8](repeating: 0, count: 584)
        r.withUnsafeBufferPointer { src in rq.withUnsafeMutableBytes { ReferenceKernels.quantize(.q8_K, src.baseAddress!, $0.baseAddress!, count: 512) } }
        let back = quantDequantized(.q8_K, rq, n: 512)
        for i in 0..<512 {
            let scale = abs(rq.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 292 * (i / 256), as: Float.self) })
            #expect(abs(back[i] - r[i]) <= scale * 0.5 * (1 + 1e-5), "element \(i)")
        }
    }
}
