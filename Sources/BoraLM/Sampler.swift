import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// How the next token is chosen. `temperature <= 0` is greedy (argmax). Otherwise the chain is
/// llama.cpp's: repetition penalty → top-k → top-p → min-p → temperature → weighted draw.
public struct SamplingOptions: Sendable, Equatable {
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens (0: no limit).
    public var topK: Int = 40
    /// Keep the smallest set whose probability reaches p (1: off).
    public var topP: Float = 0.95
    /// Drop tokens less likely than minP × the most likely one (0: off).
    public var minP: Float = 0.05
    /// Divide positive / multiply negative logits of recently seen tokens (1: off).
    public var repetitionPenalty: Float = 1.0
    /// How many recent tokens the penalty looks at.
    public var repetitionWindow: Int = 64
    /// Same seed, same model, same prompt → same output.
    public var seed: UInt64 = 0

    public init() {}
    /// Greedy decoding (what the golden tests and `--temp 0` use).
    public static var greedy: SamplingOptions { var o = SamplingOptions(); o.temperature = 0; return o }
}

/// Picks tokens from logits without allocating: every buffer is reserved at init for the vocabulary.
public final class Sampler {
    public let options: SamplingOptions
    public let vocabSize: Int
    private var rng: SplitMix64
    private let ids: UnsafeMutablePointer<Int32>
    private let values: UnsafeMutablePointer<Float>

    /// The kernel set whose argmax the sampler uses (the model's).
    public let kernels: KernelSet

    public init(options: SamplingOptions, vocabSize: Int, kernels: KernelSet) {
        precondition(vocabSize > 0)
        self.options = options
        self.kernels = kernels
        self.vocabSize = vocabSize
        rng = SplitMix64(seed: options.seed)
        ids = .allocate(capacity: vocabSize)
        values = .allocate(capacity: vocabSize)
    }

    deinit { ids.deallocate(); values.deallocate() }

    /// The next token for `logits` (vocabSize floats), given the tokens generated so far
    /// (`history`, for the repetition penalty).
    public func sample(_ logits: UnsafePointer<Float>, history: UnsafeBufferPointer<Int32> = .init(start: nil, count: 0)) -> Int32 {
        let o = options
        let penalized = o.repetitionPenalty != 1 && !history.isEmpty
        // greedy without a penalty reads the logits as they are
        if o.temperature <= 0 && !penalized { return Int32(kernels.argmax(logits, count: vocabSize)) }
        values.update(from: logits, count: vocabSize)
        if penalized {
            for t in history.suffix(o.repetitionWindow) where t >= 0 && Int(t) < vocabSize {
                let v = values[Int(t)]
                // Each distinct token once: mark by comparing against the original logit.
                if v == logits[Int(t)] { values[Int(t)] = v > 0 ? v / o.repetitionPenalty : v * o.repetitionPenalty }
            }
        }
        let best = kernels.argmax(values, count: vocabSize)
        if o.temperature <= 0 { return Int32(best) }

        // Candidates: tokens within e^-40 of the best (the rest cannot survive any filter).
        let floor = values[best] - 40
        var count = 0
        for i in 0..<vocabSize where values[i] >= floor {
            ids[count] = Int32(i)
            count += 1
        }
        let k = o.topK > 0 ? min(o.topK, count) : count
        count = selectTop(k, count)
        // softmax (without temperature) for top-p and min-p
        let maxLogit = values[Int(ids[0])]
        var sum: Float = 0
        for j in 0..<count { sum += expf(values[Int(ids[j])] - maxLogit) }
        if o.topP < 1 {
            var cumulative: Float = 0
            for j in 0..<count {
                cumulative += expf(values[Int(ids[j])] - maxLogit) / sum
                if cumulative >= o.topP { count = j + 1; break }
            }
        }
        if o.minP > 0 {
            let threshold = maxLogit + logf(o.minP)  // p_j ≥ minP·p_max  ⇔  logit_j ≥ max + ln(minP)
            var kept = 1
            while kept < count, values[Int(ids[kept])] >= threshold { kept += 1 }
            count = kept
        }
        // temperature, then draw
        var total: Float = 0
        for j in 0..<count { total += expf((values[Int(ids[j])] - maxLogit) / o.temperature) }
        var r = rng.nextFloat() * total
        for j in 0..<count {
            r -= expf((values[Int(ids[j])] - maxLogit) / o.temperature)
            if r <= 0 { return ids[j] }
        }
        return ids[count - 1]
    }

    /// Reorders ids[0..<count] so that ids[0..<k] are the k highest values, sorted descending.
    /// Heap-based; no allocation. Returns k.
    private func selectTop(_ k: Int, _ count: Int) -> Int {
        let values = self.values, ids = self.ids
        @inline(__always) func less(_ a: Int32, _ b: Int32) -> Bool { values[Int(a)] < values[Int(b)] }
        func siftDown(_ start: Int, _ size: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < size && less(ids[l], ids[m]) { m = l }
                if r < size && less(ids[r], ids[m]) { m = r }
                if m == i { return }
                ids.swapAt(i, m)
                i = m
            }
        }
        // min-heap of the best k seen so far in ids[0..<k]
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i, k) }
        for j in k..<count where less(ids[0], ids[j]) {
            ids[0] = ids[j]
            siftDown(0, k)
        }
        // heap sort ascending-min-heap → descending order
        var size = k
        while size > 1 {
            ids.swapAt(0, size - 1)
            size -= 1
            siftDown(0, size)
        }
        return k
    }
}

extension UnsafeMutablePointer where Pointee == Int32 {
    @inline(__always) fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]; self[i] = self[j]; self[j] = t
    }
}
