// Mixture-of-Experts llama against independent references:
// - tiny random MoE models (tools/fixtures/moe_fixtures.py) against a float64 NumPy
//   implementation written from llama.cpp's definition: logits within the TinyLlamaTests
//   tolerances (F32 1e-3, quantized 3e-2 of the position's largest |logit|) and the same experts
//   chosen at every layer and position (the fixture's token draw keeps every routing gap ≥ 2e-3);
// - the catalog's smollm2-moe (tools/moe/build.py) against llama.cpp and against exact float64
//   math (tools/moe/numpy_reference.py) over a 256-token text.

import BoraCore
import BoraGGUF
import Foundation
import Testing
@testable import BoraLM

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

private struct TinyReference: Decodable {
    struct Routing: Decodable { let selected: [[Int32]] }
    struct File: Decodable { let type: String; let tied_output: Bool; let logits: [[Double]]; let routing: [Routing] }
    let tokens: [Int32]
    let files: [String: File]
}

@Suite("MoE vs references", .serialized)
struct MoEReferenceTests {
    @Test(arguments: [("tiny-moe-f32.gguf", 1e-3), ("tiny-moe-q8_0.gguf", 3e-2), ("tiny-moe-q4_0.gguf", 3e-2)])
    func tinyModelsMatchNumPy(file: (String, Double)) throws {
        let reference = try JSONDecoder().decode(TinyReference.self, from: Data(contentsOf: fixtures.appendingPathComponent("moe-tiny/reference.json")))
        let expected = try #require(reference.files[file.0])
        let path = fixtures.appendingPathComponent("moe-tiny/" + file.0).path
        let kernels = try KernelSet.named(nil)
        let model = try LlamaModel(file: try GGUFFile(path: path), kernels: kernels)
        #expect(model.config.isMixtureOfExperts && model.tiedOutput == expected.tied_output)
        let vocab = model.config.vocabSize, k = model.config.expertUsedCount
        for (batch, store) in [(1, false), (5, false), (24, false), (5, true)] {
            let experts = store ? try ExpertStore(model: model, path: path, options: ExpertStoreOptions(budgetBytes: 3 * model.maxExpertBytes)) : nil
            let session = try LlamaSession(model: model, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: 2)),
                                           contextLength: 64, maxBatch: batch, experts: experts)
            var routes = [[[Int32]]](repeating: [], count: model.config.layerCount)   // [layer][position] = k ids
            session.routingHook = { layer, selected, n in
                for b in 0..<n { routes[layer].append((0..<k).map { selected[b * k + $0] }) }
            }
            var all = [Float](repeating: .nan, count: reference.tokens.count * vocab)
            var offset = 0
            for piece in [7, 1, 1, 9, 6] {
                try Array(reference.tokens[offset..<offset + piece]).withUnsafeBufferPointer { t in
                    try all.withUnsafeMutableBufferPointer { out in _ = try session.evaluate(t, allLogits: out.baseAddress! + offset * vocab) }
                }
                offset += piece
            }
            var worst = 0.0
            for (pos, row) in expected.logits.enumerated() {
                let scale = row.map(abs).max()!
                for (i, want) in row.enumerated() { worst = max(worst, abs(Double(all[pos * vocab + i]) - want) / scale) }
            }
            #expect(worst <= file.1, "\(file.0) batch \(batch) store \(store): worst relative logit error \(worst)")
            for layer in 0..<model.config.layerCount {
                let want = expected.routing[layer].selected
                #expect(routes[layer] == want, "\(file.0) batch \(batch): layer \(layer) routing differs")
            }
        }
    }

    private struct LlamaCppLogits: Decodable {
        struct Position: Decodable { let pos: Int; let top_ids: [Int32]; let top_logits: [Float] }
        let token_ids: [Int32]
        let positions: [Position]
    }
    private struct Exact: Decodable { let tokens: [Int32]; let top1: [Int32]; let selected: [[[Int32]]]; let gap_2nd_3rd: [[Double]] }

    /// Top-1 agreement with llama.cpp and with exact float64 math over 256 positions (printed), and
    /// routing against exact math (asserted). The model (a dense model's FFN split into 8 experts
    /// without training) is chaotic: 7–8 % of its routing decisions are near-ties (2nd–3rd
    /// probability gap < 1e-3) where any rounding — Q8_0 activations, summation order — flips the
    /// chosen expert, and through causal attention one flip changes every later position. llama.cpp
    /// itself matches exact math at only 144/256 (Q4_0) and 33/256 (Q8_0) positions. What can be
    /// asserted: every routing decision that sees the same input as exact math (all earlier layers
    /// at all positions so far routed identically) and is not a near-tie (gap ≥ 1e-2) is identical;
    /// and, since every operation (router and repacked-Q4_0 experts included) runs in llama.cpp's
    /// x86 order, top-1 equals llama.cpp's at ≥ 99 % of positions (the issue's target; 256/256 for
    /// both files here).
    @Test(arguments: [("smollm2-moe", "q4_0"), ("smollm2-moe-q8_0", "q8_0")])
    func smolMoEAgainstLlamaCppAndExactMath(model name: (String, String)) throws {
        let env = ProcessInfo.processInfo.environment
        let root = env["BORA_MODELS"] ?? ((env["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora") + "/models")
        let dir = root + "/" + name.0
        guard let gguf = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first(where: { $0.hasSuffix(".gguf") }) else {
            print("skipped: \(name.0) not fetched (bora models fetch \(name.0))"); return
        }
        let llamaCpp = try JSONDecoder().decode(LlamaCppLogits.self, from: Data(contentsOf: fixtures.appendingPathComponent("moe/logits_moe_\(name.1).json")))
        let exact = try JSONDecoder().decode(Exact.self, from: Data(contentsOf: fixtures.appendingPathComponent("moe/exact_moe_\(name.1).json")))
        #expect(exact.tokens == llamaCpp.token_ids)
        let kernels = try KernelSet.named(nil)
        let model = try LlamaModel(file: try GGUFFile(path: dir + "/" + gguf), kernels: kernels)
        let session = try LlamaSession(model: model, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: 2)),
                                       contextLength: 512, maxBatch: 64)
        let k = model.config.expertUsedCount
        var routes = [[[Int32]]](repeating: [], count: model.config.layerCount)
        session.routingHook = { layer, selected, n in
            for b in 0..<n { routes[layer].append((0..<k).map { selected[b * k + $0] }) }
        }
        let vocab = model.config.vocabSize
        var logits = [Float](repeating: 0, count: exact.tokens.count * vocab)
        try exact.tokens.withUnsafeBufferPointer { t in
            try logits.withUnsafeMutableBufferPointer { _ = try session.evaluate(t, allLogits: $0.baseAddress!) }
        }
        var boraLlama = 0, boraExact = 0, llamaExact = 0
        for p in llamaCpp.positions {
            let row = logits[(p.pos * vocab)..<((p.pos + 1) * vocab)]
            let best = Int32(row.indices.max { row[$0] < row[$1] }! - p.pos * vocab)
            if best == p.top_ids[0] { boraLlama += 1 }
            if best == exact.top1[p.pos] { boraExact += 1 }
            if p.top_ids[0] == exact.top1[p.pos] { llamaExact += 1 }
        }
        // A decision (layer l, position p) sees the same input as exact math only while every
        // decision of layers < l at positions ≤ p (attention is causal) was the same.
        let layers = model.config.layerCount
        var firstDifferent = [Int](repeating: layers, count: exact.tokens.count)
        for pos in 0..<exact.tokens.count {
            firstDifferent[pos] = (0..<layers).first { Set(routes[$0][pos]) != Set(exact.selected[$0][pos]) } ?? layers
        }
        var clearDecisions = 0, clearSame = 0, allSame = 0, all = 0
        var prefixLimit = layers
        var firstDivergences: [String] = []
        for pos in 0..<exact.tokens.count {
            for layer in 0..<layers {
                let same = Set(routes[layer][pos]) == Set(exact.selected[layer][pos])
                all += 1; if same { allSame += 1 }
                if layer <= min(prefixLimit, firstDifferent[pos]) && exact.gap_2nd_3rd[layer][pos] >= 1e-2 {
                    clearDecisions += 1; if same { clearSame += 1 }
                }
                if !same && layer == firstDifferent[pos] && firstDivergences.count < 5 {
                    firstDivergences.append("pos \(pos) layer \(layer) gap \(exact.gap_2nd_3rd[layer][pos])")
                }
            }
            prefixLimit = min(prefixLimit, firstDifferent[pos])
        }
        print("first routing divergences from exact: \(firstDivergences.joined(separator: "; "))")
        let n = llamaCpp.positions.count
        print("\(name.0): top-1 Bora = llama.cpp \(boraLlama)/\(n); Bora = exact \(boraExact)/\(n); llama.cpp = exact \(llamaExact)/\(n); routing = exact \(allSame)/\(all) decisions, \(clearSame)/\(clearDecisions) clear ones (gap ≥ 1e-2, same routing upstream)")
        #expect(clearDecisions > 20, "too few comparable decisions (\(clearDecisions)) to check routing")
        #expect(clearSame == clearDecisions, "routing differs from exact math at \(clearDecisions - clearSame) clear decisions")
        #expect(Double(boraLlama) >= 0.99 * Double(n), "\(name.0): top-1 agreement with llama.cpp \(boraLlama)/\(n)")
    }
}
