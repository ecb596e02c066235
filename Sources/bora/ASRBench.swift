import ArgumentParser
import BoraAudio
import BoraBench
import BoraCore
import BoraSpeech
import CBoraAllocCount
import Foundation

/// `bora bench asr`: Whisper transcription latency, real-time factor, heap allocations per
/// utterance and peak RSS, per model × encoding mode × audio file.
struct ASRBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asr",
        abstract: "Whisper latency per utterance: variable-length vs full-window encoding, per model.",
        discussion: """
        Each case transcribes one file greedily: one warm-up, then --runs timed runs of the \
        allocation-free path (log-mel, encoder, decoder); reports median/p90/min latency, real-time \
        factor, heap allocations per utterance after warm-up (all threads), and the process's peak RSS \
        so far. Without AUDIO it uses the corpus of tools/speech/fetch: a 2–3 s spoken command and \
        jfk.wav (11 s). Models default to whisper-tiny.en (Q8_0) and whisper-tiny.en-q4_0. \
        For a clean RSS figure per model run one model per process.
        """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: BenchOptions
    @Option(help: "Whisper models (catalog names or paths), comma-separated.") var models = "whisper-tiny.en,whisper-tiny.en-q4_0"
    @Option(help: "Encoding modes, comma-separated: variable, full.") var modes = "variable,full"
    @Argument(help: "Audio files (default: a spoken command and jfk.wav from ~/.cache/bora/speech).") var audio: [String] = []

    func run() throws {
        _ = global.bootstrapLogging()
        let runs = options.runs ?? (options.quick ? 3 : 10)
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
        let threads = try options.threadCounts().last ?? ThreadPool.defaultThreadCount
        let modeList = modes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !modeList.isEmpty, modeList.allSatisfy({ $0 == "variable" || $0 == "full" }) else {
            throw ValidationError("--modes takes variable and/or full")
        }
        var files = audio
        if files.isEmpty {
            let speech = (ProcessInfo.processInfo.environment["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora") + "/speech"
            files = ["\(speech)/commands/cmd04_turn_on_the_lights.wav", "\(speech)/jfk.wav"]
            for f in files where !FileManager.default.fileExists(atPath: f) {
                throw BoraRuntimeError("\(f) is missing; run tools/speech/fetch (or pass AUDIO files)")
            }
        }
        let clips = try files.map { try AudioDecoder.load(path: $0) }
        var rows: [[String: Any]] = []
        for name in models.split(separator: ",").map(String.init) {
            let session = try loadWhisperSession(name, threads: threads, maxBeam: 1)
            for mode in modeList {
                var opts = TranscribeOptions()
                opts.fullWindow = mode == "full"
                for (file, clip) in zip(files, clips) {
                    var timings = Transcript()
                    let (stats, allocations) = clip.samples.withUnsafeBufferPointer { buffer in
                        measure(runs: runs) {
                            _ = session.transcribeWindow(buffer, firstFrame: 0, options: opts, globalMax: nil, timings: &timings)
                        }
                    }
                    let text = session.model.tokenizer.decode(Array(session.lastTokens)).trimmingCharacters(in: .whitespaces)
                    let count = Double(runs + 1)
                    let row: [String: Any] = [
                        "model": name, "mode": mode, "file": (file as NSString).lastPathComponent, "threads": threads,
                        "kernel_set": session.matmul.kernels.name, "audio_seconds": clip.duration,
                        "latency_ms": ["median": stats.median * 1e3, "p90": stats.p90 * 1e3, "min": stats.min * 1e3, "max": stats.max * 1e3],
                        "rtf": stats.median / clip.duration, "allocations_per_utterance": allocations,
                        "mel_ms": timings.melMilliseconds / count, "encode_ms": timings.encodeMilliseconds / count,
                        "decode_ms": timings.decodeMilliseconds / count, "peak_rss_bytes": peakRSSBytes(), "text": text,
                    ]
                    rows.append(row)
                    if !options.json {
                        print(String(format: "%@  %@  %@ (%.1f s)  %dT  median %.1f ms  p90 %.1f  min %.1f  RTF %.3f  mel %.1f enc %.1f dec %.1f ms  allocs/utt %.1f  peak RSS %d MiB  \"%@\"",
                                     name, mode, (file as NSString).lastPathComponent, clip.duration, threads,
                                     stats.median * 1e3, stats.p90 * 1e3, stats.min * 1e3, stats.median / clip.duration,
                                     timings.melMilliseconds / count, timings.encodeMilliseconds / count, timings.decodeMilliseconds / count,
                                     allocations, peakRSSBytes() >> 20, text))
                    }
                }
            }
        }
        if options.json {
            try printJSON(["suite": "asr", "cpu": cpuModelName(), "runs": runs, "alloc_counting": bora_alloc_count_supported() != 0, "results": rows])
        }
    }
}
