// The model-math entries of the kernel table (layer norm, GELU, bias+GELU, Whisper's scaled
// softmax, logsumexp): every set, "reference" (Ops, Swift) included, gives the scalar C set's bits,
// and the results are right against float64 math. The matrix kernels, quantizers and the LLM ops
// are covered entry by entry in KernelSetTests and LLMOpsTests.

import Foundation
import Testing
@testable import BoraCore

private let lengths = [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 384, 1500, 51_864]

private func allSets() -> [KernelSet] { KernelSet.availableNames.compactMap { try? KernelSet.named($0) } }

/// Bit-for-bit equality (a Bool, so a failure prints the op, not two arrays).
private func same(_ a: [Float], _ b: [Float]) -> Bool { a.map(\.bitPattern) == b.map(\.bitPattern) }

@Suite("kernel table: Whisper math in every set")
struct KernelTableTests {
    @Test("the reference set is the Swift code, every other set C; both are listed")
    func referenceIsSwift() throws {
        #expect(KernelSet.availableNames.first == "reference")
        #expect(try KernelSet.named("reference").name == "reference")
        #expect(try KernelSet.named("scalar").name == "scalar")
    }

    @Test("layerNorm, gelu, addBiasGELU, scaledSoftmax, logSumExp: every set bit-identical to scalar C, and close to float64")
    func mathAgrees() throws {
        let scalar = try KernelSet.named("scalar")
        var rng = QuantTestRNG(seed: 321)
        for n in lengths {
            let x = (0..<n).map { _ in Float.random(in: -8...8, using: &rng) }
            let w = (0..<n).map { _ in Float.random(in: 0.5...1.5, using: &rng) }
            let b = (0..<n).map { _ in Float.random(in: -0.5...0.5, using: &rng) }
            // extremes for the exp clamps: far below, -inf
            var logits = (0..<n).map { _ in Float.random(in: -30...10, using: &rng) }
            if n > 3 { logits[1] = -200; logits[2] = -.infinity }

            var norm = [Float](repeating: 0, count: n), gelu = x, biased = x, soft = logits
            scalar.layerNorm(&norm, x, weight: w, bias: b, count: n, eps: 1e-5)
            gelu.withUnsafeMutableBufferPointer { scalar.gelu($0.baseAddress!, count: n) }
            biased.withUnsafeMutableBufferPointer { scalar.addBiasGELU($0.baseAddress!, bias: b, rows: 1, cols: n, gelu: true) }
            soft.withUnsafeMutableBufferPointer { scalar.scaledSoftmax($0.baseAddress!, count: n, scale: 0.125) }
            let lse = scalar.logSumExp(logits, count: n)

            // right: float64 references
            let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
            let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
            let m = Double(logits.max()!)
            let z = logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
            let zs = logits.reduce(0.0) { $0 + Foundation.exp((Double($1) - m) * 0.125) }
            for i in 0..<n {
                let ln = (Double(x[i]) - mean) / (variance + 1e-5).squareRoot() * Double(w[i]) + Double(b[i])
                #expect(abs(Double(norm[i]) - ln) <= 1e-4 * max(1, abs(ln)), "layerNorm n=\(n) i=\(i)")
                let g = 0.5 * Double(x[i]) * (1 + Foundation.erf(Double(x[i]) / 2.0.squareRoot()))
                #expect(abs(Double(gelu[i]) - g) <= 5e-6 * max(1, abs(g)), "gelu n=\(n) i=\(i)")
                let xb = Double(x[i] + b[i])
                let gb = 0.5 * xb * (1 + Foundation.erf(xb / 2.0.squareRoot()))
                #expect(abs(Double(biased[i]) - gb) <= 5e-6 * max(1, abs(gb)), "addBiasGELU n=\(n) i=\(i)")
                let p = Foundation.exp((Double(logits[i]) - m) * 0.125) / zs
                #expect(abs(Double(soft[i]) - p) <= 1e-5 * max(p, 1e-3), "scaledSoftmax n=\(n) i=\(i)")
            }
            #expect(abs(Double(lse) - (m + Foundation.log(z))) <= 1e-5 * max(1, abs(m)), "logSumExp n=\(n)")

            for set in allSets() {
                var norm2 = [Float](repeating: 0, count: n), gelu2 = x, biased2 = x, soft2 = logits
                set.layerNorm(&norm2, x, weight: w, bias: b, count: n, eps: 1e-5)
                gelu2.withUnsafeMutableBufferPointer { set.gelu($0.baseAddress!, count: n) }
                biased2.withUnsafeMutableBufferPointer { set.addBiasGELU($0.baseAddress!, bias: b, rows: 1, cols: n, gelu: true) }
                soft2.withUnsafeMutableBufferPointer { set.scaledSoftmax($0.baseAddress!, count: n, scale: 0.125) }
                #expect(same(norm2, norm), "\(set.name) layerNorm n=\(n)")
                #expect(same(gelu2, gelu), "\(set.name) gelu n=\(n)")
                #expect(same(biased2, biased), "\(set.name) addBiasGELU n=\(n)")
                #expect(same(soft2, soft), "\(set.name) scaledSoftmax n=\(n)")
                #expect(set.logSumExp(logits, count: n).bitPattern == lse.bitPattern, "\(set.name) logSumExp n=\(n)")
            }
        }
    }

    @Test("addBiasGELU over several rows, with and without GELU, and the edge cases of logSumExp: every set = scalar C")
    func rowsAndEdges() throws {
        let scalar = try KernelSet.named("scalar")
        var rng = QuantTestRNG(seed: 322)
        let rows = 5, cols = 37
        let x = (0..<(rows * cols)).map { _ in Float.random(in: -6...6, using: &rng) }
        let bias = (0..<cols).map { _ in Float.random(in: -1...1, using: &rng) }
        for gelu in [false, true] {
            var want = x
            want.withUnsafeMutableBufferPointer { scalar.addBiasGELU($0.baseAddress!, bias: bias, rows: rows, cols: cols, gelu: gelu) }
            if !gelu { #expect(want == (0..<(rows * cols)).map { x[$0] + bias[$0 % cols] }) }
            for set in allSets() {
                var got = x
                got.withUnsafeMutableBufferPointer { set.addBiasGELU($0.baseAddress!, bias: bias, rows: rows, cols: cols, gelu: gelu) }
                #expect(same(got, want), "\(set.name) gelu=\(gelu)")
            }
        }
        for set in allSets() {
            let empty: [Float] = [0]
            #expect(set.logSumExp(empty, count: 0) == -.infinity, "\(set.name)")
            #expect(set.logSumExp([-Float.infinity, -.infinity], count: 2) == -.infinity, "\(set.name)")
            #expect(set.logSumExp([0, 0, 0, 0], count: 4) == scalar.logSumExp([0, 0, 0, 0], count: 4), "\(set.name)")
        }
    }
}
