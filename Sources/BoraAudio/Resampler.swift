#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Band-limited rational-ratio resampler: a Kaiser-windowed sinc evaluated as a polyphase
/// filter bank (ratio L/M after reducing outputRate/inputRate by their gcd; 44.1 kHz → 16 kHz is
/// 160/441, 48 kHz → 16 kHz is 1/3). Passband flat to 0.90 × the lower Nyquist, stopband from
/// 1.0 × Nyquist at ≥ 100 dB (Kaiser β = 10.06). Output sample n sits at input time n·M/L (zero
/// delay, as `sox rate`), so a whole signal of N frames yields ceil(N·L/M) frames.
///
/// Streaming: `process` may be called with blocks of any size; every buffer is allocated in
/// `init`, so `process` never touches the heap (the ALSA capture thread relies on that). When
/// L > 1024 (odd rates such as 44 056 Hz) the bank keeps 1024 phases and interpolates linearly
/// between adjacent phases. Not thread-safe: one owner at a time.
public final class Resampler {
    public let inputRate: Int
    public let outputRate: Int
    /// Interpolation factor L and decimation factor M (outputRate/inputRate = L/M, reduced).
    public let upFactor: Int
    public let downFactor: Int
    /// Largest block `process` copies at once; bigger inputs are processed in pieces.
    public let maxBlockFrames: Int
    /// Taps on each side of the output instant (input samples).
    public let halfTaps: Int

    private let taps: Int
    private let phases: Int           // rows in the bank (== L when exact)
    private let interpolated: Bool
    private let bank: UnsafeMutablePointer<Float>   // (phases + 1, taps)
    private let history: UnsafeMutablePointer<Float>
    private let historyCapacity: Int
    private var historyCount = 0
    private var center = 0            // index in history of floor(current output time)
    private var phase = 0             // current output time fraction, in units of 1/L
    private var totalIn = 0
    private var totalOut = 0

