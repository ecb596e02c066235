import ArgumentParser
import BoraAudio
import BoraCore
import Foundation

/// The voice activity detectors the CLI offers (`--vad`).
enum VADChoice: String, ExpressibleByArgument, CaseIterable {
    case silero, energy

    /// The detector: Silero from `model` (catalog name or GGUF path, resolved and, with
    /// --verify-models, checked by `check`; kernels from BORA_KERNELS), or the model-free energy detector.
    func makeDetector(model: String, check: ModelCheckOptions) throws -> any VoiceActivityDetector {
        switch self {
        case .silero:
            let kernels = try kernelSetFromEnvironment()
            return try SileroVAD(path: try check.resolve(model), kernels: kernels)
        case .energy:
            return try EnergyVAD()
        }
    }
}

/// `bora vad`: speech segments of audio files (Silero VAD or the energy detector + endpointer).
struct VADCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vad",
        abstract: "Print the speech segments of audio files (start/end ms, mean speech probability).",
        discussion: """
        Audio is decoded and converted to 16 kHz mono, cut into 32 ms frames (512 samples) and scored \
        by Silero VAD v6 (default; catalog model silero-vad) or by an adaptive energy detector \
        (--vad energy, no model). The endpointer starts speech after --start-ms above --threshold, ends \
        it after --end-ms below threshold − 0.15, keeps --pre-roll-ms before the start and cuts \
        utterances longer than --max-ms.
        """
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var audioLimit: AudioLimitOptions
    @OptionGroup var modelCheck: ModelCheckOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Option(help: "Detector: silero or energy.") var vad: VADChoice = .silero
    @Option(help: "Silero model: catalog name or GGUF path.") var model = "silero-vad"
    @Option(help: "Speech probability threshold.") var threshold: Float = 0.5
    @Option(help: "Speech must last this long to start a segment (ms).") var startMs = 64
    @Option(help: "Silence must last this long to end a segment (ms).") var endMs = 400
    @Option(help: "Audio kept before the detected start (ms).") var preRollMs = 192
    @Option(help: "Audio kept after the last speech frame (ms).") var postRollMs = 96
    @Option(help: "Longest segment; longer speech is cut (ms).") var maxMs = 30_000
    @Argument(help: "Audio files (WAV, raw s16le at 16 kHz, Ogg Opus).") var audio: [String]

    func validate() throws {
        guard !audio.isEmpty else { throw ValidationError("give at least one audio file") }
        guard threshold > 0.15, threshold <= 1 else { throw ValidationError("--threshold must be in (0.15, 1]") }
    }

    func run() throws {
        _ = global.bootstrapLogging()
        let detector = try vad.makeDetector(model: model, check: modelCheck)
        var options = Endpointer.Options()
        options.threshold = threshold
        options.startMs = startMs; options.endMs = endMs
        options.preRollMs = preRollMs; options.postRollMs = postRollMs
        options.maxUtteranceMs = maxMs
        let segmenter: SpeechSegmenter
        do { segmenter = try SpeechSegmenter(detector: detector, options: options) } catch { throw ValidationError(error.description) }

        var files: [[String: Any]] = []
        for path in audio {
            let clip = try AudioDecoder.load(path: path, rawSampleRate: nil, limits: audioLimit.limits)
            let segments = try segmenter.segments(samples: clip.samples)
            let durationMs = Double(clip.samples.count) * 1000 / Double(AudioClip.sampleRate)
            if json {
                files.append(["file": path, "duration_ms": durationMs, "detector": vad.rawValue,
                              "segments": segments.map { s -> [String: Any] in
                                  ["start_ms": s.startMs, "end_ms": s.endMs,
                                   "mean_probability": Double(s.meanProbability), "truncated": s.truncated]
                              }])
            } else {
                print("\(path): \(segments.count) segment\(segments.count == 1 ? "" : "s") in \(Int(durationMs.rounded())) ms (\(vad.rawValue))")
                for s in segments {
                    print(String(format: "  %8.0f  %8.0f  p=%.3f%@", s.startMs, s.endMs, Double(s.meanProbability),
                                 s.truncated ? "  (cut at --max-ms)" : ""))
                }
            }
        }
        if json { try printJSON(["files": files]) }
    }
}
