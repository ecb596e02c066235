import BoraCore

/// Why a GGUF file does not hold the model a loader expects — the checks every loader makes
/// (architecture, metadata, tensors present, their shapes and types). One type for all model
/// families; `description` is one line phrased for `family`, naming the tool that makes that
/// family's files. Loaders throw it wrapped in their own error (`ModelFormatReporting`).
public struct ModelFormatError: BoraInputError, Equatable, Sendable {
    /// The kind of model the loader expected.
    public enum Family: Sendable, Equatable {
        /// A llama-architecture LLM (llama.cpp's conversion).
        case llama
        /// A Whisper model made by tools/whisper/convert.py.
        case whisper
        /// Silero VAD made by tools/vad/convert.py.
        case sileroVAD
    }

    /// What is wrong with the file.
    public enum Problem: Sendable, Equatable {
        /// `general.architecture` is not the family's.
        case unsupportedArchitecture(String)
        /// A required metadata key is absent.
        case missingMetadata(String)
        /// A metadata value is out of range or inconsistent with another.
        case badMetadata(key: String, reason: String)
        /// A required tensor is absent.
        case missingTensor(String)
        /// A tensor's shape differs from the one the metadata implies.
        case wrongShape(tensor: String, expected: [Int], found: [Int])
        /// A tensor's type cannot be used by the named kernel set (or by "dequantize").
        case unsupportedTensorType(tensor: String, type: String, kernelSet: String)
    }

    public let family: Family
    public let problem: Problem

    public init(_ family: Family, _ problem: Problem) {
        self.family = family
        self.problem = problem
    }

    public var description: String {
        switch (family, problem) {
        case let (.llama, .unsupportedArchitecture(arch)):
            return "model architecture '\(arch)' is not supported (Bora runs 'llama'); pick a llama-family GGUF"
        case let (.llama, .missingMetadata(key)):
            return "model metadata lacks '\(key)'; the GGUF is incomplete, re-convert it with a current llama.cpp"
        case let (.llama, .badMetadata(key, reason)):
            return "model metadata '\(key)' is invalid: \(reason); re-convert the model"
        case let (.llama, .missingTensor(name)):
            return "model lacks tensor '\(name)'; the GGUF is incomplete or not a llama model"
        case let (.llama, .wrongShape(tensor, expected, found)):
            return "tensor '\(tensor)' has shape \(found), expected \(expected) from the model's metadata; the GGUF is inconsistent"
        case let (.llama, .unsupportedTensorType(tensor, type, set)):
            return "tensor '\(tensor)' is \(type), which the \(set) kernels cannot multiply; re-quantize to Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K, F16 or F32"

        case let (.whisper, .unsupportedArchitecture(arch)):
            return "model architecture '\(arch)' is not a Whisper model; pass a GGUF made by tools/whisper/convert.py (e.g. --model whisper-tiny.en)"
        case let (.whisper, .missingMetadata(key)):
            return "Whisper model metadata lacks '\(key)'; re-convert it with tools/whisper/convert.py"
        case let (.whisper, .badMetadata(key, reason)):
            return "Whisper model metadata '\(key)' is invalid: \(reason); re-convert it with tools/whisper/convert.py"
        case let (.whisper, .missingTensor(name)):
            return "Whisper model lacks tensor '\(name)'; the GGUF is incomplete, re-convert it with tools/whisper/convert.py"
        case let (.whisper, .wrongShape(tensor, expected, found)):
            return "tensor '\(tensor)' has shape \(found), expected \(expected) from the model's metadata; re-convert the model"
        case let (.whisper, .unsupportedTensorType(tensor, type, set)):
            return "tensor '\(tensor)' is \(type), which the \(set) kernels cannot use; convert with --type f16, q8_0 or q4_0"

        case let (.sileroVAD, .unsupportedArchitecture(arch)):
            return "model architecture '\(arch)' is not a VAD model (expected 'silero-vad'); convert with tools/vad/convert.py"
        case let (.sileroVAD, .missingMetadata(key)):
            return "VAD model metadata lacks '\(key)'; re-convert it with tools/vad/convert.py"
        case let (.sileroVAD, .badMetadata(key, reason)):
            return "VAD model metadata '\(key)' is invalid: \(reason); re-convert it with tools/vad/convert.py"
        case let (.sileroVAD, .missingTensor(name)):
            return "VAD model lacks tensor '\(name)'; the GGUF is incomplete, re-convert it with tools/vad/convert.py"
        case let (.sileroVAD, .wrongShape(tensor, expected, found)):
            return "VAD tensor '\(tensor)' has shape \(found), expected \(expected); re-convert the model with tools/vad/convert.py"
        case let (.sileroVAD, .unsupportedTensorType(tensor, type, set)):
            return "VAD tensor '\(tensor)' is \(type), which the \(set) kernels cannot use; re-convert the model with tools/vad/convert.py"
        }
    }
}

/// A loader's error type that carries `ModelFormatError`s of one family (a `case format(…)`),
/// with the problems spelled as its own members: `throw .missingTensor(name)` inside a
/// `throws(LlamaError)` body makes `.format(ModelFormatError(.llama, .missingTensor(name)))`.
public protocol ModelFormatReporting: Error {
    /// The family whose wording the wrapped errors use.
    static var modelFamily: ModelFormatError.Family { get }
    /// Wraps a format error (an enum `case format(ModelFormatError)` satisfies this).
    static func format(_ error: ModelFormatError) -> Self
}

extension ModelFormatReporting {
    public static func unsupportedArchitecture(_ architecture: String) -> Self {
        format(ModelFormatError(modelFamily, .unsupportedArchitecture(architecture)))
    }
    public static func missingMetadata(_ key: String) -> Self {
        format(ModelFormatError(modelFamily, .missingMetadata(key)))
    }
    public static func badMetadata(key: String, reason: String) -> Self {
        format(ModelFormatError(modelFamily, .badMetadata(key: key, reason: reason)))
    }
    public static func missingTensor(_ name: String) -> Self {
        format(ModelFormatError(modelFamily, .missingTensor(name)))
    }
    public static func wrongShape(tensor: String, expected: [Int], found: [Int]) -> Self {
        format(ModelFormatError(modelFamily, .wrongShape(tensor: tensor, expected: expected, found: found)))
    }
    public static func unsupportedTensorType(tensor: String, type: String, kernelSet: String) -> Self {
        format(ModelFormatError(modelFamily, .unsupportedTensorType(tensor: tensor, type: type, kernelSet: kernelSet)))
    }
}
