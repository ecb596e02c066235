// The LLM transformer ops in llama.cpp's floating-point order (kernels_llm.c): every native set
// (AVX2 versions on x86, the portable lane code elsewhere) gives bit-identical results to the
// portable code ("scalar"), and the results are right: against float64 math with stated tolerances.
// Agreement with llama.cpp itself is checked end to end in BoraLMTests/LlamaCppAgreementTests.

import CBoraKernels
import Foundation
import Testing
@testable import BoraCore

/// Every set this CPU runs, "reference" (the Swift twins in `Ops`) included.
private func sets() throws -> [KernelSet] {
    KernelSet.availableNames.compactMap { try? KernelSet.named($0) }
}

private let lengths = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 200, 255, 256, 1536]

@Suite("LLM ops (llama.cpp order)")
struct LLMOpsTests {
    @Test("exp: relative error ≤ 2e-7 on [-87, 88], 0 for -inf and far below, +inf far above")
    func expAccuracy() {
        var worst = 0.0
        var x: Float = -87
        while x <= 88 {
            let e = Double(bora_llm_expf(x)), ref = Foundation.exp(Double(x))
            worst = max(worst, abs(e - ref) / ref)
            x += 0.0137
        }
        #expect(worst <= 2e-7, "worst relative error \(worst)")
        #expect(bora_llm_expf(-.infinity) == 0)
        #expect(bora_llm_expf(-200) == 0)
        #expect(bora_llm_expf(0) == 1)
        #expect(bora_llm_expf(200) == .infinity)
    }

    @Test("swiGLU, softmax and both f16 gemv orders (1–5 vectors, rows whole or in segments): every set bit-identical to the portable code and close to float64")
    func setsAgree() throws {
        let all = try sets()
        let portable = try KernelSet.named("scalar")
        var rng = SystemRandomNumberGenerator()
        for n in lengths {
            // swiGLU
            let g = (0..<n).map { _ in Float.random(in: -9...9, using: &rng) }
            let u = (0..<n).map { _ in Float.random(in: -3...3, using: &rng) }
            var expected = g
            expected.withUnsafeMutableBufferPointer { portable.swiGLU($0.baseAddress!, u, count: n) }
            for i in 0..<n {
                let ref = Double(g[i]) / (1 + Foundation.exp(-Double(g[i]))) * Double(u[i])
                #expect(abs(Double(expected[i]) - ref) <= 1e-6 * max(1, abs(ref)), "swiGLU n=\(n) i=\(i)")
            }
            // softmax (sums to 1, matches float64)
            let s = (0..<n).map { _ in Float.random(in: -20...20, using: &rng) }
            var p = s
            p.withUnsafeMutableBufferPointer { portable.softmax($0.baseAddress!, count: n) }
            let m = Double(s.max()!), z = s.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
            for i in 0..<n {
                let ref = Foundation.exp(Double(s[i]) - m) / z
                #expect(abs(Double(p[i]) - ref) <= 1e-6 * max(ref, 1e-3), "softmax n=\(n) i=\(i)")
            }
            // f16 gemv in both orders; 11 rows: the AVX2 single order runs rows of 32 or 64 in groups of 8
            let rows = 11
            let w = (0..<(rows * (n + 5))).map { _ in FloatBits.f32ToF16(Float.random(in: -2...2, using: &rng)) }
            let x = (0..<n).map { _ in FloatBits.f16ToF32(FloatBits.f32ToF16(Float.random(in: -1...1, using: &rng))) }
            var yBatch = [Float](repeating: 0, count: rows), ySingle = yBatch
            w.withUnsafeBufferPointer { wp in
                portable.gemvF16(rows: rows, n: n, w: wp.baseAddress!, wStride: n + 5, x: x, y: &yBatch, single: false)
                portable.gemvF16(rows: rows, n: n, w: wp.baseAddress!, wStride: n + 5, x: x, y: &ySingle, single: true)
            }
            for r in 0..<rows {
                var ref = 0.0, mag = 0.0
                for k in 0..<n { let t = Double(FloatBits.f16ToF32(w[r * (n + 5) + k])) * Double(x[k]); ref += t; mag += abs(t) }
                #expect(abs(Double(yBatch[r]) - ref) <= 1e-6 * max(mag, 1), "gemv batch n=\(n)")
                #expect(abs(Double(ySingle[r]) - ref) <= 1e-6 * max(mag, 1), "gemv single n=\(n)")
            }
            for set in all {
                var a = g
                a.withUnsafeMutableBufferPointer { set.swiGLU($0.baseAddress!, u, count: n) }
                #expect(a == expected, "\(set.name) swiGLU n=\(n)")
                var b = s
                b.withUnsafeMutableBufferPointer { set.softmax($0.baseAddress!, count: n) }
                #expect(b == p, "\(set.name) softmax n=\(n)")
                var y1 = [Float](repeating: 0, count: rows), y2 = y1
                w.withUnsafeBufferPointer { wp in
                    set.gemvF16(rows: rows, n: n, w: wp.baseAddress!, wStride: n + 5, x: x, y: &y1, single: false)
                    set.gemvF16(rows: rows, n: n, w: wp.baseAddress!, wStride: n + 5, x: x, y: &y2, single: true)
                }
                #expect(y1 == yBatch && y2 == ySingle, "\(set.name) gemvF16 n=\(n)")
                // rows stored in segments (the position-blocked V cache): the same bits as rows stored whole
                for seg in [32, 64] where seg < n {
                    let segments = (n + seg - 1) / seg
                    var blocked = [UInt16](repeating: 0x7e00, count: segments * rows * seg)   // NaN padding: must never be read
                    for r in 0..<rows { for k in 0..<n { blocked[(k / seg) * rows * seg + r * seg + k % seg] = w[r * (n + 5) + k] } }
                    var s1 = [Float](repeating: 0, count: rows), s2 = s1
                    blocked.withUnsafeBufferPointer { bp in
                        set.gemvF16(rows: rows, n: n, w: bp.baseAddress!, wStride: seg, segment: seg, segmentStride: rows * seg,
                                    x: x, y: &s1, single: false)
                        set.gemvF16(rows: rows, n: n, w: bp.baseAddress!, wStride: seg, segment: seg, segmentStride: rows * seg,
                                    x: x, y: &s2, single: true)
                    }
                    #expect(s1 == yBatch && s2 == ySingle, "\(set.name) gemvF16 n=\(n) in segments of \(seg)")
                }
                // several vectors at once: every output exactly as computed alone
                for nv in 1...5 {
                    let xs = (0..<(nv * (n + 3))).map { _ in FloatBits.f16ToF32(FloatBits.f32ToF16(Float.random(in: -1...1, using: &rng))) }
                    for single in [false, true] {
                        var together = [Float](repeating: 0, count: nv * (rows + 2)), alone = together
                        w.withUnsafeBufferPointer { wp in
                            set.gemvF16(rows: rows, n: n, w: wp.baseAddress!, wStride: n + 5, x: xs, xStride: n + 3, vectors: nv,
                                        y: &together, yStride: rows + 2, single: single)
                            xs.withUnsafeBufferPointer { xp in
                                alone.withUnsafeMutableBufferPointer { yp in
                                    for v in 0..<nv {
                                        set.gemvF16(rows: rows, n: n, w: wp.baseAddress!, wStride: n + 5, x: xp.baseAddress! + v * (n + 3),
                                                    y: yp.baseAddress! + v * (rows + 2), single: single)
                                    }
                                }
                            }
                        }
                        #expect(together == alone, "\(set.name) gemvF16 n=\(n) vectors=\(nv) single=\(single)")
                    }
                }
            }
        }
    }
}

