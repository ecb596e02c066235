// The expert store must not change a single bit of the output: a random tiny Mixture-of-Experts
// llama (written here with GGUFWriter, experts Q8_0) is run all-mapped and with every budget from
// the minimum (experts one token needs) to all experts, with and without read-ahead, both
// eviction policies, single tokens and batches; logits are compared bitwise. Metrics are checked
// for what must hold (reads happen under small budgets; a full budget stops reading once warm).
// Numerical correctness of the MoE forward against NumPy is MoEReferenceTests' job.

import BoraCore
import BoraGGUF
import Foundation
import Testing
@testable import BoraLM

/// Writes a random tiny MoE llama: dim 64, 3 layers, 4 heads / 2 KV heads, 6 experts (top 2) of
/// 32 hidden units, vocab 96; returns its path.
func writeTinyMoE(expertType: QuantType = .q8_0, seed: UInt64 = 7) throws -> String {
    var rng = SplitMix64(seed: seed)
    func random(_ count: Int, scale: Float) -> [Float] {
        (0..<count).map { _ in (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    }
    func quantized(_ values: [Float], _ type: QuantType) -> [UInt8] {
        if type == .f32 { return values.withUnsafeBytes { Array($0) } }
        var out = [UInt8](repeating: 0, count: type.byteCount(elements: values.count)!)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { ReferenceKernels.quantize(type, src.baseAddress!, $0.baseAddress!, count: values.count) }
        }
        return out
    }
    let dim = 64, layers = 3, experts = 6, ffn = 32, vocab = 96
    var w = GGUFWriter()
    w.set("general.architecture", "llama")
    w.set("llama.embedding_length", .uint32(UInt32(dim)))
    w.set("llama.block_count", .uint32(UInt32(layers)))
    w.set("llama.attention.head_count", .uint32(4))
    w.set("llama.attention.head_count_kv", .uint32(2))
    w.set("llama.feed_forward_length", .uint32(UInt32(ffn)))
    w.set("llama.context_length", .uint32(128))
    w.set("llama.expert_count", .uint32(UInt32(experts)))
    w.set("llama.expert_used_count", .uint32(2))
    w.addTensor(name: "token_embd.weight", shape: [dim, vocab], type: .q8_0, bytes: quantized(random(dim * vocab, scale: 1), .q8_0))
    w.addTensor(name: "output_norm.weight", shape: [dim], type: .f32, bytes: quantized(random(dim, scale: 0.1).map { $0 + 1 }, .f32))
    for l in 0..<layers {
        let p = "blk.\(l)."
        w.addTensor(name: p + "attn_norm.weight", shape: [dim], type: .f32, bytes: quantized(random(dim, scale: 0.1).map { $0 + 1 }, .f32))
        w.addTensor(name: p + "ffn_norm.weight", shape: [dim], type: .f32, bytes: quantized(random(dim, scale: 0.1).map { $0 + 1 }, .f32))
        w.addTensor(name: p + "attn_q.weight", shape: [dim, dim], type: .q8_0, bytes: quantized(random(dim * dim, scale: 0.2), .q8_0))
        w.addTensor(name: p + "attn_k.weight", shape: [dim, 32], type: .q8_0, bytes: quantized(random(dim * 32, scale: 0.2), .q8_0))
        w.addTensor(name: p + "attn_v.weight", shape: [dim, 32], type: .q8_0, bytes: quantized(random(dim * 32, scale: 0.2), .q8_0))
        w.addTensor(name: p + "attn_output.weight", shape: [dim, dim], type: .q8_0, bytes: quantized(random(dim * dim, scale: 0.2), .q8_0))
        w.addTensor(name: p + "ffn_gate_inp.weight", shape: [dim, experts], type: .f32, bytes: quantized(random(dim * experts, scale: 0.5), .f32))
        w.addTensor(name: p + "ffn_gate_exps.weight", shape: [dim, ffn, experts], type: expertType,
                    bytes: quantized(random(dim * ffn * experts, scale: 0.3), expertType))
        w.addTensor(name: p + "ffn_up_exps.weight", shape: [dim, ffn, experts], type: expertType,
                    bytes: quantized(random(dim * ffn * experts, scale: 0.3), expertType))
        w.addTensor(name: p + "ffn_down_exps.weight", shape: [ffn, dim, experts], type: expertType,
                    bytes: quantized(random(ffn * dim * experts, scale: 0.3), expertType))
    }
    let path = NSTemporaryDirectory() + "bora-tiny-moe-\(seed)-\(expertType)-\(getpid()).gguf"
    try w.write(toPath: path)
    return path
}

/// Logits of every position for `tokens`, fed in pieces of `pieces` tokens.
func logits(_ model: LlamaModel, store: ExpertStore?, tokens: [Int32], pieces: [Int], maxBatch: Int = 8) throws -> [Float] {
    let kernels = try KernelSet.named(nil)
    let session = try LlamaSession(model: model, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: 2)),
                                   contextLength: 64, maxBatch: maxBatch, experts: store)
    let vocab = model.config.vocabSize
    var all = [Float](repeating: .nan, count: tokens.count * vocab)
    var offset = 0
    for piece in pieces {
        try Array(tokens[offset..<offset + piece]).withUnsafeBufferPointer { t in
            try all.withUnsafeMutableBufferPointer { out in _ = try session.evaluate(t, allLogits: out.baseAddress! + offset * vocab) }
        }
        offset += piece
    }
    return all
}

