#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BoraCore

/// A complex FFT of one fixed size (any product of 2, 3, 4 and 5), Stockham auto-sort, with
/// every twiddle precomputed at init. `forward` allocates nothing.
struct MixedRadixFFT {
    let size: Int
    private let radices: [Int]
    /// Per stage: `size` (cos, sin) pairs of the twiddle for input j, r (index j*p + r).
    private let twiddles: UnsafeMutablePointer<Float>
    private let stageOffsets: [Int]
    /// Scratch for one butterfly's p ≤ 5 twiddled inputs (re then im).
    private let butterfly: UnsafeMutablePointer<Float>

    init?(size: Int) {
        var n = size, radices: [Int] = []
        for p in [4, 2, 3, 5] { while n % p == 0 { radices.append(p); n /= p } }
        guard n == 1, size > 0 else { return nil }
        self.size = size
        self.radices = radices
        twiddles = .allocate(capacity: 2 * size * max(radices.count, 1))
        var offsets: [Int] = [], ns = 1, offset = 0
        for p in radices {
            offsets.append(offset)
            for j in 0..<(size / p) {
                let angle = -2.0 * Double.pi * Double(j % ns) / Double(ns * p)
                for r in 0..<p {
                    twiddles[offset + 2 * (j * p + r)] = Float(cos(Double(r) * angle))
                    twiddles[offset + 2 * (j * p + r) + 1] = Float(sin(Double(r) * angle))
                }
            }
            offset += 2 * size
            ns *= p
        }
        stageOffsets = offsets
        butterfly = .allocate(capacity: 10)
    }

    func free() { twiddles.deallocate(); butterfly.deallocate() }

    /// In-place forward DFT of `size` interleaved complex values in `data` (re, im, re, im …);
    /// `work` has room for as many. X[k] = Σ x[n] e^{-2πikn/size}.
    func forward(_ data: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Float>) {
        var src = data, dst = work, ns = 1
        let c3 = Float(-0.86602540378443864676)  // sin(-2π/3)
        let c5a = Float(cos(2.0 * Double.pi / 5)), c5b = Float(cos(4.0 * Double.pi / 5))
        let s5a = Float(-sin(2.0 * Double.pi / 5)), s5b = Float(-sin(4.0 * Double.pi / 5))
        let re = butterfly, im = butterfly + 5
        for stage in 0..<radices.count {
            let p = radices[stage]
            let stride = size / p
            let tw = twiddles + stageOffsets[stage]
            for j in 0..<stride {
                // Load and twiddle the p inputs.
                for r in 0..<p {
                    let xr = src[2 * (j + r * stride)], xi = src[2 * (j + r * stride) + 1]
                    let wr = tw[2 * (j * p + r)], wi = tw[2 * (j * p + r) + 1]
                    re[r] = xr * wr - xi * wi
                    im[r] = xr * wi + xi * wr
                }
                let vr = (re[0], re[1], re[2], re[3], re[4])
                let vi = (im[0], im[1], im[2], im[3], im[4])
                let span = ns, out = dst  // constants: a local function capturing a var boxes it (heap)
                let base = (j / span) * span * p + j % span
                @inline(__always) func put(_ q: Int, _ re: Float, _ im: Float) {
                    out[2 * (base + q * span)] = re
                    out[2 * (base + q * span) + 1] = im
                }
                switch p {
                case 2:
                    put(0, vr.0 + vr.1, vi.0 + vi.1)
                    put(1, vr.0 - vr.1, vi.0 - vi.1)
                case 3:
                    let sr = vr.1 + vr.2, si = vi.1 + vi.2
                    let dr = vr.1 - vr.2, di = vi.1 - vi.2
                    let mr = vr.0 - 0.5 * sr, mi = vi.0 - 0.5 * si
                    put(0, vr.0 + sr, vi.0 + si)
                    put(1, mr - c3 * di, mi + c3 * dr)
                    put(2, mr + c3 * di, mi - c3 * dr)
                case 4:
                    let ar = vr.0 + vr.2, ai = vi.0 + vi.2
                    let br = vr.0 - vr.2, bi = vi.0 - vi.2
                    let cr = vr.1 + vr.3, ci = vi.1 + vi.3
                    let dr = vr.1 - vr.3, di = vi.1 - vi.3
                    put(0, ar + cr, ai + ci)
                    put(1, br + di, bi - dr)   // b - i·d
                    put(2, ar - cr, ai - ci)
                    put(3, br - di, bi + dr)   // b + i·d
                default:  // 5
                    let s1r = vr.1 + vr.4, s1i = vi.1 + vi.4, d1r = vr.1 - vr.4, d1i = vi.1 - vi.4
                    let s2r = vr.2 + vr.3, s2i = vi.2 + vi.3, d2r = vr.2 - vr.3, d2i = vi.2 - vi.3
                    let ar = vr.0 + c5a * s1r + c5b * s2r, ai = vi.0 + c5a * s1i + c5b * s2i
                    let br = vr.0 + c5b * s1r + c5a * s2r, bi = vi.0 + c5b * s1i + c5a * s2i
                    // i·(s5a·d1 + s5b·d2) and i·(s5b·d1 − s5a·d2)
                    let er = -(s5a * d1i + s5b * d2i), ei = s5a * d1r + s5b * d2r
                    let fr = -(s5b * d1i - s5a * d2i), fi = s5b * d1r - s5a * d2r
                    put(0, vr.0 + s1r + s2r, vi.0 + s1i + s2i)
                    put(1, ar + er, ai + ei)
                    put(2, br + fr, bi + fi)
                    put(3, br - fr, bi - fi)
                    put(4, ar - er, ai - ei)
                }
            }
            swap(&src, &dst)
            ns *= p
        }
        if src != data { data.update(from: src, count: 2 * size) }
    }
}

