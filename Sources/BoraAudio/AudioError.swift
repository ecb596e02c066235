// BoraAudio — audio files (WAV, raw, Ogg Opus), resampling, ALSA capture, ring buffer, VAD.
// Everything inside Bora is 16 kHz mono Float32; formats are normalized once at the boundary.
import BoraCore
import COpus
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Everything that can go wrong reading, writing or capturing audio. `description` is one line:
/// what failed, where, and what to do. Bad input files conform to `BoraInputError` (exit code 3
/// in the CLI); `isInputError` is false for device and I/O failures (exit code 1 there).
public enum AudioError: BoraInputError, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, errno: Int32)
    case empty(name: String)
    /// The header ends before `neededBytes` (a cut-off download or a non-audio file).
    case truncatedHeader(name: String, neededBytes: Int, fileBytes: Int)
    /// The data chunk declares more bytes than the file holds.
    case truncatedData(name: String, declaredBytes: Int, availableBytes: Int)
    case unsupportedEncoding(name: String, found: String)
    case unknownContainer(name: String)
    /// A float sample is NaN or ±Inf: `frameIndex` counts frames from the start of the data.
    case nonFinite(name: String, frameIndex: Int, channel: Int)
    case rawWithoutRate(name: String)
    /// The audio is longer than `AudioLimits.maxSeconds` allows for a whole-file decode; found
    /// from the header (WAV) or the size (raw) before any sample is read, or while decoding (Opus).
    case tooLong(name: String, seconds: Double, limitSeconds: Double)
    /// The file (or the bytes a pipe delivered) is larger than a `limitSeconds` file of its kind
    /// can be (`AudioLimits.maxOggBytes`, `maxStreamBytes`); refused before it is read or decoded.
    case tooLarge(name: String, bytes: Int, limitBytes: Int, limitSeconds: Double)
    case badSampleRate(name: String, rate: Int)
    case badChannelCount(name: String, channels: Int)
    case oggCorrupt(name: String, detail: String)
    case opusCorrupt(name: String, call: String, code: Int32)
    case opusEncoder(call: String, code: Int32)
    case writeFailed(path: String, errno: Int32)
    case alsa(call: String, device: String, code: Int32, message: String)
    case deviceNotFound(device: String, message: String)
    /// The hardware refused every format/rate/channel combination Bora can convert.
    case formatRefused(device: String, detail: String)
    /// The device vanished during capture (unplugged USB microphone): -ENODEV and friends.
    case deviceGone(device: String, code: Int32, message: String)
    case captureNotRunning

    /// Supported encodings, quoted by `unsupportedEncoding`.
    public static let supportedEncodings =
        "WAV PCM u8/s16/s24/s32 and float32/float64 (WAVE_FORMAT_EXTENSIBLE too), raw s16le with a rate, Ogg Opus"

    /// True for errors caused by the audio data itself (not by devices or the filesystem).
    public var isInputError: Bool {
        switch self {
        case .unreadable, .writeFailed, .alsa, .deviceNotFound, .formatRefused, .deviceGone,
             .captureNotRunning, .opusEncoder:
            return false
        default:
            return true
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file; check the path"
        case .unreadable(let path, let e):
            return "\(path): cannot read (\(errorText(e))); check permissions"
        case .empty(let name):
            return "\(name): empty file (no audio bytes); record or convert the audio again"
        case .truncatedHeader(let name, let needed, let have):
            return "\(name): truncated header (needs \(needed) bytes, file has \(have)); the file is cut off or not audio"
        case .truncatedData(let name, let declared, let available):
            return "\(name): data chunk declares \(declared) bytes but only \(available) are present; the file is cut off, re-export it"
        case .unsupportedEncoding(let name, let found):
            return "\(name): unsupported encoding \(found); supported: \(Self.supportedEncodings); convert with `sox IN -b 16 OUT.wav`"
        case .unknownContainer(let name):
            return "\(name): not a WAV or Ogg Opus file; for headerless s16le audio pass its sample rate (--rate)"
        case .nonFinite(let name, let index, let channel):
            return "\(name): NaN or infinity at frame \(index) (channel \(channel)); the float data is corrupt, re-export it"
        case .tooLong(let name, let seconds, let limit):
            return "\(name): \(AudioLimits.durationText(seconds)) of audio, more than the \(AudioLimits.durationText(limit)) limit for decoding a whole file; split it (`sox IN OUT trim 0 \(Int(limit)) : newfile : restart`) or raise the limit (--max-audio-minutes \(Int((seconds / 60).rounded(.up))))"
        case .tooLarge(let name, let bytes, let limitBytes, let limit):
            return "\(name): \(bytes) bytes, more than the \(limitBytes) a \(AudioLimits.durationText(limit)) file of this kind can hold; it is not audio or too long: split it, or raise the limit (--max-audio-minutes)"
        case .rawWithoutRate(let name):
            return "\(name): raw s16le audio has no header; pass its sample rate (--rate, e.g. 16000)"
        case .badSampleRate(let name, let rate):
            return "\(name): sample rate \(rate) Hz is out of range (1000…768000); check the header or --rate"
        case .badChannelCount(let name, let channels):
            return "\(name): \(channels) channels is out of range (1…255); the header is corrupt"
        case .oggCorrupt(let name, let detail):
            return "\(name): corrupt Ogg Opus stream (\(detail)); check it with `opusinfo` or re-encode it"
        case .opusCorrupt(let name, let call, let code):
            return "\(name): \(call) failed (\(opusText(code))); the Opus data is corrupt, re-encode it"
        case .opusEncoder(let call, let code):
            return "\(call) failed (\(opusText(code))); the Opus encoder rejected Bora's settings (a bug: report it)"
        case .writeFailed(let path, let e):
            return "\(path): write failed (\(errorText(e))); check free space and permissions"
        case .alsa(let call, let device, let code, let message):
            return "ALSA \(call) on '\(device)' failed: \(message) (\(code)); list devices with `bora devices`, or try plughw:CARD,DEV so ALSA converts"
        case .deviceNotFound(let device, let message):
            return "capture device '\(device)' not found (\(message)); list devices with `bora devices` and pass one, e.g. --device plughw:1,0"
        case .formatRefused(let device, let detail):
            return "capture device '\(device)' refused every format Bora converts (\(detail)); use plughw:CARD,DEV so ALSA converts"
        case .deviceGone(let device, let code, let message):
            return "capture device '\(device)' disappeared (\(message), \(code)); reconnect it and check `bora devices`"
        case .captureNotRunning:
            return "capture is not running; call start() first"
        }
    }
}

func opusText(_ code: Int32) -> String { String(cString: opus_strerror(code)) }

extension AudioError {
    /// Maps a failure to open or map an audio file.
    init(_ error: MappedFileError, path: String) {
        switch error {
        case let .open(_, code, _) where code == ENOENT: self = .fileNotFound(path: path)
        case let .open(_, code, _), let .stat(_, code, _), let .mmap(_, code, _): self = .unreadable(path: path, errno: code)
        case .notRegularFile: self = .unreadable(path: path, errno: EISDIR)
        case .tooLarge: self = .unreadable(path: path, errno: EFBIG)
        }
    }
}
