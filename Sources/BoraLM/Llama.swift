import BoraCore
import BoraGGUF

/// The weights of one transformer block: views into the mapped GGUF (ggml order: a matrix with
/// shape [in, out] is `out` rows of `in` columns).
struct LlamaLayer {
    let attentionNorm: UnsafePointer<Float>  // (dim)
    let query: TensorView                    // (dim → heads·headDim)
    let key: TensorView                      // (dim → kvHeads·headDim)
    let value: TensorView                    // (dim → kvHeads·headDim)
    let attentionOutput: TensorView          // (heads·headDim → dim)
    let ffnNorm: UnsafePointer<Float>        // (dim)
    let gate: TensorView                     // (dim → ffn)
    let up: TensorView                       // (dim → ffn)
    let down: TensorView                     // (ffn → dim)
}

/// A llama-architecture model (llama.cpp's LLM_ARCH_LLAMA): RMSNorm, rotary embeddings on adjacent
/// pairs, grouped-query attention, SwiGLU feed-forward, tied or separate output embedding.
///
/// Weights are zero-copy views into the file's mapping; the only copies are norm vectors stored
/// in a type other than F32, converted once at load (`convertedBytes`). Immutable after init and
/// shareable by several `LlamaSession`s.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let file: GGUFFile
    let tokenEmbedding: TensorView  // (vocab rows of dim)
    let output: TensorView          // (vocab rows of dim), token_embd when tied
    let outputNorm: UnsafePointer<Float>
    let layers: [LlamaLayer]
    /// True when the file has no `output.weight` and logits use the token embedding.
    public let tiedOutput: Bool
    /// Bytes copied at load (non-F32 norm vectors converted to F32).
    public let convertedBytes: Int
    private let converted: [UnsafeMutablePointer<Float>]

    /// Validates every tensor the architecture needs (presence, shape, a type `kernels` can
    /// multiply) and builds views. Throws `LlamaError` naming the first problem.
    public init(file: GGUFFile, kernels: KernelSet) throws(LlamaError) {
        let config = try LlamaConfig(gguf: file)
        self.config = config
        self.file = file
        var converted: [UnsafeMutablePointer<Float>] = []
        var convertedBytes = 0

        func tensor(_ name: String, _ shape: [Int]) throws(LlamaError) -> GGUFTensor {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.shape == shape else { throw .wrongShape(tensor: name, expected: shape, found: t.shape) }
            return t
        }
        func matrix(_ name: String, inputs: Int, outputs: Int) throws(LlamaError) -> TensorView {
            let t = try tensor(name, [inputs, outputs])
            guard kernels.supports(t.type) else {
                throw .unsupportedTensorType(tensor: name, type: t.type.description, kernelSet: kernels.name)
            }
            return TensorView(type: t.type, data: t.data, cols: inputs, rows: outputs)
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
            let layer = LlamaLayer(
                attentionNorm: try vector(p + "attn_norm.weight", d),
                query: try matrix(p + "attn_q.weight", inputs: d, outputs: qd),
                key: try matrix(p + "attn_k.weight", inputs: d, outputs: kv),
                value: try matrix(p + "attn_v.weight", inputs: d, outputs: kv),
                attentionOutput: try matrix(p + "attn_output.weight", inputs: qd, outputs: d),
                ffnNorm: try vector(p + "ffn_norm.weight", d),
                gate: try matrix(p + "ffn_gate.weight", inputs: d, outputs: ff),
                up: try matrix(p + "ffn_up.weight", inputs: d, outputs: ff),
                down: try matrix(p + "ffn_down.weight", inputs: ff, outputs: d))
            // Fused Q/K/V and gate/up matmuls need one type per group.
            guard layer.query.type == layer.key.type, layer.key.type == layer.value.type else {
                throw .unsupportedTensorType(tensor: p + "attn_k.weight", type: "\(layer.key.type) mixed with \(layer.query.type)", kernelSet: kernels.name)
            }
            guard layer.gate.type == layer.up.type else {
                throw .unsupportedTensorType(tensor: p + "ffn_up.weight", type: "\(layer.up.type) mixed with \(layer.gate.type)", kernelSet: kernels.name)
            }
            layers.append(layer)
        }
        self.layers = layers
        self.converted = converted
        self.convertedBytes = convertedBytes
    }

    deinit { for p in converted { p.deallocate() } }

    /// Total bytes of the weight tensors the forward pass reads.
    public var weightBytes: Int {
        var total = tiedOutput ? 0 : output.byteCount
        for l in layers {
            total += l.query.byteCount + l.key.byteCount + l.value.byteCount + l.attentionOutput.byteCount
            total += l.gate.byteCount + l.up.byteCount + l.down.byteCount
        }
        return total + tokenEmbedding.byteCount
    }

    /// All weight types the matmuls use (to size activation scratch).
    var matmulTypes: Set<QuantType> {
        var types: Set<QuantType> = [output.type]
        for l in layers { types.formUnion([l.query.type, l.attentionOutput.type, l.gate.type, l.down.type]) }
        return types
    }
}