/// Whisper's log-mel front end: 16 kHz mono samples → `melCount`-bin log-mel frames, the recipe
/// of faster-whisper's FeatureExtractor exactly: the audio plus `hopLength` zeros, reflect-padded
/// by fftSize/2 on both sides, periodic Hann window, power spectrum, Slaney mel filterbank (from
/// the model file), log10 clamped at 1e-10, floored at (max over all frames) − 8, then (x + 4) / 4.
/// A signal of L samples has `contentFrames(L)` = L / hop frames (the STFT's last frame only takes
/// part in the maximum). Frames past the content are 0, as faster-whisper pads a 30 s window.
///
/// All buffers are allocated at init for windows of at most `maxFrames`; `compute` allocates nothing.
public final class LogMel: @unchecked Sendable {
    public let melCount: Int
    public let fftSize: Int
    public let hopLength: Int
    public let maxFrames: Int
    private let bins: Int
    private let filters: TensorView          // melCount rows × bins columns, F32
    private let fft: MixedRadixFFT            // fftSize / 2 complex points
    private let window: UnsafeMutablePointer<Float>
    private let frame: UnsafeMutablePointer<Float>
    private let work: UnsafeMutablePointer<Float>
    private let unpack: UnsafeMutablePointer<Float>  // e^{-2πik/N} for k in 0...N/2 (cos, sin)
    private let power: UnsafeMutablePointer<Float>   // maxFrames × bins
    private let spare: UnsafeMutablePointer<Float>   // one frame of melCount
    private let matmul: Matmul
    private let scratch: UnsafeMutableRawPointer

    /// `filters` points at `melCount × (fftSize/2 + 1)` floats that must outlive the front end.
    /// Precondition: fftSize is a multiple of 4 whose half factors into 2, 3 and 5.
    public init(filters: UnsafePointer<Float>, melCount: Int, fftSize: Int, hopLength: Int,
                maxFrames: Int, matmul: Matmul) {
        precondition(fftSize % 4 == 0 && maxFrames > 0)
        self.melCount = melCount; self.fftSize = fftSize; self.hopLength = hopLength; self.maxFrames = maxFrames
        bins = fftSize / 2 + 1
        self.filters = TensorView(type: .f32, data: UnsafeRawPointer(filters), cols: bins, rows: melCount)
        guard let fft = MixedRadixFFT(size: fftSize / 2) else { preconditionFailure("n_fft/2 = \(fftSize / 2) must factor into 2, 3 and 5") }
        self.fft = fft
        self.matmul = matmul
        window = .allocate(capacity: fftSize)
        for i in 0..<fftSize { window[i] = Float(0.5 - 0.5 * cos(2.0 * Double.pi * Double(i) / Double(fftSize))) }
        frame = .allocate(capacity: fftSize)
        work = .allocate(capacity: fftSize)
        unpack = .allocate(capacity: 2 * (fftSize / 2 + 1))
        for k in 0...(fftSize / 2) {
            let a = -2.0 * Double.pi * Double(k) / Double(fftSize)
            unpack[2 * k] = Float(cos(a)); unpack[2 * k + 1] = Float(sin(a))
        }
        power = .allocate(capacity: maxFrames * bins)
        spare = .allocate(capacity: melCount)
        scratch = .allocate(byteCount: Matmul.scratchBytes(type: .f32, cols: bins, vectors: maxFrames), alignment: 64)
    }