@Suite("Expert store")
struct ExpertStoreTests {
    let tokens: [Int32] = (0..<24).map { Int32(($0 * 37 + 11) % 96) }
    let pieces = [6, 1, 1, 1, 8, 1, 1, 1, 4]

    @Test func everyBudgetGivesBitIdenticalLogits() throws {
        let path = try writeTinyMoE()
        defer { unlink(path) }
        let file = try GGUFFile(path: path)
        let model = try LlamaModel(file: file, kernels: try KernelSet.named(nil))
        #expect(model.config.isMixtureOfExperts && model.expertCount == 18)
        let reference = try logits(model, store: nil, tokens: tokens, pieces: pieces)
        #expect(reference.allSatisfy { $0.isFinite })
        let minimum = 2 * model.maxExpertBytes
        for slots in [2, 3, 5, 9, 18] {
            for prefetch in [false, true] {
                for eviction in ExpertEviction.allCases {
                    var o = ExpertStoreOptions(budgetBytes: slots * model.maxExpertBytes)
                    o.prefetch = prefetch
                    o.prefetchMinProbability = 0   // read ahead every guess: the most reads, evictions and races
                    o.eviction = eviction
                    let store = try ExpertStore(model: model, path: path, options: o)
                    #expect(store.slotCount == slots)
                    let got = try logits(model, store: store, tokens: tokens, pieces: pieces)
                    let same = zip(got, reference).allSatisfy { $0.bitPattern == $1.bitPattern }
                    #expect(same, "slots \(slots) prefetch \(prefetch) \(eviction): logits differ from all-mapped")
                    let m = store.metrics
                    #expect(m.acquisitions > 0 && m.reads > 0 && m.bytesRead == m.reads * model.maxExpertBytes)
                    #expect(m.hits + m.inFlightHits + m.misses == m.acquisitions)
                    if !prefetch { #expect(m.prefetchIssued == 0) } else if slots >= 5 && slots < 18 { #expect(m.prefetchIssued > 0) }   // 2-3 slots are all pinned by the layer's own requests
                }
            }
        }
        #expect(throws: ExpertStoreError.budgetTooSmall(budgetBytes: minimum - 1, minimumBytes: minimum)) {
            try ExpertStore(model: model, path: path, options: ExpertStoreOptions(budgetBytes: minimum - 1))
        }
    }

    @Test func aFullBudgetStopsReadingOnceWarm() throws {
        let path = try writeTinyMoE(expertType: .q4_0, seed: 11)
        defer { unlink(path) }
        let model = try LlamaModel(file: try GGUFFile(path: path), kernels: try KernelSet.named(nil))
        let reference = try logits(model, store: nil, tokens: tokens, pieces: pieces)
        var store: ExpertStore? = try ExpertStore(model: model, path: path, options: ExpertStoreOptions(budgetBytes: 18 * model.maxExpertBytes))
        let first = try logits(model, store: store, tokens: tokens, pieces: pieces)
        let readsAfterFirst = store!.metrics.reads
        #expect(readsAfterFirst <= 18)
        store!.resetMetrics()
        let second = try logits(model, store: store, tokens: tokens, pieces: pieces)
        #expect(store!.metrics.reads == 0 && store!.metrics.misses == 0 && store!.metrics.hitRate == 1 && store!.metrics.readErrors == 0)
        #expect(zip(first, reference).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(zip(second, reference).allSatisfy { $0.bitPattern == $1.bitPattern })
        // The store took the experts out of the mapping while it lived; they are back after it.
        let unmappedWhileAlive = model.expertsUnmapped.load(ordering: .relaxed)
        #expect(unmappedWhileAlive)
        store = nil
        let unmappedAfter = model.expertsUnmapped.load(ordering: .relaxed)
        #expect(!unmappedAfter)
        let after = try logits(model, store: nil, tokens: tokens, pieces: pieces)
        #expect(zip(after, reference).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    @Test func denseModelsRefuseAStore() throws {
        let gguf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/llama-tiny/tiny-q8_0.gguf").path
        let model = try LlamaModel(file: try GGUFFile(path: gguf), kernels: try KernelSet.named(nil))
        #expect(throws: ExpertStoreError.notMixtureOfExperts) {
            try ExpertStore(model: model, path: gguf, options: ExpertStoreOptions(budgetBytes: 1 << 20))
        }
    }
}

@Suite("Expert store lifetime")
struct ExpertStoreLifetimeTests {
    @Test func storeAndSessionAreReleased() throws {
        let path = try writeTinyMoE(seed: 23)
        defer { unlink(path) }
        let model = try LlamaModel(file: try GGUFFile(path: path), kernels: try KernelSet.named(nil))
        weak var weakStore: ExpertStore?
        weak var weakSession: LlamaSession?
        do {
            let store = try ExpertStore(model: model, path: path, options: ExpertStoreOptions(budgetBytes: 4 * model.maxExpertBytes))
            weakStore = store
            let session = try LlamaSession(model: model, matmul: Matmul(kernels: try KernelSet.named(nil), pool: ThreadPool(threads: 2)),
                                           contextLength: 16, maxBatch: 4, experts: store)
            weakSession = session
            _ = try session.evaluate([1, 2, 3])
        }
        #expect(weakSession == nil)
        #expect(weakStore == nil)
    }
}
