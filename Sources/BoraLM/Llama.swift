import BoraCore
import BoraGGUF
import Synchronization

/// The weights of one transformer block: views into the mapped GGUF (ggml order: a matrix with
/// shape [in, out] is `out` rows of `in` columns).
struct LlamaLayer {
    let attentionNorm: UnsafePointer<Float>  // (dim)
    var query: TensorView                    // (dim → heads·headDim)
    var key: TensorView                      // (dim → kvHeads·headDim)
    var value: TensorView                    // (dim → kvHeads·headDim)
    var attentionOutput: TensorView          // (heads·headDim → dim)
    let ffnNorm: UnsafePointer<Float>        // (dim)
    var ffn: FeedForward
}

/// A block's feed-forward: one SwiGLU, or a Mixture of Experts.
enum FeedForward {
    case dense(gate: TensorView, up: TensorView, down: TensorView)  // (dim → ffn), (dim → ffn), (ffn → dim)
    case experts(ExpertWeights)
}

/// One per-expert matrix stacked over the experts, as GGUF stores `ffn_*_exps` (ggml shape
/// [cols, rows, experts]): expert e's `rows` rows start at `data + e · expertBytes`.
public struct ExpertTensor: @unchecked Sendable {
    public let type: QuantType
    public let data: UnsafeRawPointer
    public let cols: Int
    public let rows: Int
    public let count: Int
    /// Byte offset of expert 0 in the file.
    public let fileOffset: Int
    /// Bytes of one expert's matrix.
    public var expertBytes: Int { TensorView(type: type, data: data, cols: cols, rows: rows).byteCount }
    /// Expert `e` as a view into the mapping.
    public func view(_ e: Int) -> TensorView { TensorView(type: type, data: data + e * expertBytes, cols: cols, rows: rows) }
}

/// The Mixture-of-Experts feed-forward of one block (llama.cpp's LLM_ARCH_LLAMA with experts):
/// router `ffn_gate_inp` (dim → experts), then per expert a SwiGLU of `ffn_gate_exps`,
/// `ffn_up_exps` (dim → ffn) and `ffn_down_exps` (ffn → dim).
public struct ExpertWeights: @unchecked Sendable {
    public let router: TensorView
    public let gate: ExpertTensor
    public let up: ExpertTensor
    public let down: ExpertTensor
    /// Bytes of one expert (gate + up + down).
    public var expertBytes: Int { gate.expertBytes + up.expertBytes + down.expertBytes }
}