    deinit {
        fft.free(); window.deallocate(); frame.deallocate(); work.deallocate(); unpack.deallocate()
        power.deallocate(); spare.deallocate(); scratch.deallocate()
    }

    /// Frames of content in `sampleCount` samples (L / hop).
    public func contentFrames(sampleCount: Int) -> Int { sampleCount / hopLength }

    /// Writes `frames` normalized log-mel frames starting at content frame `firstFrame` into `out`,
    /// frame-major (`out[t * melCount + m]`); frames past the content are 0. The floor uses the
    /// maximum over every STFT frame of the whole signal (a scan when the signal is longer than
    /// this window) unless `globalMax` (from `maxLog`) is given. Preconditions: 0 < frames ≤
    /// maxFrames, firstFrame ≥ 0, samples non-empty.
    public func compute(_ samples: UnsafeBufferPointer<Float>, firstFrame: Int = 0, frames: Int,
                        out: UnsafeMutablePointer<Float>, globalMax: Float? = nil, padWithSilence: Bool = false) {
        precondition(frames > 0 && frames <= maxFrames && firstFrame >= 0 && samples.count > 0)
        let stftFrames = samples.count / hopLength + 1
        let live = max(0, min(frames, stftFrames - 1 - firstFrame))
        var maxLog = live > 0 ? logMel(samples, first: firstFrame, count: live, out: out) : -10
        if let g = globalMax {
            maxLog = g
        } else if firstFrame == 0 && live == stftFrames - 1 {
            maxLog = max(maxLog, logMel(samples, first: live, count: 1, out: spare))
        } else {
            maxLog = self.maxLog(samples)
        }
        let floor = maxLog - 8
        let total = live * melCount
        for i in 0..<total { out[i] = (max(out[i], floor) + 4) / 4 }
        // faster-whisper pads with 0; openai-whisper's padding is the log-mel of silence, the floor.
        let pad: Float = padWithSilence ? (max(-10, floor) + 4) / 4 : 0
        if live < frames { (out + total).update(repeating: pad, count: (frames - live) * melCount) }
    }

    /// The maximum log10 mel value over every STFT frame of `samples` (the value faster-whisper
    /// floors against), computed in windows of `maxFrames` without allocating.
    public func maxLog(_ samples: UnsafeBufferPointer<Float>) -> Float {
        let stftFrames = samples.count / hopLength + 1
        var m: Float = -10, t = 0
        while t < stftFrames {
            let n = min(maxFrames, stftFrames - t)
            // The power buffer doubles as output: melCount ≤ bins.
            m = max(m, logMel(samples, first: t, count: n, out: power))
            t += n
        }
        return m
    }

    /// log10(max(mel, 1e-10)) of STFT frames [first, first+count) into out; returns their maximum.
    private func logMel(_ samples: UnsafeBufferPointer<Float>, first: Int, count: Int,
                        out: UnsafeMutablePointer<Float>) -> Float {
        let n = fftSize, half = n / 2, length = samples.count
        let padded = length + hopLength  // audio then hop zeros; reflection happens around it
        @inline(__always) func sample(_ i: Int) -> Float {
            var j = i < 0 ? -i : i
            if j >= padded { j = 2 * (padded - 1) - j }
            return j < length && j >= 0 ? samples[j] : 0
        }
        for f in 0..<count {
            let start = (first + f) * hopLength - half
            if start >= 0 && start + n <= length {
                for i in 0..<n { frame[i] = samples[start + i] * window[i] }
            } else {
                for i in 0..<n { frame[i] = sample(start + i) * window[i] }
            }
            // Real FFT of n points through one complex FFT of n/2: z[m] = x[2m] + i·x[2m+1].
            fft.forward(frame, work: work)
            let p = power + f * bins
            for k in 0...half {
                let k1 = k % half, k2 = (half - k) % half
                let zr = frame[2 * k1], zi = frame[2 * k1 + 1]
                let cr = frame[2 * k2], ci = -frame[2 * k2 + 1]
                let er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci)
                let dr = zr - cr, di = zi - ci
                let or = 0.5 * di, oi = -0.5 * dr       // (z − conj z') / 2i
                let wr = unpack[2 * k], wi = unpack[2 * k + 1]
                let xr = er + wr * or - wi * oi, xi = ei + wr * oi + wi * or
                p[k] = xr * xr + xi * xi
            }
        }
        matmul.multiply(out, weight: filters, x: power, vectors: count, scratch: scratch)
        var m = -Float.infinity
        for i in 0..<(count * melCount) {
            let v = log10f(max(out[i], 1e-10))
            out[i] = v
            m = max(m, v)
        }
        return m
    }
}
