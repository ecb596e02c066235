// SmolLM2-135M-Instruct (the catalog's real model and its re-quantizations) against llama.cpp
// (llama-cpp-python 0.3.36 built from its sdist by tools/llamacpp/build; references written by
// tools/llamacpp/reference.py into Tests/Fixtures/llm/).
//
// - 256-token text, all positions in one batch: Bora's top-1 must equal llama.cpp's at ≥ 99 % of
//   positions for Q4_1 and Q4_0: every operation runs in llama.cpp's x86 floating-point order
//   (Q4_0 in the order of its repacked kernels). Q8_0's layer matrices run Bora's x8 kernels,
//   which sum each block exactly in int32 before scaling (llama.cpp: 8 float lanes per block):
//   there top-1 may differ only at near ties (llama.cpp's top-2 margin < 0.25), at ≤ 5 % of positions.
// - First 4 positions, full logits (Q4_1), against llama.cpp and against exact float64 math
//   (tools/fixtures/smollm2_numpy_reference.py): Bora must be at least as close to exact as llama.cpp.
// - Greedy 64-token continuations of three prompts (Q4_1): identical tokens; a divergence fails
//   and the message shows llama.cpp's top-2 logit margin there.
// - Tokenization of 26 texts (incl. special tokens): identical ids.
// Skipped, with a printed reason, only when the catalog model is not fetched (CI fetches it).

import BoraCore
import BoraGGUF
import BoraText
import Foundation
import Testing
@testable import BoraLM

private let llmFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/llm")

private func modelPath(_ variant: String) -> String? {
    let env = ProcessInfo.processInfo.environment
    let root = env["BORA_MODELS"] ?? ((env["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora") + "/models")
    let (dir, file): (String, String) = switch variant {
    case "q4_1": ("smollm2-135m-instruct", "smollm2-135m-instruct.Q4_1.gguf")
    case "q8_0": ("smollm2-135m-instruct-q8_0", "smollm2-135m-instruct.Q8_0.gguf")
    default: ("smollm2-135m-instruct-q4_0", "smollm2-135m-instruct.Q4_0.gguf")
    }
    let path = "\(root)/\(dir)/\(file)"
    if FileManager.default.fileExists(atPath: path) { return path }
    print("skipped: \(path) not fetched (run `bora models fetch \(dir)`)")
    return nil
}

private struct LogitsReference: Decodable {
    struct Position: Decodable { let pos: Int; let top_ids: [Int32]; let top_logits: [Float]; let next_id: Int32? }
    let token_ids: [Int32]
    let positions: [Position]
}

private struct GreedyReference: Decodable {
    struct Prompt: Decodable {
        let name: String; let prompt: String; let parse_special: Bool
        let prompt_ids: [Int32]; let generated_ids: [Int32]; let top2_margin: [Float]
    }
    let prompts: [Prompt]
}

private struct TokenReference: Decodable {
    struct Case: Decodable { let text: String; let add_bos: Bool; let parse_special: Bool; let ids: [Int32] }
    let cases: [Case]
}

private func load<T: Decodable>(_ name: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: llmFixtures.appendingPathComponent(name)))
}

private func session(_ path: String, threads: Int = 2, context: Int = 512) throws -> (LlamaSession, Tokenizer) {
    let file = try GGUFFile(path: path)
    let kernels = try KernelSet.named(nil)
    let model = try LlamaModel(file: file, kernels: kernels)
    return (try LlamaSession(model: model, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: threads)),
                             contextLength: context, maxBatch: 64), try Tokenizer(gguf: file))
}

@Suite("SmolLM2 vs llama.cpp", .serialized)
struct LlamaCppAgreementTests {
    @Test("top-1 agreement over a 256-token text", arguments: ["q4_1", "q8_0", "q4_0"])
    func topOneAgreement(variant: String) throws {
        guard let path = modelPath(variant) else { return }
        let reference: LogitsReference = try load("logits_\(variant).json")
        let (session, _) = try session(path)
        let vocab = session.model.config.vocabSize
        var logits = [Float](repeating: 0, count: reference.token_ids.count * vocab)
        try reference.token_ids.withUnsafeBufferPointer { tokens in
            try logits.withUnsafeMutableBufferPointer { _ = try session.evaluate(tokens, allLogits: $0.baseAddress!) }
        }
        var agree = 0, clear = 0, clearAgree = 0
        var disagreements: [String] = [], widestMargin: Float = 0
        for p in reference.positions {
            let row = logits[(p.pos * vocab)..<((p.pos + 1) * vocab)]
            let best = Int32(row.indices.max { row[$0] < row[$1] }! - p.pos * vocab)
            let margin = p.top_logits[0] - p.top_logits[1]
            if margin >= 0.5 { clear += 1 }
            if best == p.top_ids[0] {
                agree += 1
                if margin >= 0.5 { clearAgree += 1 }
            } else {
                disagreements.append("pos \(p.pos): Bora \(best), llama.cpp \(p.top_ids[0]) (llama.cpp margin \(margin))")
                widestMargin = max(widestMargin, margin)
            }
        }
        let rate = Double(agree) / Double(reference.positions.count)
        print("\(variant): top-1 agreement \(agree)/\(reference.positions.count) = \(String(format: "%.2f", rate * 100)) %, \(clearAgree)/\(clear) where llama.cpp's margin ≥ 0.5; \(disagreements.joined(separator: "; "))")
        // Where llama.cpp's top-2 margin is ≥ 0.5 the answer is not a numerical near-tie: all must agree.
        #expect(clearAgree == clear, "\(variant): \(disagreements.joined(separator: "; "))")
        if variant == "q8_0" {
            // x8 order in the layers (see the top of this file): 248/256 here, flips at margins ≤ 0.15
            #expect(rate >= 0.95, "\(variant): top-1 agreement \(rate)")
            #expect(widestMargin < 0.25, "\(variant): a top-1 differs where llama.cpp's margin is \(widestMargin)")
        } else {
            // Every operation runs in llama.cpp's x86 order (activation quantizer, dot order per weight
            // type — Q4_0 as llama.cpp's repacked 8x8 kernels — f16 attention, exp, rmsnorm, rope):
            // ≥ 99 %, the issue's target (all 256 positions agree for each file here).
            #expect(rate >= 0.99, "\(variant): top-1 agreement \(rate)")
        }
    }

