import BoraAudio
import BoraCore
import CBoraAllocCount
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Per-frame timings of `detector` over `runs` passes of `audio` (one untimed warm-up pass
/// first; `reset()` before each timed pass), heap allocations per frame over the timed passes,
/// and the frames per pass. Throws the detector's error, or `BenchError` if it returns NaN.
public func timeVAD(_ detector: any VoiceActivityDetector, audio: [Float], runs: Int) throws(BenchError) -> (TimingStats, Double, Int) {
    let n = detector.frameSamples, frames = audio.count / n
    var samples = [Double](repeating: 0, count: frames * runs)
    var sink: Float = 0
    do throws(VADError) { try audio.withUnsafeBufferPointer { (all) throws(VADError) in
        for k in 0..<frames { sink += try detector.probability(frame: UnsafeBufferPointer(rebasing: all[k * n..<(k + 1) * n])) }
        bora_alloc_count_reset()
        bora_alloc_count_enable(1)
        for r in 0..<runs {
            detector.reset()
            for k in 0..<frames {
                let t = monotonicSeconds()
                sink += try detector.probability(frame: UnsafeBufferPointer(rebasing: all[k * n..<(k + 1) * n]))
                samples[r * frames + k] = monotonicSeconds() - t
            }
        }
        bora_alloc_count_enable(0)
    } } catch { throw BenchError(error.description, badInput: true) }
    if sink.isNaN { throw BenchError("VAD produced NaN") }
    return (TimingStats(samples), Double(bora_alloc_count_allocations()) / Double(frames * runs), frames)
}

/// `seconds` of audio at `AudioClip.sampleRate`, the same every call: seeded noise (−40 dBFS)
/// with 200–800 Hz tone bursts every other second.
public func syntheticVADAudio(seconds: Int) -> [Float] {
    var state: UInt64 = 0x5EED
    let rate = AudioClip.sampleRate
    return (0..<seconds * rate).map { i in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        var x = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.035
        if (i / rate) % 2 == 1 { x += 0.3 * sinf(2 * .pi * Float(200 + 150 * (i / rate % 5)) * Float(i) / Float(rate)) }
        return x
    }
}
