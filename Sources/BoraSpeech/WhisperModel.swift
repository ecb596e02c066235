import BoraCore
import BoraGGUF
import BoraText

/// A linear layer: `weight` (outputs rows × inputs cols) and an optional F32 bias of `outputs`.
struct Linear {
    let weight: TensorView
    let bias: UnsafePointer<Float>?
}

/// LayerNorm parameters (F32, `dim` each).
struct Norm {
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
}

struct EncoderLayer {
    let attentionNorm: Norm
    let query: Linear, key: Linear, value: Linear, output: Linear
    let ffnNorm: Norm
    let up: Linear, down: Linear
}

struct DecoderLayer {
    let attentionNorm: Norm
    let query: Linear, key: Linear, value: Linear, output: Linear
    let crossNorm: Norm
    let crossQuery: Linear, crossKey: Linear, crossValue: Linear, crossOutput: Linear
    let ffnNorm: Norm
    let up: Linear, down: Linear
}

/// A Whisper model (encoder–decoder transformer) from a GGUF written by tools/whisper/convert.py:
/// weights are zero-copy views into the mapping, except bias/norm/embedding vectors stored in a
/// type other than F32, which are converted once at load (`convertedBytes`). Immutable after init
/// and shareable by several `WhisperSession`s.
public final class WhisperModel: @unchecked Sendable {
    public let config: WhisperConfig
    public let file: GGUFFile
    /// Token ids → text (decode-only; `makeTokenizer()` builds the full encoder when needed).
    public let tokenizer: TokenDecoder
    let melFilters: UnsafePointer<Float>
    let conv1: Linear       // audioDim rows × (melCount·3)
    let conv2: Linear       // audioDim rows × (audioDim·3)
    let encoderPositions: UnsafePointer<Float>  // audioContext × audioDim
    let encoderLayers: [EncoderLayer]
    let encoderNorm: Norm
    let tokenEmbedding: TensorView              // vocab rows × textDim (also the output projection)
    let decoderPositions: UnsafePointer<Float>  // textContext × textDim
    let decoderLayers: [DecoderLayer]
    let decoderNorm: Norm
    /// Bytes copied at load (non-F32 vectors converted to F32).
    public let convertedBytes: Int
    private let converted: [UnsafeMutablePointer<Float>]
    /// Every tensor the model reads (validated at init); `init(path:)` prefaults exactly these.
    public let usedTensors: [GGUFTensor]

    /// Validates every tensor (presence, shape, a type `kernels` can multiply) and builds views.
    /// Throws `SpeechError` naming the first problem, or the tokenizer's error.
    public init(file: GGUFFile, kernels: KernelSet) throws(SpeechError) {
        let config = try WhisperConfig(gguf: file)
        self.config = config
        self.file = file
        do { tokenizer = try TokenDecoder(gguf: file) } catch {
            throw .badMetadata(key: "tokenizer.ggml", reason: error.description)
        }
        var converted: [UnsafeMutablePointer<Float>] = []
        var convertedBytes = 0

        var used: [GGUFTensor] = []
        func tensor(_ name: String, _ shape: [Int]) throws(SpeechError) -> GGUFTensor {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.shape == shape else { throw .wrongShape(tensor: name, expected: shape, found: t.shape) }
            used.append(t)
            return t
        }
        func floats(_ name: String, _ shape: [Int]) throws(SpeechError) -> UnsafePointer<Float> {
            let t = try tensor(name, shape)
            if t.type == .f32 { return t.data.assumingMemoryBound(to: Float.self) }
            guard ReferenceKernels.dequantizableTypes.contains(t.type) else {
                throw .unsupportedTensorType(tensor: name, type: t.type.description, kernelSet: "dequantize")
            }
            let count = t.elementCount
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            ReferenceKernels.dequantize(t.type, t.data, p, count: count)
            converted.append(p)
            convertedBytes += count * 4
            return UnsafePointer(p)
        }
        func linear(_ name: String, inputs: Int, outputs: Int, bias: Bool?) throws(SpeechError) -> Linear {
            let t = try tensor(name + ".weight", [inputs, outputs])
            guard kernels.supports(t.type) else {
                throw .unsupportedTensorType(tensor: name + ".weight", type: t.type.description, kernelSet: kernels.name)
            }
            let w = TensorView(type: t.type, data: t.data, cols: inputs, rows: outputs)
            // bias: true = required, nil = optional (Whisper's key projections have none).
            if bias == true || (bias == nil && file.tensor(named: name + ".bias") != nil) {
                return Linear(weight: w, bias: try floats(name + ".bias", [outputs]))
            }
            return Linear(weight: w, bias: nil)
        }
        func norm(_ name: String, _ dim: Int) throws(SpeechError) -> Norm {
            Norm(weight: try floats(name + ".weight", [dim]), bias: try floats(name + ".bias", [dim]))
        }

        let d = config.audioDim, ff = 4 * d
        let bins = config.fftSize / 2 + 1
        melFilters = try floats("mel_filters", [bins, config.melCount])
        conv1 = try linear("enc.conv1", inputs: config.melCount * 3, outputs: d, bias: true)
        conv2 = try linear("enc.conv2", inputs: d * 3, outputs: d, bias: true)
        encoderPositions = try floats("enc.position_embd", [d, config.audioContext])
        var enc: [EncoderLayer] = []
        for i in 0..<config.audioLayers {
            let p = "enc.blk.\(i)."
            let ffn = file.tensor(named: p + "ffn_up.weight")?.shape.last ?? ff  // linear() checks the shape
            enc.append(EncoderLayer(
                attentionNorm: try norm(p + "attn_norm", d),
                query: try linear(p + "attn_q", inputs: d, outputs: d, bias: true),
                key: try linear(p + "attn_k", inputs: d, outputs: d, bias: nil),
                value: try linear(p + "attn_v", inputs: d, outputs: d, bias: true),
                output: try linear(p + "attn_out", inputs: d, outputs: d, bias: true),
                ffnNorm: try norm(p + "ffn_norm", d),
                up: try linear(p + "ffn_up", inputs: d, outputs: ffn, bias: true),
                down: try linear(p + "ffn_down", inputs: ffn, outputs: d, bias: true)))
        }
        encoderLayers = enc
        encoderNorm = try norm("enc.norm", d)

        let e = try tensor("dec.token_embd.weight", [d, config.vocabSize])
        guard kernels.supports(e.type), ReferenceKernels.dequantizableTypes.contains(e.type) else {
            throw .unsupportedTensorType(tensor: "dec.token_embd.weight", type: e.type.description, kernelSet: kernels.name)
        }
        tokenEmbedding = TensorView(type: e.type, data: e.data, cols: d, rows: config.vocabSize)
        decoderPositions = try floats("dec.position_embd", [d, config.textContext])
        var dec: [DecoderLayer] = []
        for i in 0..<config.textLayers {
            let p = "dec.blk.\(i)."
            let ffn = file.tensor(named: p + "ffn_up.weight")?.shape.last ?? ff  // linear() checks the shape
            dec.append(DecoderLayer(
                attentionNorm: try norm(p + "attn_norm", d),
                query: try linear(p + "attn_q", inputs: d, outputs: d, bias: true),
                key: try linear(p + "attn_k", inputs: d, outputs: d, bias: nil),
                value: try linear(p + "attn_v", inputs: d, outputs: d, bias: true),
                output: try linear(p + "attn_out", inputs: d, outputs: d, bias: true),
                crossNorm: try norm(p + "cross_norm", d),
                crossQuery: try linear(p + "cross_q", inputs: d, outputs: d, bias: true),
                crossKey: try linear(p + "cross_k", inputs: d, outputs: d, bias: nil),
                crossValue: try linear(p + "cross_v", inputs: d, outputs: d, bias: true),
                crossOutput: try linear(p + "cross_out", inputs: d, outputs: d, bias: true),
                ffnNorm: try norm(p + "ffn_norm", d),
                up: try linear(p + "ffn_up", inputs: d, outputs: ffn, bias: true),
                down: try linear(p + "ffn_down", inputs: ffn, outputs: d, bias: true)))
        }
        decoderLayers = dec
        decoderNorm = try norm("dec.norm", d)
        self.converted = converted
        self.usedTensors = used
        self.convertedBytes = convertedBytes
    }

