import BoraCore
import BoraGGUF

/// Why a model file cannot be run. Each description is one line saying what to do.
public enum LlamaError: BoraInputError, Equatable, ModelFormatReporting {
    /// The file is not a llama model Bora can run (`.missingTensor(…)` and the other
    /// `ModelFormatReporting` members make these).
    case format(ModelFormatError)
    case contextTooLong(requested: Int, maximum: Int)
    case contextFull(position: Int, adding: Int, capacity: Int)
    case tokenOutOfRange(Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .format(error):
            return error.description
        case let .contextTooLong(requested, maximum):
            return "context length \(requested) exceeds the model's trained maximum \(maximum); pass -c \(maximum) or less"
        case let .contextFull(position, adding, capacity):
            return "context full: \(position) tokens + \(adding) new exceed -c \(capacity); use a larger -c or a shorter prompt"
        case let .tokenOutOfRange(id, size):
            return "token id \(id) is outside the vocabulary (size \(size))"
        }
    }

    public static var modelFamily: ModelFormatError.Family { .llama }
}

/// Hyper-parameters of a llama-architecture model, read from GGUF metadata (`llama.*` keys as
/// llama.cpp writes them).
public struct LlamaConfig: Sendable, Equatable {
    public let dim: Int
    public let layerCount: Int
    public let headCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    /// Feed-forward hidden size; for a Mixture-of-Experts model, the size of one expert.
    public let ffnDim: Int
    /// Experts per layer (`llama.expert_count`); 0 for a dense model.
    public let expertCount: Int
    /// Experts each token uses (`llama.expert_used_count`); 0 for a dense model.
    public let expertUsedCount: Int
    public let vocabSize: Int
    /// The context length the model was trained for (`llama.context_length`).
    public let trainedContextLength: Int
    public let ropeBase: Float
    public let ropeDim: Int
    /// Positions are multiplied by this before rotation (1 / linear scaling factor).
    public let ropeFrequencyScale: Float
    public let rmsEps: Float

    public var kvDim: Int { kvHeadCount * headDim }
    /// True for a Mixture-of-Experts model.
    public var isMixtureOfExperts: Bool { expertCount > 0 }

    public init(gguf: GGUFFile) throws(LlamaError) {
        let arch = gguf.architecture ?? "(none)"
        guard arch == "llama" else { throw .unsupportedArchitecture(arch) }
        func int(_ key: String) throws(LlamaError) -> Int {
            guard let value = gguf.metadata[key] else { throw .missingMetadata(key) }
            guard let v = value.int, v > 0, v < 1 << 24 else { throw .badMetadata(key: key, reason: "\(value) is not a positive count") }
            return v
        }
        func float(_ key: String, default d: Float) throws(LlamaError) -> Float {
            guard let value = gguf.metadata[key] else { return d }
            guard let v = value.float, v.isFinite, v > 0 else { throw .badMetadata(key: key, reason: "\(value) is not a positive number") }
            return v
        }
        dim = try int("llama.embedding_length")
        layerCount = try int("llama.block_count")
        headCount = try int("llama.attention.head_count")
        kvHeadCount = gguf.metadata["llama.attention.head_count_kv"] == nil ? headCount : try int("llama.attention.head_count_kv")
        ffnDim = try int("llama.feed_forward_length")
        trainedContextLength = try int("llama.context_length")
        if gguf.metadata["llama.expert_count"] == nil || gguf.metadata["llama.expert_count"]?.int == 0 {
            expertCount = 0; expertUsedCount = 0
        } else {
            expertCount = try int("llama.expert_count")
            expertUsedCount = try int("llama.expert_used_count")
            guard expertCount <= 256 else { throw .badMetadata(key: "llama.expert_count", reason: "\(expertCount) experts is more than 256") }
            guard expertUsedCount <= expertCount else {
                throw .badMetadata(key: "llama.expert_used_count", reason: "\(expertUsedCount) exceeds llama.expert_count \(expertCount)")
            }
        }
        guard dim % headCount == 0 else { throw .badMetadata(key: "llama.attention.head_count", reason: "\(headCount) does not divide embedding length \(dim)") }
        guard headCount % kvHeadCount == 0 else { throw .badMetadata(key: "llama.attention.head_count_kv", reason: "\(kvHeadCount) does not divide head count \(headCount)") }
        headDim = dim / headCount
        ropeDim = gguf.metadata["llama.rope.dimension_count"] == nil ? headDim : try int("llama.rope.dimension_count")
        guard ropeDim <= headDim, ropeDim % 2 == 0 else { throw .badMetadata(key: "llama.rope.dimension_count", reason: "\(ropeDim) must be even and ≤ head size \(headDim)") }
        ropeBase = try float("llama.rope.freq_base", default: 10000)
        rmsEps = try float("llama.attention.layer_norm_rms_epsilon", default: 1e-5)
        let scalingType = gguf.metadata["llama.rope.scaling.type"]?.string ?? "none"
        switch scalingType {
        case "none":
            ropeFrequencyScale = 1 / (try float("llama.rope.scale_linear", default: 1))
        case "linear":
            ropeFrequencyScale = 1 / (try float("llama.rope.scaling.factor", default: 1))
        default:
            throw .badMetadata(key: "llama.rope.scaling.type", reason: "'\(scalingType)' scaling is not supported (none, linear)")
        }
        guard let embedding = gguf.tensor(named: "token_embd.weight") else { throw .missingTensor("token_embd.weight") }
        guard embedding.shape.count == 2, embedding.shape[0] == dim else {
            throw .wrongShape(tensor: "token_embd.weight", expected: [dim, -1], found: embedding.shape)
        }
        vocabSize = embedding.shape[1]
    }
}

extension LlamaConfig {
    /// The one-line message for a prompt of `promptTokens` plus `generate` new tokens that does not
    /// fit a session made with `-c requested`: it names the limit that was hit and where it comes
    /// from — `-c` itself, or the model's trained context (`llama.context_length` in the GGUF
    /// metadata), which caps `-c` — and what to change.
    public func contextOverflowMessage(promptTokens: Int, generate: Int, requested: Int) -> String {
        let need = "prompt (\(promptTokens) tokens) + -n \(generate) = \(promptTokens + generate) tokens"
        if requested > trainedContextLength {
            return "\(need) exceed the model's context of \(trainedContextLength) tokens (llama.context_length in its GGUF metadata; -c \(requested) is capped to it); shorten the prompt or lower -n"
        }
        return "\(need) exceed the context (-c \(requested)); raise -c (the model allows up to \(trainedContextLength)) or lower -n"
    }
}
