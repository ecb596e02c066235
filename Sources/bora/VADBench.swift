import BoraModels
import ArgumentParser
import BoraAudio
import BoraBench
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
        let kernels = try kernelSetFromEnvironment()
        let path = try ModelLocator.resolve(model)
        let t0 = monotonicSeconds()
        let silero = try SileroVAD(path: path, kernels: kernels)
        let loadMs = (monotonicSeconds() - t0) * 1e3
        let audio = syntheticVADAudio(seconds: 10)
        var rows: [[String: Any]] = []
        for (name, detector) in [("silero", silero as any VoiceActivityDetector), ("energy", try EnergyVAD())] {
            let (stats, allocations, frames) = try timeVAD(detector, audio: audio, runs: runs)
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
}