    deinit { for p in converted { p.deallocate() } }

    /// The full tokenizer (text → token ids as well), built on demand: context compilers need it,
    /// transcription does not. Several megabytes; keep it only while compiling.
    public func makeTokenizer() throws(TokenizerError) -> Tokenizer { try Tokenizer(gguf: file) }

    /// Loads a Whisper GGUF from `path` (mapped read-only) with the given kernel set.
    public convenience init(path: String, kernels: KernelSet) throws(SpeechError) {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch {
            throw .badMetadata(key: "file", reason: "\(path): \(error.description)")
        }
        try self.init(file: file, kernels: kernels)
        file.prefault(usedTensors)   // the tensors the model reads, never the rest of the file
    }

    /// Width of the feed-forward layers (4 × dim for every Whisper size).
    var ffnDim: Int { encoderLayers.first?.up.weight.rows ?? 4 * config.audioDim }

    /// Total bytes of the weight tensors the forward passes read.
    public var weightBytes: Int {
        var total = conv1.weight.byteCount + conv2.weight.byteCount + tokenEmbedding.byteCount
        for l in encoderLayers {
            total += l.query.weight.byteCount + l.key.weight.byteCount + l.value.weight.byteCount
            total += l.output.weight.byteCount + l.up.weight.byteCount + l.down.weight.byteCount
        }
        for l in decoderLayers {
            total += l.query.weight.byteCount + l.key.weight.byteCount + l.value.weight.byteCount
            total += l.output.weight.byteCount + l.up.weight.byteCount + l.down.weight.byteCount
            total += l.crossQuery.weight.byteCount + l.crossKey.weight.byteCount
            total += l.crossValue.weight.byteCount + l.crossOutput.weight.byteCount
        }
        return total
    }
}

extension WhisperSession {
    /// Loads the Whisper GGUF at `path` for `kernels` and reserves a session on a pool of
    /// `threads` (default `ThreadPool.defaultThreadCount`) for beams up to `maxBeam`. Throws the
    /// model's `SpeechError` (an unreadable file is `.format(.badMetadata(key: "file", …))`).
    public convenience init(path: String, kernels: KernelSet, threads: Int? = nil, maxBeam: Int) throws(SpeechError) {
        let model = try WhisperModel(path: path, kernels: kernels)
        let pool = ThreadPool(threads: threads ?? ThreadPool.defaultThreadCount)
        self.init(model: model, matmul: Matmul(kernels: kernels, pool: pool), maxBeam: maxBeam)
    }
}
