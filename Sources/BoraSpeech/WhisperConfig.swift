import BoraAudio
import BoraCore
import BoraGGUF

/// Why a Whisper model or an utterance cannot be processed. Each description is one line that
/// says what is wrong and what to do.
public enum SpeechError: BoraInputError, Equatable, ModelFormatReporting {
    /// The file is not a Whisper model Bora can run (`.missingTensor(…)` and the other
    /// `ModelFormatReporting` members make these).
    case format(ModelFormatError)
    case beamTooWide(requested: Int, maximum: Int)
    case audioTooShort(samples: Int)
    case audioTooLong(seconds: Double, maximum: Double)
    case invalidSamples(index: Int)
    /// The model declares a sample rate (`whisper.sample_rate`) other than the one BoraAudio
    /// delivers (`supported`, `AudioClip.sampleRate`); the model is refused at load.
    case unsupportedSampleRate(declared: Int, supported: Int)

    public var description: String {
        switch self {
        case let .format(error):
            return error.description
        case let .beamTooWide(requested, maximum):
            return "beam width \(requested) exceeds this session's maximum \(maximum); pass --beam \(maximum) or less"
        case let .audioTooShort(samples):
            return "audio has \(samples) samples, too short to transcribe; give at least one 10 ms frame (160 samples at 16 kHz)"
        case let .audioTooLong(seconds, maximum):
            return "audio is \(Int(seconds.rounded())) s long; a command must fit in \(Int(maximum)) s — split it, or use bora transcribe for long audio"
        case let .invalidSamples(index):
            return "audio sample \(index) is NaN or infinite; the input file is corrupt"
        case let .unsupportedSampleRate(declared, supported):
            return "Whisper model declares whisper.sample_rate \(declared) Hz, but Bora's audio is \(supported) Hz; use a \(supported) Hz model (tools/whisper/convert.py)"
        }
    }

    public static var modelFamily: ModelFormatError.Family { .whisper }
}

/// Hyper-parameters and special tokens of a Whisper model, from the `whisper.*` GGUF metadata
/// written by tools/whisper/convert.py.
public struct WhisperConfig: Sendable, Equatable {
    public let vocabSize: Int
    public let melCount: Int
    /// Encoder positions of a full 30 s window (1500 for every Whisper size).
    public let audioContext: Int
    public let audioDim: Int
    public let audioHeads: Int
    public let audioLayers: Int
    /// Maximum decoder positions (448).
    public let textContext: Int
    public let textDim: Int
    public let textHeads: Int
    public let textLayers: Int
    public let layerNormEps: Float
    /// The rate, Hz, of the audio the model takes: `whisper.sample_rate`. A GGUF without the key
    /// (written before the converter recorded it) is taken as 16000 (`AudioClip.sampleRate`),
    /// the rate of every Whisper checkpoint. Any other declared rate is refused
    /// (`SpeechError.unsupportedSampleRate`): BoraAudio delivers `AudioClip.sampleRate` only.
    public let sampleRate: Int
    public let fftSize: Int
    public let hopLength: Int
    public let chunkSeconds: Int
    public let isMultilingual: Bool

    public let sot: Int32
    public let eot: Int32
    public let noTimestamps: Int32
    public let transcribe: Int32?
    public let translate: Int32?
    public let sotLM: Int32?
    public let sotPrev: Int32?
    public let noSpeech: Int32?
    public let timestampBegin: Int32?
    /// Tokens never generated (the model's `suppress_ids`).
    public let suppressTokens: [Int32]
    /// Tokens not allowed as the first generated token (blank and end of text).
    public let suppressAtBegin: [Int32]

    /// Mel frames of one full window (chunkSeconds · sampleRate / hopLength = 3000).
    public var windowFrames: Int { chunkSeconds * sampleRate / hopLength }
    /// Samples of one full window (480 000).
    public var windowSamples: Int { chunkSeconds * sampleRate }

