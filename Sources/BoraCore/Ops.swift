#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif
import CBoraKernels

/// Element-wise and row operations of transformer forward passes. Pointers and counts in,
/// output first; nothing allocates. Written so the optimizer can vectorize the loops.
public enum Ops {
    /// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i] over `count` elements (out may be x).
    @inline(__always)
    public static func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, count: Int, eps: Float) {
        // llama.cpp's order: float squares summed in double, the mean rounded to float, then
        // 1/sqrtf(mean + eps), and (x·scale)·w.
        var sum: Double = 0
        for i in 0..<count { sum += Double(x[i] * x[i]) }
        scaleRow(out, x, weight: weight, sum: sum, count: count, eps: eps)
    }

    /// out[i] = x[i] · 1/sqrtf(float(sum / count) + eps) · weight[i] (rmsNorm's second half).
    @inline(__always)
    static func scaleRow(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         sum: Double, count: Int, eps: Float) {
        let mean = Float(sum / Double(count))
        let scale = 1 / (mean + eps).squareRoot()
        for i in 0..<count { out[i] = x[i] * scale * weight[i] }
    }

    /// `rmsNorm` of `rows` consecutive rows of `count` floats (out may be x). Each row's sum is the
    /// same sequential double chain as `rmsNorm`'s (same bits); four rows' chains run side by side,
    /// since one chain is bound by the latency of its additions.
    @inline(__always)
    public static func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, rows: Int, count: Int, eps: Float) {
        var r = 0
        while r + 4 <= rows {
            let x0 = x + r * count, x1 = x0 + count, x2 = x1 + count, x3 = x2 + count
            var s0: Double = 0, s1: Double = 0, s2: Double = 0, s3: Double = 0
            for i in 0..<count {
                s0 += Double(x0[i] * x0[i]); s1 += Double(x1[i] * x1[i])
                s2 += Double(x2[i] * x2[i]); s3 += Double(x3[i] * x3[i])
            }
            scaleRow(out + r * count, x0, weight: weight, sum: s0, count: count, eps: eps)
            scaleRow(out + (r + 1) * count, x1, weight: weight, sum: s1, count: count, eps: eps)
            scaleRow(out + (r + 2) * count, x2, weight: weight, sum: s2, count: count, eps: eps)
            scaleRow(out + (r + 3) * count, x3, weight: weight, sum: s3, count: count, eps: eps)
            r += 4
        }
        for row in r..<rows { rmsNorm(out + row * count, x + row * count, weight: weight, count: count, eps: eps) }
    }

    /// x[i] += y[i].
    @inline(__always)
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// In-place softmax over `count` values; returns nothing, leaves probabilities summing to 1.
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var maxValue = -Float.infinity
        for i in 0..<count { maxValue = max(maxValue, x[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(x[i] - maxValue)
            x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<count { x[i] *= inv }
    }

    /// The rotary angles of one position as llama.cpp computes them (`ggml_rope_cache_init`):
    /// θ_0 = `position`, θ_{i+1} = θ_i · `thetaScale` in float (thetaScale = base^(−2/rotaryDim)),
    /// angle_i = `freqScale` · θ_i; `out[2i]` = cos, `out[2i+1]` = sin, for i < `pairs`.
    @inline(__always)
    public static func ropeAngles(_ out: UnsafeMutablePointer<Float>, position: Float, thetaScale: Float,
                                  freqScale: Float, pairs: Int) {
        var theta = position
        for i in 0..<pairs {
            let angle = freqScale * theta
            out[2 * i] = cosf(angle)
            out[2 * i + 1] = sinf(angle)
            theta *= thetaScale
        }
    }

    /// Rotary embedding on adjacent pairs (llama.cpp's "normal" rope): for each of `heads` heads of
    /// `headDim` values at `x + h*headDim`, pairs (2i, 2i+1) with 2i < `rotaryDim` are rotated by
    /// the angle whose cos/sin are `angles[2i]`, `angles[2i+1]` (from `ropeAngles`), with the
    /// fused multiply-adds of llama.cpp's compiled (vectorized) rotation: a' = fma(a, c, −(b·s)),
    /// b' = fma(a, s, b·c).
    @inline(__always)
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, rotaryDim: Int,
                            angles: UnsafePointer<Float>) {
        for i in 0..<(rotaryDim / 2) {
            let c = angles[2 * i], s = angles[2 * i + 1]
            for h in 0..<heads {
                let p = x + h * headDim + 2 * i
                let a = p[0], b = p[1]
                p[0] = (-(b * s)).addingProduct(a, c)
                p[1] = (b * c).addingProduct(a, s)
            }
        }
    }

    /// out[i] = f16(x[i]) (IEEE binary16 bits, round to nearest even).
    @inline(__always)
    public static func roundToHalf(_ out: UnsafeMutablePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) {
        bora_f32_to_f16_array(x, out, count)
    }

    /// x[i] = Float(f16(x[i])): rounds to half precision in place.
    @inline(__always)
    public static func roundThroughHalf(_ x: UnsafeMutablePointer<Float>, count: Int) {
        bora_f32_round_f16_array(x, x, count)
    }

    /// out[i] = Float(f16(x[i])).
    @inline(__always)
    public static func roundToFloatThroughHalf(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        bora_f32_round_f16_array(x, out, count)
    }
}