    /// `outputRate` defaults to `AudioClip.sampleRate`, the rate BoraAudio delivers.
    /// - Throws: `AudioError.badSampleRate` unless both rates are within 1000…768000 Hz.
    public init(inputRate: Int, outputRate: Int = AudioClip.sampleRate, maxBlockFrames: Int = 4096) throws(AudioError) {
        for rate in [inputRate, outputRate] where !(1000...768_000).contains(rate) {
            throw .badSampleRate(name: "resampler", rate: rate)
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.maxBlockFrames = max(1, maxBlockFrames)
        let g = Resampler.gcd(inputRate, outputRate)
        upFactor = outputRate / g
        downFactor = inputRate / g

        let scale = min(1.0, Double(upFactor) / Double(downFactor))
        let attenuationDb = 100.0
        let beta = 0.1102 * (attenuationDb - 8.7)
        let transition = 0.05 * scale                     // cycles per input sample (0.90 → 1.0 Nyquist)
        let cutoff = 0.475 * scale                        // middle of the transition band
        let halfWidth = (attenuationDb - 7.95) / (14.36 * transition) / 2
        var k = Int(halfWidth.rounded(.up))
        k = (k + 3) / 4 * 4                               // 2K taps, a multiple of 8 for SIMD8
        halfTaps = k
        taps = 2 * k
        interpolated = upFactor > 1024
        phases = interpolated ? 1024 : upFactor
        bank = .allocate(capacity: (phases + 1) * taps)
        let i0Beta = Resampler.besselI0(beta)
        for row in 0...phases {
            let frac = Double(row) / Double(phases)
            var sum = 0.0
            for tap in 0..<taps {
                let d = frac + Double(k - 1 - tap)        // output time − input sample time
                let u = d / halfWidth
                var h = 0.0
                if abs(u) < 1 {
                    let x = 2 * cutoff * d
                    let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
                    h = 2 * cutoff * sinc * Resampler.besselI0(beta * (1 - u * u).squareRoot()) / i0Beta
                }
                bank[row * taps + tap] = Float(h)
                sum += h
            }
            for tap in 0..<taps { bank[row * taps + tap] = Float(Double(bank[row * taps + tap]) / sum) } // unity DC gain
        }
        historyCapacity = self.maxBlockFrames + taps + k + 8
        history = .allocate(capacity: historyCapacity)
        history.initialize(repeating: 0, count: historyCapacity)
        _ = Resampler.dot(history, bank, taps)           // instantiate SIMD metadata now, not in the audio thread
        reset()
    }

    deinit {
        bank.deallocate()
        history.deallocate()
    }

    /// Forgets all input: the next `process` starts a new signal at time 0.
    public func reset() {
        historyCount = halfTaps - 1                       // zeros before the first input sample
        for i in 0..<historyCount { history[i] = 0 }
        center = halfTaps - 1
        phase = 0
        totalIn = 0
        totalOut = 0
    }

    /// An upper bound on the frames `process` writes for `inputFrames` input frames.
    public func maxOutputFrames(forInput inputFrames: Int) -> Int {
        (inputFrames + 1) * upFactor / downFactor + 2
    }

    /// Consumes `input` and writes every output frame whose filter window is now complete.
    /// `output` must hold `maxOutputFrames(forInput: input.count)` frames. Allocation-free.
    /// - Returns: the number of frames written.
    public func process(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) -> Int {
        var written = 0
        var offset = 0
        while offset < input.count {
            let n = min(maxBlockFrames, input.count - offset)
            (history + historyCount).update(from: input.baseAddress! + offset, count: n)
            historyCount += n
            totalIn += n
            offset += n
            written += drain(into: output.baseAddress! + written, limit: output.count - written, stopAt: Int.max)
            compact()
        }
        return written
    }

    /// Ends the signal: pads with zeros and writes the remaining frames, so the whole signal
    /// gives ceil(N·L/M) frames; then resets. `output` needs `halfTaps·L/M + 2` frames.
    public func flush(into output: UnsafeMutableBufferPointer<Float>) -> Int {
        for i in 0..<halfTaps { history[historyCount + i] = 0 }
        historyCount += halfTaps
        let target = (totalIn * upFactor + downFactor - 1) / downFactor
        let written = drain(into: output.baseAddress!, limit: output.count, stopAt: target)
        reset()
        return written
    }

    /// Resamples a whole signal (convenience for files; allocates its result).
    public static func resample(_ input: UnsafeBufferPointer<Float>, from inputRate: Int, to outputRate: Int) throws(AudioError) -> [Float] {
        if inputRate == outputRate { return Array(input) }
        let r = try Resampler(inputRate: inputRate, outputRate: outputRate, maxBlockFrames: 1 << 15)
        let expected = (input.count * r.upFactor + r.downFactor - 1) / r.downFactor
        var out = [Float](repeating: 0, count: r.maxOutputFrames(forInput: input.count) + r.maxOutputFrames(forInput: r.halfTaps))
        let n = out.withUnsafeMutableBufferPointer { o in
            let a = r.process(input, into: o)
            return a + r.flush(into: UnsafeMutableBufferPointer(rebasing: o[a...]))
        }
        precondition(n == expected, "resampler produced \(n) frames, expected \(expected)")
        out.removeLast(out.count - n)
        return out
    }

    private func drain(into out: UnsafeMutablePointer<Float>, limit: Int, stopAt: Int) -> Int {
        var written = 0
        while center + halfTaps < historyCount && totalOut < stopAt {
            precondition(written < limit, "Resampler output buffer too small: size it with maxOutputFrames(forInput:)")
            let window = history + (center - halfTaps + 1)
            var y: Float
            if !interpolated {
                y = Resampler.dot(window, bank + phase * taps, taps)
            } else {
                let num = phase * phases
                let row = num / upFactor
                let a = Float(num % upFactor) / Float(upFactor)
                let y0 = Resampler.dot(window, bank + row * taps, taps)
                let y1 = Resampler.dot(window, bank + (row + 1) * taps, taps)
                y = y0 + a * (y1 - y0)
            }
            out[written] = y
            written += 1
            totalOut += 1
            phase += downFactor
            center += phase / upFactor
            phase %= upFactor
        }
        return written
    }

    /// Drops history no future output needs (keeps the left half-window).
    private func compact() {
        let drop = min(center - halfTaps + 1, historyCount)
        guard drop > 0 else { return }
        let keep = historyCount - drop
        if keep > 0 { history.update(from: history + drop, count: keep) }
        historyCount = keep
        center -= drop
    }

    @inline(__always)
    private static func dot(_ x: UnsafeMutablePointer<Float>, _ h: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>.zero, acc1 = SIMD8<Float>.zero
        let xr = UnsafeRawPointer(x), hr = UnsafeRawPointer(h)
        var i = 0
        while i + 16 <= n {
            acc0 += xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * hr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc1 += xr.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self) * hr.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            i += 16
        }
        while i < n { // n is a multiple of 8
            acc0 += xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * hr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        return (acc0 + acc1).sum()
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// Modified Bessel function of the first kind, order 0 (power series).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0
        let q = x * x / 4
        for k in 1..<64 {
            term *= q / Double(k * k)
            sum += term
            if term < sum * 1e-17 { break }
        }
        return sum
    }
}
