#if canImport(Glibc)
import Glibc
#endif

/// Element-wise and row operations of transformer forward passes. Pointers and counts in,
/// output first; nothing allocates. Written so the optimizer can vectorize the loops.
public enum Ops {
    /// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i] over `count` elements (out may be x).
    @inline(__always)
    public static func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, count: Int, eps: Float) {
        var sum: Float = 0
        for i in 0..<count { sum += x[i] * x[i] }
        let scale = 1 / (sum / Float(count) + eps).squareRoot()
        for i in 0..<count { out[i] = x[i] * scale * weight[i] }
    }

    /// x[i] += y[i].
    @inline(__always)
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// gate[i] = silu(gate[i]) * up[i] (SwiGLU), silu(g) = g / (1 + e^-g).
    @inline(__always)
    public static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
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

    /// Rotary embedding on adjacent pairs (llama.cpp's "normal" rope): for each of `heads` heads of
    /// `headDim` values at `x + h*headDim`, pairs (2i, 2i+1) with 2i < `rotaryDim` are rotated by
    /// angle `position * inverseFrequencies[i]`.
    @inline(__always)
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, rotaryDim: Int,
                            position: Float, inverseFrequencies: UnsafePointer<Float>) {
        for i in 0..<(rotaryDim / 2) {
            let theta = position * inverseFrequencies[i]
            let c = cosf(theta), s = sinf(theta)
            for h in 0..<heads {
                let p = x + h * headDim + 2 * i
                let a = p[0], b = p[1]
                p[0] = a * c - b * s
                p[1] = a * s + b * c
            }
        }
    }


    /// out[i] = f16(x[i]) (IEEE binary16 bits, round to nearest even).
    @inline(__always)
    public static func roundToHalf(_ out: UnsafeMutablePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = FloatBits.f32ToF16(x[i]) }
    }

    /// x[i] = Float(f16(x[i])): rounds to half precision in place.
    @inline(__always)
    public static func roundThroughHalf(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = FloatBits.f16ToF32(FloatBits.f32ToF16(x[i])) }
    }

    /// out[i] = Float(f16(x[i])).
    @inline(__always)
    public static func roundToFloatThroughHalf(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = FloatBits.f16ToF32(FloatBits.f32ToF16(x[i])) }
    }
}
