import BoraModels
import ArgumentParser
import BoraAudio
import BoraCore
import BoraSpeech
import Foundation

/// A Whisper session for a catalog name or path (`WhisperSession(path:…)`), with the CLI's error
/// mapping: an unknown `BORA_KERNELS` is a usage error. With `verify`, the file is first checked
/// against its catalog pin (`--verify-models`).
func loadWhisperSession(_ nameOrPath: String, threads: Int?, maxBeam: Int, verify: Bool = false) throws -> WhisperSession {
    let kernels = try kernelSetFromEnvironment()
    return try WhisperSession(path: try resolveModel(nameOrPath, verify: verify), kernels: kernels, threads: threads, maxBeam: maxBeam)
}

/// `bora transcribe AUDIO…`: speech to text with Whisper.
struct TranscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe speech in audio files with a Whisper model.",
        discussion: """
        AUDIO is WAV (PCM s16/s24/s32/f32, any rate, any channels), Ogg Opus, or raw s16le mono with \
        --raw-rate. By default Bora encodes only the utterance's frames (rounded up to --frame-multiple \
        10 ms frames) instead of a padded 30 s window, which makes short commands several times faster; \
        --full-window encodes the classic 30 s window (the transcripts of faster-whisper, beam 1). \
        Audio longer than 30 s is transcribed window by window. Prints one line per file \
        ("FILE: text" when several), or with --json one object per file: \
        {"file","text","latency_ms","rtf",...}; latency excludes reading the file. A file that \
        cannot be read is reported on stderr (and as {"file","error"} with --json), the others still run; \
        the exit code is then 3.
        """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var audioLimit: AudioLimitOptions
    @OptionGroup var modelCheck: ModelCheckOptions
    @Option(help: "Whisper GGUF path or catalog name.") var model = "whisper-tiny.en"
    @Option(help: "Beam width (1 = greedy).") var beam = 1
    @Flag(help: "Encode the full 30 s window (classic Whisper) instead of the utterance's length.") var fullWindow = false
    @Option(help: "Variable-length encoding rounds frames up to a multiple of this many 10 ms frames.") var frameMultiple = 100
    @Option(help: "Variable-length encoding adds this much padding after the audio, milliseconds.") var padMs = 0
    @Option(help: "Sample rate of raw s16le mono input (required for .raw/.pcm files).") var rawRate: Int?
    @Option(name: .short, help: "Threads (default: all cores).") var t: Int?
    @Flag(help: "Print one JSON object per file.") var json = false
    @Flag(help: "With --json, include the generated token ids (\"token_ids\").") var tokenIds = false
    @Argument(help: "Audio files.") var audio: [String]

    func validate() throws {
        guard !audio.isEmpty else { throw ValidationError("give at least one audio file") }
        guard beam >= 1 && beam <= 16 else { throw ValidationError("--beam must be between 1 and 16") }
        guard frameMultiple >= 2 && frameMultiple <= 3000 else { throw ValidationError("--frame-multiple must be between 2 and 3000") }
        if let t, t <= 0 || t > 256 { throw ValidationError("-t must be between 1 and 256") }
        if let rawRate, rawRate < 1000 || rawRate > 384_000 { throw ValidationError("--raw-rate must be between 1000 and 384000 Hz") }
    }

    func run() throws {
        let log = global.bootstrapLogging()
        let start = monotonicSeconds()
        let session = try loadWhisperSession(model, threads: t, maxBeam: max(beam, 1), verify: modelCheck.verifyModels)
        log.info("loaded \(model) in \(Int((monotonicSeconds() - start) * 1000)) ms, kernels \(session.matmul.kernels.name), \(session.matmul.pool.threadCount) threads")
        var options = TranscribeOptions()
        options.beam = beam
        options.fullWindow = fullWindow
        options.frameMultiple = frameMultiple
        options.trailingFrames = padMs / 10
        options.padWithSilence = ProcessInfo.processInfo.environment["BORA_PAD_SILENCE"] == "1"
        var failures = FileFailures()
        for file in audio {
            do {
                let clip = try AudioDecoder.load(path: file, rawSampleRate: rawRate, limits: audioLimit.limits)
                let t0 = monotonicSeconds()
                let transcript = try clip.samples.withUnsafeBufferPointer { buffer throws(SpeechError) in
                    try session.transcribe(buffer, options: options)
                }
                let latency = monotonicSeconds() - t0
                if json {
                    var object: [String: Any] = [
                        "file": file, "text": transcript.text, "latency_ms": rounded(latency * 1000),
                        "rtf": rounded(latency / max(clip.duration, 1e-9), 4), "audio_seconds": rounded(clip.duration, 3),
                        "tokens": transcript.tokens.count, "windows": transcript.windows.count,
                        "encoder_positions": transcript.windows.map(\.encoderPositions).reduce(0, +),
                        "mel_ms": rounded(transcript.melMilliseconds), "encode_ms": rounded(transcript.encodeMilliseconds),
                        "decode_ms": rounded(transcript.decodeMilliseconds),
                    ]
                    if tokenIds { object["token_ids"] = transcript.tokens.map(Int.init) }
                    try printJSON(object)
                } else {
                    print(audio.count > 1 ? "\(file): \(transcript.text)" : transcript.text)
                }
                log.info("\(file): \(String(format: "%.2f", clip.duration)) s audio, \(String(format: "%.1f", latency * 1000)) ms")
            } catch {
                failures.record(error, file: file, json: json)
            }
        }
        try failures.exit()
    }
}

/// Failures of a batch of input files: each is reported at once (stderr, and a {"file","error"}
/// line with --json) so the other files still run; `exit()` then ends with code 3 when the last
/// failure was bad input, else 1.
struct FileFailures {
    private var last: (any Error)?

    mutating func record(_ error: any Error, file: String, json: Bool) {
        last = error
        let message = String(describing: error)  // the error's one-line description
        if json { try? printJSON(["file": file, "error": message]) }
        FileHandle.standardError.write(Data("bora: \(file): \(message)\n".utf8))
    }

    func exit() throws {
        guard let last else { return }
        throw ExitCode(last is BoraInputError ? 3 : 1)
    }
}

func rounded(_ x: Double, _ digits: Int = 1) -> Double {
    let p = pow(10.0, Double(digits))
    return (x * p).rounded() / p
}
