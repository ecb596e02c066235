import Foundation
import Testing
@testable import BoraLM
import BoraCore

private let kernels = try! KernelSet.named(nil)

private func sampleMany(_ options: SamplingOptions, _ logits: [Float], draws: Int) -> [Int] {
    let sampler = Sampler(options: options, vocabSize: logits.count, kernels: kernels)
    var counts = [Int](repeating: 0, count: logits.count)
    logits.withUnsafeBufferPointer { l in
        for _ in 0..<draws { counts[Int(sampler.sample(l.baseAddress!))] += 1 }
    }
    return counts
}

@Suite("Sampler")
struct SamplerTests {
    let logits: [Float] = [0.5, 3.0, -1.0, 2.9, 1.0, -5.0, 2.0, 0.0]

    @Test func greedyIsArgmax() {
        let counts = sampleMany(.greedy, logits, draws: 10)
        #expect(counts[1] == 10)
    }

    @Test func topKOneIsGreedy() {
        var o = SamplingOptions(); o.topK = 1; o.temperature = 1.5
        #expect(sampleMany(o, logits, draws: 200)[1] == 200)
    }

    @Test func sameSeedSameSequenceDifferentSeedDifferent() {
        func sequence(_ seed: UInt64) -> [Int32] {
            var o = SamplingOptions(); o.seed = seed; o.topK = 0; o.topP = 1; o.minP = 0; o.temperature = 1
            let s = Sampler(options: o, vocabSize: logits.count, kernels: kernels)
            return logits.withUnsafeBufferPointer { l in (0..<64).map { _ in s.sample(l.baseAddress!) } }
        }
        #expect(sequence(7) == sequence(7))
        #expect(sequence(7) != sequence(8))
    }

    @Test func unfilteredDrawsFollowTheSoftmax() {
        var o = SamplingOptions(); o.topK = 0; o.topP = 1; o.minP = 0; o.temperature = 1; o.seed = 3
        let draws = 40_000
        let counts = sampleMany(o, logits, draws: draws)
        let e = logits.map { exp(Double($0)) }, z = e.reduce(0, +)
        for i in logits.indices {
            let p = e[i] / z
            let sd = (p * (1 - p) / Double(draws)).squareRoot()
            #expect(abs(Double(counts[i]) / Double(draws) - p) <= 5 * sd + 1e-4, "token \(i)")
        }
    }

    @Test func filtersRemoveUnlikelyTokens() {
        // top-k 2 keeps tokens 1 and 3 only
        var o = SamplingOptions(); o.topK = 2; o.topP = 1; o.minP = 0; o.temperature = 1
        let k = sampleMany(o, logits, draws: 2000)
        #expect(k[1] + k[3] == 2000 && k[1] > 0 && k[3] > 0)
        // min-p 0.5: keeps tokens within ln(0.5) of the max: 3.0, 2.9 (2.0 is e^-1 ≈ 0.37 of max)
        o = SamplingOptions(); o.topK = 0; o.topP = 1; o.minP = 0.5; o.temperature = 1
        let m = sampleMany(o, logits, draws: 2000)
        #expect(m[1] + m[3] == 2000)
        // top-p 0.5: token 1 alone has p ≈ 0.39 < 0.5, adding token 3 (≈ 0.35) crosses it
        o = SamplingOptions(); o.topK = 0; o.topP = 0.5; o.minP = 0; o.temperature = 1
        let p = sampleMany(o, logits, draws: 2000)
        #expect(p[1] + p[3] == 2000)
    }

    @Test func repetitionPenaltyDemotesSeenTokens() {
        var o = SamplingOptions.greedy; o.repetitionPenalty = 1.1
        let s = Sampler(options: o, vocabSize: logits.count, kernels: kernels)
        let history: [Int32] = [1, 1, 4]
        let pick = logits.withUnsafeBufferPointer { l in history.withUnsafeBufferPointer { s.sample(l.baseAddress!, history: $0) } }
        #expect(pick == 3)  // 3.0 / 1.1 ≈ 2.73 < 2.9 (applied once, not per occurrence)
    }
}
