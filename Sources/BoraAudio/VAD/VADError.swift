import BoraCore
import BoraGGUF

/// Why a voice-activity detector cannot be built or run. Each description is one line saying
/// what to do.
public enum VADError: BoraInputError, Equatable, ModelFormatReporting {
    /// The model file could not be opened or parsed as GGUF.
    case unreadableModel(path: String, reason: String)
    /// The file is not a Silero VAD model (`.missingTensor(…)` and the other
    /// `ModelFormatReporting` members make these).
    case format(ModelFormatError)
    case wrongTensorType(tensor: String, type: String)
    /// A frame passed to a detector does not have the detector's frame length.
    case wrongFrameLength(expected: Int, found: Int)
    /// An endpointer or energy-detector setting is out of range.
    case badSetting(name: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableModel(path, reason):
            return "cannot read VAD model \(path): \(reason); run `bora models fetch silero-vad` or pass --model PATH"
        case let .format(error):
            return error.description
        case let .wrongTensorType(tensor, type):
            return "VAD tensor '\(tensor)' is \(type), expected F32; re-convert the model with tools/vad/convert.py"
        case let .wrongFrameLength(expected, found):
            return "VAD frame has \(found) samples, expected \(expected) (16 kHz mono); split audio into \(expected)-sample frames"
        case let .badSetting(name, reason):
            return "VAD setting \(name) is invalid: \(reason)"
        }
    }

    public static var modelFamily: ModelFormatError.Family { .sileroVAD }
}

/// A per-frame speech probability source over 16 kHz mono Float32 audio. A detector is a
/// stateful stream: frames must be passed in order; `reset()` starts a new stream. Not
/// thread-safe: one stream per instance.
public protocol VoiceActivityDetector: AnyObject {
    /// Samples per frame (512 for Silero and the energy detector: 32 ms at 16 kHz).
    var frameSamples: Int { get }
    /// Forgets all stream state (recurrent state, context samples, noise floor).
    func reset()
    /// Speech probability in [0, 1] of the next `frameSamples` samples. Allocates nothing.
    func probability(frame: UnsafeBufferPointer<Float>) throws(VADError) -> Float
}