    @Test("full logits of the first positions: Bora is at least as close to exact float64 math as llama.cpp (Q4_1)")
    func rawLogits() throws {
        guard let path = modelPath("q4_1") else { return }
        let reference: LogitsReference = try load("logits_q4_1.json")
        let exactData = try Data(contentsOf: llmFixtures.appendingPathComponent("exact_q4_1_first4.f16.bin"))
        let llamaData = try Data(contentsOf: llmFixtures.appendingPathComponent("logits_q4_1_first4.f16.bin"))
        let (session, _) = try session(path)
        let vocab = session.model.config.vocabSize, positions = 4
        #expect(exactData.count == positions * vocab * 2 && llamaData.count == 4 * vocab * 2)
        var logits = [Float](repeating: 0, count: positions * vocab)
        try Array(reference.token_ids.prefix(positions)).withUnsafeBufferPointer { tokens in
            try logits.withUnsafeMutableBufferPointer { _ = try session.evaluate(tokens, allLogits: $0.baseAddress!) }
        }
        func rms(_ a: (Int) -> Float, _ b: (Int) -> Float, count: Int) -> (rms: Double, max: Float) {
            var sumSq = 0.0, worst: Float = 0
            for i in 0..<count { let d = abs(a(i) - b(i)); worst = max(worst, d); sumSq += Double(d * d) }
            return ((sumSq / Double(count)).squareRoot(), worst)
        }
        let exact = { (i: Int) in exactData.withUnsafeBytes { FloatBits.f16ToF32($0.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) } }
        let llama = { (i: Int) in llamaData.withUnsafeBytes { FloatBits.f16ToF32($0.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) } }
        let bora = { (i: Int) in logits[i] }
        let boraVsExact = rms(bora, exact, count: positions * vocab)
        let llamaVsExact = rms(llama, exact, count: positions * vocab)
        let boraVsLlama = rms(bora, llama, count: positions * vocab)
        print("logits (RMS, max |Δ|): Bora–exact \(boraVsExact), llama.cpp–exact \(llamaVsExact), Bora–llama.cpp \(boraVsLlama)")
        // llama.cpp's logits were stored as f16: where the computations agree bit for bit, Bora's
        // logit rounded to f16 is the stored value. They do, for every logit.
        for p in 0..<positions {
            var same = 0
            llamaData.withUnsafeBytes { raw in
                for i in 0..<vocab where FloatBits.f32ToF16(logits[p * vocab + i]) == raw.loadUnaligned(fromByteOffset: 2 * (p * vocab + i), as: UInt16.self) {
                    same += 1
                }
            }
            print("position \(p): \(same)/\(vocab) logits equal to llama.cpp's after rounding to f16")
            #expect(same == vocab, "position \(p): \(vocab - same) logits differ from llama.cpp's after rounding to f16")
        }
        // Both quantize activations to 8 bits, so neither matches exact math; Bora must not be worse.
        #expect(boraVsExact.rms <= llamaVsExact.rms * 1.1)
        #expect(boraVsLlama.rms <= 0.25)
        // The exact top-1 of each position is Bora's top-1.
        for p in 0..<positions {
            let e = (0..<vocab).max { exact(p * vocab + $0) < exact(p * vocab + $1) }!
            let b = (0..<vocab).max { logits[p * vocab + $0] < logits[p * vocab + $1] }!
            #expect(e == b, "position \(p): exact top-1 \(e), Bora \(b)")
        }
    }

