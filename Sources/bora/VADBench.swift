import ArgumentParser
import BoraAudio
import BoraCore
import CBoraAllocCount
import Foundation

/// `bora bench vad`: cost of one 32 ms frame, single-threaded.
struct VADBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vad",
        abstract: "µs per 32 ms frame (512 samples, 1 thread) of Silero VAD and the energy detector; heap allocations per frame.",
        discussion: """
        Scores 10 s of fixed synthetic audio (seeded noise with tone bursts) frame by frame, --runs times \
        after one warm-up pass, timing every frame. tools/vad/bench_onnx.py times onnxruntime \
        (intra_op_num_threads=1) on the same model for comparison.
        """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print machine-readable JSON (one object) instead of a table.") var json = false
    @Option(help: "Timed passes over the audio (after one warm-up pass).") var runs = 20
    @Option(help: "Silero model: catalog name or GGUF path.") var model = "silero-vad"

    func run() throws {
        _ = global.bootstrapLogging()
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
        let kernels: KernelSet
        do { kernels = try KernelSet.fromEnvironment() } catch { throw ValidationError(error.description) }
        let path = try resolveModelPath(model)
        let t0 = now()
        let silero = try SileroVAD(path: path, kernels: kernels)
        let loadMs = (now() - t0) * 1e3
        let audio = Self.syntheticAudio(seconds: 10)
        var rows: [[String: Any]] = []
        for (name, detector) in [("silero", silero as any VoiceActivityDetector), ("energy", try EnergyVAD())] {
            let (stats, allocations, frames) = try Self.time(detector, audio: audio, runs: runs)
            let row: [String: Any] = [
                "detector": name, "kernel_set": kernels.name, "threads": 1, "frames": frames,
                "us_per_frame_median": stats.median * 1e6, "us_per_frame_p90": stats.p90 * 1e6,
                "us_per_frame_min": stats.min * 1e6, "real_time_fraction": stats.median / 0.032,
                "allocations_per_frame": allocations,
            ]
            rows.append(row)
            if !json {
                print(String(format: "%@  1T  %@  %d frames  median %.1f µs  p90 %.1f µs  min %.1f µs  (%.3f%% of real time)  allocs/frame %.2f",
                             name, kernels.name, frames, stats.median * 1e6, stats.p90 * 1e6, stats.min * 1e6,
                             stats.median / 0.032 * 100, allocations))
            }
        }
        if json {
            try printJSON(["suite": "vad", "cpu": cpuModelName(), "runs": runs, "model": path, "load_ms": loadMs,
                           "alloc_counting": bora_alloc_count_supported() != 0, "results": rows])
        } else {
            print(String(format: "model %@ loaded in %.1f ms", path, loadMs))
        }
    }

    /// Per-frame timings over `runs` passes (one untimed warm-up pass first) and allocations per frame.
    static func time(_ detector: any VoiceActivityDetector, audio: [Float], runs: Int) throws -> (TimingStats, Double, Int) {
        let n = detector.frameSamples, frames = audio.count / n
        var samples = [Double](repeating: 0, count: frames * runs)
        var sink: Float = 0
        try audio.withUnsafeBufferPointer { all in
            for k in 0..<frames { sink += try detector.probability(frame: UnsafeBufferPointer(rebasing: all[k * n..<(k + 1) * n])) }
            bora_alloc_count_reset()
            bora_alloc_count_enable(1)
            for r in 0..<runs {
                detector.reset()
                for k in 0..<frames {
                    let t = now()
                    sink += try detector.probability(frame: UnsafeBufferPointer(rebasing: all[k * n..<(k + 1) * n]))
                    samples[r * frames + k] = now() - t
                }
            }
            bora_alloc_count_enable(0)
        }
        if sink.isNaN { throw BoraRuntimeError("VAD produced NaN") }
        return (TimingStats(samples), Double(bora_alloc_count_allocations()) / Double(frames * runs), frames)
    }

    /// Seeded noise (−40 dBFS) with 200–800 Hz tone bursts every other second, at `AudioClip.sampleRate`.
    static func syntheticAudio(seconds: Int) -> [Float] {
        var state: UInt64 = 0x5EED
        let rate = AudioClip.sampleRate
        return (0..<seconds * rate).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var x = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.035
            if (i / rate) % 2 == 1 { x += 0.3 * sinf(2 * .pi * Float(200 + 150 * (i / rate % 5)) * Float(i) / Float(rate)) }
            return x
        }
    }
}