@Test("f16 array conversions (F16C where present) give FloatBits' bits: ties, subnormals, overflow, NaN, tails")
func halfArraysMatchScalarConversion() {
    var rng = QuantTestRNG(seed: 2026)
    var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, .infinity, -.infinity,
                           0x1p-14, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 3e-8, -6e-8, 0x1.002p0, 0x1.006p0,
                           Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFFA0_0001), .leastNonzeroMagnitude]
    for _ in 0..<2000 { values.append(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))) }
    for _ in 0..<2000 { values.append(Float.random(in: -70000...70000, using: &rng)) }
    for count in [0, 1, 7, 8, 9, 17, values.count] {
        let x = Array(values.prefix(count))
        var halves = [UInt16](repeating: 0xABCD, count: count)
        var rounded = [Float](repeating: 7, count: count)
        x.withUnsafeBufferPointer { xp in
            halves.withUnsafeMutableBufferPointer { Ops.roundToHalf($0.baseAddress!, xp.baseAddress!, count: count) }
            rounded.withUnsafeMutableBufferPointer { Ops.roundToFloatThroughHalf($0.baseAddress!, xp.baseAddress!, count: count) }
        }
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { Ops.roundToFloatThroughHalf($0.baseAddress!, $0.baseAddress!, count: count) }
        for set in try! sets() {
            var h = [UInt16](repeating: 0xABCD, count: count), r = [Float](repeating: 7, count: count), p = x
            x.withUnsafeBufferPointer { xp in
                h.withUnsafeMutableBufferPointer { set.roundToHalf($0.baseAddress!, xp.baseAddress!, count: count) }
                r.withUnsafeMutableBufferPointer { set.roundToFloatThroughHalf($0.baseAddress!, xp.baseAddress!, count: count) }
            }
            p.withUnsafeMutableBufferPointer { set.roundThroughHalf($0.baseAddress!, count: count) }
            #expect(h == halves, "\(set.name) roundToHalf count=\(count)")
            #expect(r.map(\.bitPattern) == rounded.map(\.bitPattern) && p.map(\.bitPattern) == rounded.map(\.bitPattern),
                    "\(set.name) roundToFloatThroughHalf count=\(count)")
        }
        for i in 0..<count {
            let want = FloatBits.f32ToF16(x[i])
            #expect(halves[i] == want, "\(x[i]) (0x\(String(x[i].bitPattern, radix: 16))) -> 0x\(String(halves[i], radix: 16)), want 0x\(String(want, radix: 16))")
            #expect(rounded[i].bitPattern == FloatBits.f16ToF32(want).bitPattern)
            #expect(inPlace[i].bitPattern == FloatBits.f16ToF32(want).bitPattern)
        }
    }
}