    @Test("top-1 vs exact float64 math over 256 positions: Bora at least as faithful as llama.cpp (Q4_1)")
    func exactAgreement() throws {
        guard let path = modelPath("q4_1") else { return }
        struct Exact: Decodable { struct Top: Decodable { let ids: [Int32]; let logits: [Float] }; let tokens: [Int32]; let top5: [Top] }
        let exact: Exact = try load("exact_q4_1.json")
        let reference: LogitsReference = try load("logits_q4_1.json")
        let (session, _) = try session(path)
        let vocab = session.model.config.vocabSize
        var logits = [Float](repeating: 0, count: reference.token_ids.count * vocab)
        try reference.token_ids.withUnsafeBufferPointer { tokens in
            try logits.withUnsafeMutableBufferPointer { _ = try session.evaluate(tokens, allLogits: $0.baseAddress!) }
        }
        var bora = 0, llama = 0
        for (p, top) in exact.top5.enumerated() {
            let row = logits[(p * vocab)..<((p + 1) * vocab)]
            if Int32(row.indices.max { row[$0] < row[$1] }! - p * vocab) == top.ids[0] { bora += 1 }
            if reference.positions[p].top_ids[0] == top.ids[0] { llama += 1 }
        }
        print("top-1 agreement with exact float64 math: Bora \(bora)/\(exact.top5.count), llama.cpp \(llama)/\(exact.top5.count)")
        #expect(bora >= llama)
    }

    /// Both decode attention schemes (by heads below `splitAttentionFrom` cached positions, by
    /// positions and rows from there): 1 puts every decode step of these prompts on the split.
    @Test("greedy continuations equal llama.cpp's", arguments: [256, 1])
    func greedyContinuations(splitAttentionFrom: Int) throws {
        guard let path = modelPath("q4_1") else { return }
        let reference: GreedyReference = try load("greedy_q4_1.json")
        let (session, tokenizer) = try session(path)
        session.splitAttentionFrom = splitAttentionFrom
        let sampler = Sampler(options: .greedy, vocabSize: session.model.config.vocabSize, kernels: session.matmul.kernels)
        for prompt in reference.prompts {
            session.reset()
            #expect(tokenizer.encode(prompt.prompt, addSpecial: true, parseSpecial: prompt.parse_special) == prompt.prompt_ids)
            var logits = try session.evaluate(prompt.prompt_ids)
            var generated: [Int32] = []
            for _ in 0..<prompt.generated_ids.count {
                let token = sampler.sample(logits)
                generated.append(token)
                logits = try session.evaluate([token])
            }
            if let i = generated.indices.first(where: { generated[$0] != prompt.generated_ids[$0] }) {
                let message = "\(prompt.name): diverges at step \(i) (Bora \(generated[i]), llama.cpp \(prompt.generated_ids[i])); llama.cpp's top-2 margin there: \(prompt.top2_margin[i])"
                print(message)
                Issue.record("\(message)")
            } else {
                print("\(prompt.name): all \(generated.count) greedy tokens identical to llama.cpp")
            }
        }
    }

    @Test("decode attention split by positions and rows, over a V cache in 32-position blocks, gives the logits of the split by heads over one block, bit for bit")
    func splitAttentionKeepsLogits() throws {
        guard let path = modelPath("q4_1") else { return }
        let reference: GreedyReference = try load("greedy_q4_1.json")
        let prompt = reference.prompts[0].prompt_ids, steps = reference.prompts[0].generated_ids
        let (plain, _) = try session(path)
        let blocked = try LlamaSession(model: plain.model, matmul: plain.matmul, contextLength: 512, maxBatch: 64,
                                       experts: nil, valueBlockLimit: 32)
        let vocab = plain.model.config.vocabSize
        func logits(_ session: LlamaSession, splitFrom: Int) throws -> [UInt32] {
            session.splitAttentionFrom = splitFrom
            try session.evaluate(prompt)
            var out: [UInt32] = []
            for token in steps {   // llama.cpp's greedy tokens: both runs see the same inputs
                let l = try session.evaluate([token])
                out += (0..<vocab).map { l[$0].bitPattern }
            }
            return out
        }
        let byHeads = try logits(plain, splitFrom: .max), split = try logits(blocked, splitFrom: 1)
        #expect(prompt.count + steps.count > 64, "the decode steps reach the third V block")
        // the first difference only (an array diff of 1.2 M logits would take minutes to print)
        if let i = byHeads.indices.first(where: { split[$0] != byHeads[$0] }) {
            Issue.record("step \(i / vocab), token \(i % vocab): \(Float(bitPattern: split[i])) vs \(Float(bitPattern: byHeads[i]))")
        }
        #expect(split.count == byHeads.count && split.count == steps.count * vocab)
    }

    @Test("tokenization equals llama.cpp's")
    func tokenization() throws {
        guard let path = modelPath("q4_1") else { return }
        let reference: TokenReference = try load("tokens_smollm2.json")
        let tokenizer = try Tokenizer(gguf: try GGUFFile(path: path))
        for c in reference.cases {
            #expect(tokenizer.encode(c.text, addSpecial: c.add_bos, parseSpecial: c.parse_special) == c.ids, "\(c.text.prefix(40))")
        }
    }
}