    public init(gguf: GGUFFile) throws(SpeechError) {
        let arch = gguf.architecture ?? "(none)"
        guard arch == "whisper" else { throw .unsupportedArchitecture(arch) }
        func int(_ key: String) throws(SpeechError) -> Int {
            guard let value = gguf.metadata[key] else { throw .missingMetadata(key) }
            guard let v = value.int, v > 0, v < 1 << 24 else { throw .badMetadata(key: key, reason: "\(value) is not a positive count") }
            return v
        }
        func token(_ key: String, required: Bool) throws(SpeechError) -> Int32? {
            guard let value = gguf.metadata[key] else {
                if required { throw .missingMetadata(key) }
                return nil
            }
            guard let v = value.int, v >= 0 else { throw .badMetadata(key: key, reason: "\(value) is not a token id") }
            return Int32(v)
        }
        func tokens(_ key: String) throws(SpeechError) -> [Int32] {
            guard let value = gguf.metadata[key] else { return [] }
            guard let array = value.array else { throw .badMetadata(key: key, reason: "not an array") }
            var out: [Int32] = []
            for i in 0..<array.count {
                guard let v = array[i].int, v >= 0 else { throw .badMetadata(key: key, reason: "element \(i) is not a token id") }
                out.append(Int32(v))
            }
            return out
        }
        vocabSize = try int("whisper.vocab_size")
        melCount = try int("whisper.n_mels")
        audioContext = try int("whisper.audio.context_length")
        audioDim = try int("whisper.audio.embedding_length")
        audioHeads = try int("whisper.audio.head_count")
        audioLayers = try int("whisper.audio.block_count")
        textContext = try int("whisper.text.context_length")
        textDim = try int("whisper.text.embedding_length")
        textHeads = try int("whisper.text.head_count")
        textLayers = try int("whisper.text.block_count")
        sampleRate = gguf.metadata["whisper.sample_rate"] == nil ? AudioClip.sampleRate : try int("whisper.sample_rate")
        guard sampleRate == AudioClip.sampleRate else {
            throw .unsupportedSampleRate(declared: sampleRate, supported: AudioClip.sampleRate)
        }
        fftSize = try int("whisper.n_fft")
        hopLength = try int("whisper.hop_length")
        chunkSeconds = try int("whisper.chunk_length")
        let eps = gguf.metadata["whisper.layer_norm_epsilon"]?.float ?? 1e-5
        guard eps.isFinite, eps > 0 else { throw .badMetadata(key: "whisper.layer_norm_epsilon", reason: "\(eps) is not positive") }
        layerNormEps = eps
        isMultilingual = gguf.metadata["whisper.is_multilingual"]?.bool ?? false
        guard audioDim % audioHeads == 0 else { throw .badMetadata(key: "whisper.audio.head_count", reason: "\(audioHeads) does not divide \(audioDim)") }
        guard textDim % textHeads == 0 else { throw .badMetadata(key: "whisper.text.head_count", reason: "\(textHeads) does not divide \(textDim)") }
        guard audioDim == textDim else { throw .badMetadata(key: "whisper.text.embedding_length", reason: "\(textDim) differs from the encoder's \(audioDim)") }
        guard fftSize % 4 == 0, fftSize / 2 >= hopLength else { throw .badMetadata(key: "whisper.n_fft", reason: "\(fftSize) must be a multiple of 4 and at least twice the hop") }
        guard chunkSeconds * sampleRate / hopLength == 2 * audioContext else {
            throw .badMetadata(key: "whisper.audio.context_length", reason: "\(audioContext) is not half the \(chunkSeconds) s window's mel frames")
        }
        sot = try token("whisper.token.sot", required: true)!
        eot = try token("whisper.token.eot", required: true)!
        noTimestamps = try token("whisper.token.notimestamps", required: true)!
        transcribe = try token("whisper.token.transcribe", required: false)
        translate = try token("whisper.token.translate", required: false)
        sotLM = try token("whisper.token.sot_lm", required: false)
        sotPrev = try token("whisper.token.sot_prev", required: false)
        noSpeech = try token("whisper.token.no_speech", required: false)
        timestampBegin = try token("whisper.token.timestamp_begin", required: false)
        suppressTokens = try tokens("whisper.suppress_tokens")
        suppressAtBegin = try tokens("whisper.suppress_tokens_begin")
        for (key, id) in [("sot", sot), ("eot", eot), ("notimestamps", noTimestamps)] where Int(id) >= vocabSize {
            throw .badMetadata(key: "whisper.token.\(key)", reason: "\(id) is outside the vocabulary (\(vocabSize))")
        }
        for id in suppressTokens + suppressAtBegin where Int(id) >= vocabSize {
            throw .badMetadata(key: "whisper.suppress_tokens", reason: "\(id) is outside the vocabulary (\(vocabSize))")
        }
    }
}
