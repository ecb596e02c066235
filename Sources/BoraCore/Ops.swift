#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// The reference (pure Swift) twin of every numeric op the models call, and the one definition of
/// the few ops that have no C kernel (`rmsNorm`, `add`, `ropeAngles`). Model code calls these
/// through `KernelSet`, never directly: `BORA_KERNELS=reference` runs exactly this file, every other
/// set the C table (`bora_kernel_set`), and the kernel-set tests compare the two entry by entry.
/// Each twin performs its C kernel's IEEE operations in the same order, so on x86-64 the results
/// are the same bits. Pointers and counts in, output first; nothing allocates.
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

    /// out[i] = f16(x[i]) (IEEE binary16 bits, round to nearest even; `bora_f32_to_f16_array`).
    @inline(__always)
    public static func roundToHalf(_ out: UnsafeMutablePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = FloatBits.f32ToF16(x[i]) }
    }

    /// out[i] = Float(f16(x[i])) (out may be x; `bora_f32_round_f16_array`).
    @inline(__always)
    public static func roundToFloatThroughHalf(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = FloatBits.f16ToF32(FloatBits.f32ToF16(x[i])) }
    }

    // MARK: - LLM ops in llama.cpp's order (twins of kernels_llm.c's portable code)

    /// llama.cpp's vector exp (`ggml_v_expf`; `bora_llm_expf`): n = round(x·log2 e), b = x − n·ln2
    /// in two parts, exp(x) = 2^n·(1 + p(b)) with a degree-5 polynomial, and a two-factor scale
    /// when |n| > 126.
    @inline(__always)
    public static func llmExp(_ x: Float) -> Float {
        let shifter: Float = 0x1.8p23
        let z = fused(x, 0x1.715476p+0, shifter)
        let n = z - shifter
        let b = fused(-n, 0x1.7f7d1cp-20, fused(-n, 0x1.62e4p-1, x))
        let e = z.bitPattern &<< 23
        let k = Float(bitPattern: e &+ Float(1).bitPattern)
        let u = b * b
        let j = fused(fused(fused(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fused(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u, 0x1.ffffecp-1 * b)
        if !(abs(n) > 126) { return fused(k, j, k) }
        let g: UInt32 = n <= 0 ? 0x8200_0000 : 0
        let s1 = Float(bitPattern: g &+ 0x7F00_0000)
        let s2 = Float(bitPattern: e &- g)
        if abs(n) > 192 { return s1 * s1 }
        return fused(s2, j, s2) * s1
    }

    /// `gate[i] = silu(gate[i]) · up[i]`: lanes of 8 through `llmExp`, a tail of `count % 8` through
    /// libm's expf (`bora_swiglu_fn`).
    @inline(__always)
    public static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            for l in i..<(i + 8) { let x = gate[l]; gate[l] = (x / (1 + llmExp(0 - x))) * up[l] }
            i += 8
        }
        while i < count { gate[i] = (gate[i] / (1 + expf(-gate[i]))) * up[i]; i += 1 }
    }

    /// In-place softmax of `count` floats in llama.cpp's order (`bora_softmax_fn`): x −= max, `llmExp`,
    /// Σ in double of the 8-lane chunk sums (a partial chunk's missing lanes 0), x ·= Float(1 / Σ).
    @inline(__always)
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count == 0 { return }
        var m = -Float.infinity
        for i in 0..<count { m = m > x[i] ? m : x[i] }
        var sum: Double = 0
        var i = 0
        while i < count {
            var lanes = SIMD8<Float>(repeating: 0)
            for l in 0..<8 where i + l < count { lanes[l] = llmExp(x[i + l] - m); x[i + l] = lanes[l] }
            sum += Double(hsum8(lanes))
            i += 8
        }
        let scale = Float(1 / sum)
        for i in 0..<count { x[i] *= scale }
    }

    /// ggml's and tinyBLAS's AVX horizontal sum: t[i] = l[i+4] + l[i], (t0 + t2) + (t1 + t3).
    @inline(__always)
    static func hsum8(_ l: SIMD8<Float>) -> Float {
        let t0 = l[4] + l[0], t1 = l[5] + l[1], t2 = l[6] + l[2], t3 = l[7] + l[3]
        return (t0 + t2) + (t1 + t3)
    }

    /// `gemvF16` of `KernelSet` (`bora_gemv_f16_fn`): f16 weights, either order, rows whole or in segments.
    public static func gemvF16(rows: Int, n: Int, w: UnsafePointer<UInt16>, wStride: Int, segment: Int, segmentStride: Int,
                               x: UnsafePointer<Float>, xStride: Int, vectors: Int, y: UnsafeMutablePointer<Float>, yStride: Int, single: Bool) {
        gemv(rows: rows, n: n, w: w, wStride: wStride, segment: segment, segmentStride: segmentStride, x: x, xStride: xStride,
             vectors: vectors, y: y, yStride: yStride, single: single, FloatBits.f16ToF32)
    }

    /// `gemvF32` of `KernelSet` (`bora_gemv_f32_fn`): as `gemvF16` with f32 weights.
    public static func gemvF32(rows: Int, n: Int, w: UnsafePointer<Float>, wStride: Int, segment: Int, segmentStride: Int,
                               x: UnsafePointer<Float>, xStride: Int, vectors: Int, y: UnsafeMutablePointer<Float>, yStride: Int, single: Bool) {
        gemv(rows: rows, n: n, w: w, wStride: wStride, segment: segment, segmentStride: segmentStride, x: x, xStride: xStride,
             vectors: vectors, y: y, yStride: yStride, single: single) { $0 }
    }

    /// Both gemv orders: `single` — ggml_vec_dot's four 8-lane accumulators over 32-element steps,
    /// reduced (0+2)+(1+3), then halves and pairs; otherwise tinyBLAS's one 8-lane accumulator and
    /// `hsum8`. Elements past n count as 0; a segment is a whole number of steps.
    @inline(__always)
    static func gemv<Element>(rows: Int, n: Int, w: UnsafePointer<Element>, wStride: Int, segment: Int, segmentStride: Int,
                              x xs: UnsafePointer<Float>, xStride: Int, vectors: Int, y ys: UnsafeMutablePointer<Float>, yStride: Int,
                              single: Bool, _ toFloat: (Element) -> Float) {
        let seg = segment == 0 || segment > n ? (n > 0 ? n : 1) : segment
        for v in 0..<vectors {
            let x = xs + v * xStride, y = ys + v * yStride
            for r in 0..<rows {
                var a0 = SIMD8<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
                var row = w + r * wStride
                var s0 = 0
                while s0 < n {
                    let xk = x + s0, len = min(n - s0, seg)
                    var k = 0
                    while k < len {
                        if single {
                            for l in 0..<8 {
                                if k + l < len { a0[l] = fused(toFloat(row[k + l]), xk[k + l], a0[l]) }
                                if k + 8 + l < len { a1[l] = fused(toFloat(row[k + 8 + l]), xk[k + 8 + l], a1[l]) }
                                if k + 16 + l < len { a2[l] = fused(toFloat(row[k + 16 + l]), xk[k + 16 + l], a2[l]) }
                                if k + 24 + l < len { a3[l] = fused(toFloat(row[k + 24 + l]), xk[k + 24 + l], a3[l]) }
                            }
                            k += 32
                        } else {
                            for l in 0..<8 where k + l < len { a0[l] = fused(toFloat(row[k + l]), xk[k + l], a0[l]) }
                            k += 8
                        }
                    }
                    s0 += seg
                    row += segmentStride
                }
                if single {
                    let s = (a0 + a2) + (a1 + a3)
                    let t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7]
                    y[r] = (t0 + t1) + (t2 + t3)
                } else {
                    y[r] = hsum8(a0)
                }
            }
        }
    }

    // MARK: - Whisper math (twins of kernels_math.c)

    /// kernels_math.c's erf: a rational minimax approximation on [−4, 4] (|err| < 5e-7).
    @inline(__always)
    public static func erf(_ value: Float) -> Float {
        var x = value > 4 ? 4 : value
        x = x < -4 ? -4 : x
        let x2 = x * x
        var p: Float = -0x1.2bbe16p-32
        p = p * x2 + 0x1.dbffdcp-26
        p = p * x2 + -0x1.19fea2p-19
        p = p * x2 + -0x1.dd85a4p-15
        p = p * x2 + -0x1.8158c6p-11
        p = p * x2 + -0x1.8343ecp-9
        p = p * x2 + -0x1.07b7a8p-6
        p = p * x
        var q: Float = -0x1.e8c19ap-17
        q = q * x2 + -0x1.bf7a52p-13
        q = q * x2 + -0x1.b9249cp-10
        q = q * x2 + -0x1.e337fp-8
        q = q * x2 + -0x1.d36d4ep-7
        return p / q
    }

    /// kernels_math.c's exp: range reduction and a degree-6 polynomial (relative err < 5e-6; inputs
    /// clamped to [−87, 88]).
    @inline(__always)
    public static func exp(_ value: Float) -> Float {
        var x = value > 88 ? 88 : value
        x = x < -87 ? -87 : x
        let magic: Float = 0x1.8p+23
        let n = (x * 0x1.715476p+0 + magic) - magic
        var r = x - n * 0x1.63p-1
        r = r + n * 0x1.bd0106p-13
        var y: Float = 0x1.a0d2cep-13
        y = y * r + 0x1.6e879cp-10
        y = y * r + 0x1.11121p-7
        y = y * r + 0x1.555382p-5
        y = y * r + 0x1.555554p-3
        y = y * r + 0x1p-1
        y = y * r * r + r + 1
        // x86's cvttss2si: NaN gives Int32.min (the C code's value there)
        let e = n.isNaN ? Int32.min : Int32(n)
        return y * Float(bitPattern: UInt32(bitPattern: (e &+ 127) &<< 23))
    }

    /// Σ x in 8 interleaved lanes, ((0+4)+(1+5))+((2+6)+(3+7)), then the tail in order.
    @inline(__always)
    static func laneSum(_ p: SIMD8<Float>) -> Float { ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7])) }

    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var p = SIMD8<Float>(repeating: 0), i = 0
        while i + 8 <= n { for j in 0..<8 { p[j] += x[i + j] }; i += 8 }
        var s = laneSum(p)
        while i < n { s += x[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var p = SIMD8<Float>(repeating: x[0]), i = 0
        while i + 8 <= n { for j in 0..<8 { p[j] = x[i + j] > p[j] ? x[i + j] : p[j] }; i += 8 }
        var m = p[0]
        for j in 1..<8 { m = p[j] > m ? p[j] : m }
        while i < n { m = x[i] > m ? x[i] : m; i += 1 }
        return m
    }

    /// x[i] = 0.5·x·(1 + erf(x/√2)) in place (`bora_gelu_f32`).
    @inline(__always)
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { let v = x[i]; x[i] = 0.5 * v * (1 + erf(v * 0x1.6a09e6p-1)) }
    }

    /// x[r·cols + i] += bias[i] for r < rows, then `gelu` when asked (`bora_add_bias_gelu_f32`).
    @inline(__always)
    public static func addBiasGELU(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int, gelu applies: Bool) {
        for r in 0..<rows {
            let row = x + r * cols
            for i in 0..<cols { row[i] += bias[i] }
            if applies { gelu(row, count: cols) }
        }
    }

    /// x = softmax(scale·x) in place with `exp` (`bora_softmax_f32`).
    @inline(__always)
    public static func scaledSoftmax(_ x: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        if count == 0 { return }
        let m = maximum(x, count)
        for i in 0..<count { x[i] = exp((x[i] - m) * scale) }
        let inv = 1 / sum(x, count)
        for i in 0..<count { x[i] *= inv }
    }

    /// out = (x − mean)/√(var + eps)·weight + bias (`bora_layer_norm_f32`; out may be x).
    @inline(__always)
    public static func layerNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>, count n: Int, eps: Float) {
        let mean = sum(x, n) / Float(n)
        var p = SIMD8<Float>(repeating: 0), i = 0
        while i + 8 <= n { for j in 0..<8 { p[j] += (x[i + j] - mean) * (x[i + j] - mean) }; i += 8 }
        var variance = laneSum(p)
        while i < n { variance += (x[i] - mean) * (x[i] - mean); i += 1 }
        variance /= Float(n)
        let inv = 1 / (variance + eps).squareRoot()
        for i in 0..<n { out[i] = (x[i] - mean) * inv * weight[i] + bias[i] }
    }

    /// log Σ exp(x) (`bora_logsumexp_f32`): −inf for no elements or all −inf.
    @inline(__always)
    public static func logSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        if n == 0 { return -.infinity }
        let m = maximum(x, n)
        if m == -.infinity { return -.infinity }
        var p = SIMD8<Float>(repeating: 0), i = 0
        while i + 8 <= n { for j in 0..<8 { p[j] += exp(x[i + j] - m) }; i += 8 }
        var s = laneSum(p)
        while i < n { s += exp(x[i] - m); i += 1 }
        return m + logf(s)
    }

    /// The first index of the largest x (a scalar scan; NaNs never win unless first); 0 for none
    /// (`bora_argmax_f32`).
    @inline(__always)
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for i in 1..<max(count, 1) where x[i] > x[best] { best = i }
        return best
    }
}

/// a·b + c with one rounding (C's fmaf).
@inline(__always)
private func fused(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }
