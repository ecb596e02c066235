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
    /// The model declares a sample rate (`silero-vad.sample_rate`) other than the one BoraAudio
    /// delivers (`supported`, `AudioClip.sampleRate`); the model is refused at load.
    case unsupportedSampleRate(declared: Int, supported: Int)
    /// `what` (audio, a speech model) is at `found` Hz, but the detector runs at `expected` Hz.
    case wrongSampleRate(expected: Int, found: Int, what: String)

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
        case let .unsupportedSampleRate(declared, supported):
            return "VAD model declares silero-vad.sample_rate \(declared) Hz, but Bora's audio is \(supported) Hz; use a \(supported) Hz model (tools/vad/convert.py)"
        case let .wrongSampleRate(expected, found, what):
            return "\(what) is at \(found) Hz but the VAD runs at \(expected) Hz; both must use the same sample rate"
        }
    }

    public static var modelFamily: ModelFormatError.Family { .sileroVAD }
}

/// A per-frame speech probability source over mono Float32 audio at `sampleRate`. A detector is a
/// stateful stream: frames must be passed in order; `reset()` starts a new stream. Not
/// thread-safe: one stream per instance.
public protocol VoiceActivityDetector: AnyObject {
    /// Samples per frame (512 for Silero and the energy detector: 32 ms at 16 kHz).
    var frameSamples: Int { get }
    /// The rate, Hz, of the audio the detector takes (Silero: the rate its GGUF declares;
    /// energy: `EnergyVAD.Options.sampleRate`). Frames at another rate give wrong probabilities;
    /// `SpeechSegmenter` times its segments in this rate.
    var sampleRate: Int { get }
    /// Forgets all stream state (recurrent state, context samples, noise floor).
    func reset()
    /// Speech probability in [0, 1] of the next `frameSamples` samples. Allocates nothing.
    func probability(frame: UnsafeBufferPointer<Float>) throws(VADError) -> Float
}