@Test("argmax = the first index a scalar `x[i] > x[best]` scan keeps: ties, NaNs, -inf, every length up to 40")
func argmaxMatchesScalarScan() {
    var rng = QuantTestRNG(seed: 4242)
    func scan(_ x: [Float]) -> Int {
        var best = 0
        for i in x.indices.dropFirst() where x[i] > x[best] { best = i }
        return best
    }
    for n in 1...40 {
        for trial in 0..<200 {
            // few distinct values, so ties are common; some NaNs and infinities
            var x = (0..<n).map { _ in Float(Int.random(in: -3...3, using: &rng)) }
            for i in x.indices where Int.random(in: 0..<10, using: &rng) == 0 {
                x[i] = [Float.nan, -.infinity, .infinity][Int.random(in: 0..<3, using: &rng)]
            }
            if trial == 0 { x = [Float](repeating: -.infinity, count: n) }
            let got = x.withUnsafeBufferPointer { bora_argmax_f32($0.baseAddress!, n) }
            #expect(Int(got) == scan(x), "\(x)")
            for set in try! sets() {
                #expect(x.withUnsafeBufferPointer { set.argmax($0.baseAddress!, count: n) } == scan(x), "\(set.name) \(x)")
            }
        }
    }
    let big = (0..<49_152).map { _ in Float.random(in: -10...10, using: &rng) }
    #expect(Int(big.withUnsafeBufferPointer { bora_argmax_f32($0.baseAddress!, big.count) }) == scan(big))
}

@Test("rope of every set = Ops.rope (the Swift fma rotation) bit for bit, full and partial rotary dims, signed zeros")
func ropeMatchesSwiftReference() throws {
    var rng = QuantTestRNG(seed: 77)
    for (heads, headDim, rotary) in [(9, 64, 64), (3, 64, 64), (2, 80, 32), (1, 8, 6), (4, 10, 10)] {
        var angles = [Float](repeating: 0, count: rotary)
        Ops.ropeAngles(&angles, position: Float(Int.random(in: 0...4000, using: &rng)), thetaScale: powf(10000, -2 / Float(rotary)),
                       freqScale: 1, pairs: rotary / 2)
        var x = (0..<(heads * headDim)).map { _ in Float.random(in: -3...3, using: &rng) }
        x[0] = 0; x[1] = -0.0   // products that are exactly ±0
        var want = x
        want.withUnsafeMutableBufferPointer { Ops.rope($0.baseAddress!, heads: heads, headDim: headDim, rotaryDim: rotary, angles: angles) }
        for name in KernelSet.availableNames {
            guard let set = try? KernelSet.named(name) else { continue }   // sets this CPU cannot run
            var got = x
            got.withUnsafeMutableBufferPointer { set.rope($0.baseAddress!, heads: heads, headDim: headDim, rotaryDim: rotary, angles: angles) }
            #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(name) heads=\(heads) headDim=\(headDim) rotary=\(rotary)")
        }
    }
}

@Test("rmsNorm over several rows (four chains side by side) = one row at a time, bit for bit")
func rmsNormRowsMatchesOneRow() {
    var rng = QuantTestRNG(seed: 78)
    for rows in [1, 3, 4, 5, 9, 32] {
        let count = 576
        let x = (0..<(rows * count)).map { _ in Float.random(in: -5...5, using: &rng) }
        let w = (0..<count).map { _ in Float.random(in: 0.5...1.5, using: &rng) }
        var want = [Float](repeating: 0, count: rows * count), got = want
        for r in 0..<rows {
            x.withUnsafeBufferPointer { xp in want.withUnsafeMutableBufferPointer { o in
                Ops.rmsNorm(o.baseAddress! + r * count, xp.baseAddress! + r * count, weight: w, count: count, eps: 1e-5) } }
        }
        x.withUnsafeBufferPointer { xp in got.withUnsafeMutableBufferPointer { o in
            Ops.rmsNorm(o.baseAddress!, xp.baseAddress!, weight: w, rows: rows, count: count, eps: 1e-5) } }
        #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "rows=\(rows)")
    }
}