/// A llama-architecture model (llama.cpp's LLM_ARCH_LLAMA): RMSNorm, rotary embeddings on adjacent
/// pairs, grouped-query attention, SwiGLU feed-forward, tied or separate output embedding.
///
/// Weights are zero-copy views into the file's mapping; the only copies are norm vectors stored
/// in a type other than F32, converted once at load (`convertedBytes`), and the kernel-layout copies
/// of `repackWeights()`. Immutable after init apart from that one call, and shareable by several
/// `LlamaSession`s.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let file: GGUFFile
    let tokenEmbedding: TensorView  // (vocab rows of dim)
    private(set) var output: TensorView   // (vocab rows of dim), token_embd when tied
    let outputNorm: UnsafePointer<Float>
    private(set) var layers: [LlamaLayer]
    /// True when the file has no `output.weight` and logits use the token embedding.
    public let tiedOutput: Bool
    /// Bytes copied at load (non-F32 norm vectors converted to F32).
    public let convertedBytes: Int
    /// Matrices repacked into the kernel set's interleaved layout (Q4_0, Q8_0 on x86) by `repackWeights()`:
    /// their bytes, count and the time it took. Their GGUF pages are released from memory afterwards.
    public let repacked: RepackedWeights
    /// Types of the matrices marked at load for `repackWeights()` (empty when nothing will be repacked).
    public let plannedRepackTypes: Set<QuantType>
    /// True once `repackWeights()` has run (at init unless `repack: false`).
    public private(set) var isRepacked = false
    /// True while an `ExpertStore` has taken the experts out of the mapping (sessions must use it).
    let expertsUnmapped = Atomic<Bool>(false)
    private let converted: [UnsafeMutablePointer<Float>]
    /// Every tensor the model reads (validated at init): what `prefaultWeights()` faults in.
    public let usedTensors: [GGUFTensor]

    /// Validates every tensor the architecture needs (presence, shape, a type `kernels` can
    /// multiply) and builds views. Throws `LlamaError` naming the first problem. With `repack`
    /// (the default) it ends with `repackWeights()`; without, the caller may call it later.
    public init(file: GGUFFile, kernels: KernelSet, repack: Bool = true) throws(LlamaError) {
        let config = try LlamaConfig(gguf: file)
        self.config = config
        self.file = file
        var converted: [UnsafeMutablePointer<Float>] = []
        var convertedBytes = 0
        let matrices = file.tensors.filter { $0.shape.count == 2 }.map { (type: $0.type, cols: $0.shape[0], rows: $0.shape[1]) }
        let repacked = RepackedWeights(kernels: kernels, capacity: RepackedWeights.capacity(for: matrices, kernels: kernels))
        self.repacked = repacked

        var used: [GGUFTensor] = []
        func tensor(_ name: String, _ shape: [Int]) throws(LlamaError) -> GGUFTensor {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.shape == shape else { throw .wrongShape(tensor: name, expected: shape, found: t.shape) }
            used.append(t)
            return t
        }
        func matrix(_ name: String, inputs: Int, outputs: Int) throws(LlamaError) -> TensorView {
            let t = try tensor(name, [inputs, outputs])
            guard kernels.supports(t.type) else {
                throw .unsupportedTensorType(tensor: name, type: t.type.description, kernelSet: kernels.name)
            }
            return TensorView(type: t.type, data: t.data, cols: inputs, rows: outputs)
        }
        func experts(_ name: String, inputs: Int, outputs: Int) throws(LlamaError) -> ExpertTensor {
            let t = try tensor(name, [inputs, outputs, config.expertCount])
            guard kernels.supports(t.type) else {
                throw .unsupportedTensorType(tensor: name, type: t.type.description, kernelSet: kernels.name)
            }
            return ExpertTensor(type: t.type, data: t.data, cols: inputs, rows: outputs, count: config.expertCount,
                                fileOffset: file.dataOffset + t.offset)
        }
        func vector(_ name: String, _ count: Int) throws(LlamaError) -> UnsafePointer<Float> {
            let t = try tensor(name, [count])
            if t.type == .f32 { return t.data.assumingMemoryBound(to: Float.self) }
            guard ReferenceKernels.dequantizableTypes.contains(t.type) else {
                throw .unsupportedTensorType(tensor: name, type: t.type.description, kernelSet: "dequantize")
            }
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            ReferenceKernels.dequantize(t.type, t.data, p, count: count)
            converted.append(p)
            convertedBytes += count * 4
            return UnsafePointer(p)
        }

        let d = config.dim, kv = config.kvDim, ff = config.ffnDim, qd = config.headCount * config.headDim
        let embedding = try tensor("token_embd.weight", [d, config.vocabSize])
        guard ReferenceKernels.dequantizableTypes.contains(embedding.type) else {
            throw .unsupportedTensorType(tensor: "token_embd.weight", type: embedding.type.description, kernelSet: "dequantize")
        }
        tokenEmbedding = TensorView(type: embedding.type, data: embedding.data, cols: d, rows: config.vocabSize)
        if file.tensor(named: "output.weight") != nil {
            output = try matrix("output.weight", inputs: d, outputs: config.vocabSize)
            tiedOutput = false
        } else {
            guard kernels.supports(embedding.type) else {
                throw .unsupportedTensorType(tensor: "token_embd.weight", type: embedding.type.description, kernelSet: kernels.name)
            }
            output = tokenEmbedding
            tiedOutput = true
        }
        outputNorm = try vector("output_norm.weight", d)
        var layers: [LlamaLayer] = []
        for l in 0..<config.layerCount {
            let p = "blk.\(l)."
            let ffn: FeedForward
            if config.isMixtureOfExperts {
                let moe = ExpertWeights(router: try matrix(p + "ffn_gate_inp.weight", inputs: d, outputs: config.expertCount),
                                        gate: try experts(p + "ffn_gate_exps.weight", inputs: d, outputs: ff),
                                        up: try experts(p + "ffn_up_exps.weight", inputs: d, outputs: ff),
                                        down: try experts(p + "ffn_down_exps.weight", inputs: ff, outputs: d))
                guard moe.gate.type == moe.up.type else {
                    throw .unsupportedTensorType(tensor: p + "ffn_up_exps.weight", type: "\(moe.up.type) mixed with \(moe.gate.type)", kernelSet: kernels.name)
                }
                ffn = .experts(moe)
            } else {
                let gate = try matrix(p + "ffn_gate.weight", inputs: d, outputs: ff)
                let up = try matrix(p + "ffn_up.weight", inputs: d, outputs: ff)
                guard gate.type == up.type else {
                    throw .unsupportedTensorType(tensor: p + "ffn_up.weight", type: "\(up.type) mixed with \(gate.type)", kernelSet: kernels.name)
                }
                ffn = .dense(gate: gate, up: up, down: try matrix(p + "ffn_down.weight", inputs: ff, outputs: d))
            }
            let layer = LlamaLayer(
                attentionNorm: try vector(p + "attn_norm.weight", d),
                query: try matrix(p + "attn_q.weight", inputs: d, outputs: qd),
                key: try matrix(p + "attn_k.weight", inputs: d, outputs: kv),
                value: try matrix(p + "attn_v.weight", inputs: d, outputs: kv),
                attentionOutput: try matrix(p + "attn_output.weight", inputs: qd, outputs: d),
                ffnNorm: try vector(p + "ffn_norm.weight", d),
                ffn: ffn)
            // Fused Q/K/V matmuls need one type per group.
            guard layer.query.type == layer.key.type, layer.key.type == layer.value.type else {
                throw .unsupportedTensorType(tensor: p + "attn_k.weight", type: "\(layer.key.type) mixed with \(layer.query.type)", kernelSet: kernels.name)
            }
            layers.append(layer)
        }
        // Matrices to be repacked are marked now, so results do not change when the copies come.
        // The output matrix, and every matrix of a mixture-of-experts model (whose experts keep
        // the GGUF layout), is repacked only where that keeps llama.cpp's order (Q4_0, not Q8_0):
        // the Q4_1 file's Q8_0 embedding then still gives llama.cpp's logits bit for bit.
        let dense = !config.isMixtureOfExperts
        var plannedTypes = Set<QuantType>()
        var planned = output
        Self.mapMatrices(output: &planned, layers: &layers) { v, isOutput in
            let p = repacked.planned(v, allowOrderChange: dense && !isOutput)
            if p.packedOrder { plannedTypes.insert(p.type) }
            return p
        }
        output = planned
        plannedRepackTypes = plannedTypes
        self.layers = layers
        self.converted = converted
        self.convertedBytes = convertedBytes
        self.usedTensors = used
        if repack { repackWeights() }
    }

    /// Faults in the file pages of `usedTensors` now (`GGUFFile.prefault`), so the first forward pass
    /// takes no page faults, without reading padding or tensors the model does not use (a 2 GiB file
    /// of which the model uses 74 MB costs 74 MB of RSS). Call before `repackWeights()`; a model
    /// whose experts stay on storage (`ExpertStore`) should not call it.
    public func prefaultWeights() {
        file.prefault(usedTensors)
    }

    /// Copies every matrix the kernel set multiplies faster from an interleaved layout (2-D Q4_0
    /// and Q8_0 on x86; `RepackedWeights`) and points the views at the copies: same results, faster
    /// matmuls; ≈ 60 ms for SmolLM2-135M Q4_0, ≈ 80 ms for its Q8_0, on a 2-core VM. Once only (later calls return at
    /// once); a no-op for kernel sets that keep the GGUF layout or with `BORA_REPACK=0`. Must not
    /// run while a session evaluates. The embedding lookup keeps reading the GGUF rows of a tied
    /// output matrix (a few pages per token).
    public func repackWeights() {
        guard !isRepacked else { return }
        isRepacked = true
        Self.mapMatrices(output: &output, layers: &layers) { v, _ in v.packedOrder ? repacked.repack(v, releaseSource: true) : v }
    }

    /// Replaces the output matrix and every layer's matrices (attention, dense feed-forward, MoE
    /// router; not the experts) by `transform(view, isOutput)`.
    private static func mapMatrices(output: inout TensorView, layers: inout [LlamaLayer],
                                    _ transform: (TensorView, _ isOutput: Bool) -> TensorView) {
        output = transform(output, true)
        for l in layers.indices {
            var layer = layers[l]
            layer.query = transform(layer.query, false)
            layer.key = transform(layer.key, false)
            layer.value = transform(layer.value, false)
            layer.attentionOutput = transform(layer.attentionOutput, false)
            switch layer.ffn {
            case let .dense(gate, up, down):
                layer.ffn = .dense(gate: transform(gate, false), up: transform(up, false), down: transform(down, false))
            case let .experts(m):
                layer.ffn = .experts(ExpertWeights(router: transform(m.router, false), gate: m.gate, up: m.up, down: m.down))
            }
            layers[l] = layer
        }
    }

    /// Prompt length from which repacking before the prompt costs less than it saves on the prompt
    /// itself (else it is better done after the first token); Int.max when nothing is planned.
    /// Measured on SmolLM2-135M at 2 threads: Q4_0 ≈ 500 → 800 prompt t/s for a ≈ 60 ms repack
    /// (64 tokens); Q8_0 ≈ 550 → 760 t/s for ≈ 80 ms (160 tokens).
    public var repackBreakEvenTokens: Int {
        if plannedRepackTypes.isEmpty { return Int.max }
        return plannedRepackTypes.contains(.q8_0) ? 160 : 64
    }

    deinit { for p in converted { p.deallocate() } }

    /// Total bytes of the weight tensors (all experts included).
    public var weightBytes: Int { nonExpertWeightBytes + totalExpertBytes }

    /// Bytes of every weight tensor except the experts' (attention, norms aside, routers,
    /// embeddings, dense feed-forwards).
    public var nonExpertWeightBytes: Int {
        var total = tiedOutput ? 0 : output.byteCount
        for l in layers {
            total += l.query.byteCount + l.key.byteCount + l.value.byteCount + l.attentionOutput.byteCount
            switch l.ffn {
            case let .dense(gate, up, down): total += gate.byteCount + up.byteCount + down.byteCount
            case let .experts(m): total += m.router.byteCount
            }
        }
        return total + tokenEmbedding.byteCount
    }

    /// Bytes of the largest expert (gate + up + down of one expert of one layer; layers may use
    /// different types); 0 for a dense model.
    public var maxExpertBytes: Int {
        layers.indices.map { experts(layer: $0)?.expertBytes ?? 0 }.max() ?? 0
    }

    /// Bytes of all experts of all layers; 0 for a dense model.
    public var totalExpertBytes: Int {
        layers.indices.reduce(0) { $0 + (experts(layer: $1).map { $0.expertBytes * $0.gate.count } ?? 0) }
    }

    /// Experts over all layers (layers × experts per layer).
    public var expertCount: Int { config.isMixtureOfExperts ? config.layerCount * config.expertCount : 0 }

    /// The experts of `layer` (nil for a dense layer).
    public func experts(layer: Int) -> ExpertWeights? {
        if case let .experts(m) = layers[layer].ffn { return m }
        return nil
    }

    /// All weight types the matmuls use (to size activation scratch).
    var matmulTypes: Set<QuantType> {
        var types: Set<QuantType> = [output.type]
        for l in layers {
            types.formUnion([l.query.type, l.attentionOutput.type])
            switch l.ffn {
            case let .dense(gate, _, down): types.formUnion([gate.type, down.type])
            case let .experts(m): types.formUnion([m.router.type, m.gate.type, m.down.type])
            }
        }
        return types
    }
}
