// Reference quantizers: ggml's quantize_row_*_ref, statement for statement.
//
// Weight formats (Q8_0, Q4_0, Q4_1, Q5_0) produce the same bytes as ggml and as the `gguf`
// Python package (`gguf.quants.quantize`, which mirrors ggml), checked against goldens in
// Tests/Fixtures/quant. Activation formats (Q8_0, Q8_1, Q8_K) are what the dot kernels
// multiply against; the C quantizers implement the same arithmetic.
//
// All arithmetic is Float (binary32) without fused multiply-add, in ggml's order. The only
// deliberate departures from ggml are for input ggml leaves undefined or unspecified:
//   * Float → integer conversions are clamped first, so NaN/inf inputs give valid (if
//     meaningless) blocks instead of trapping (C's out-of-range float→int is UB).
//     Activation quants are clamped to -127...127 (bora_kernels.h: the SIMD dots cannot
//     negate -128); for finite input ggml never produces -128 either, except when max|x| is
//     so small (subnormal) that 1/d overflows.
//   * Q8_K: an all-zero super-block also zeroes `bsums` (ggml leaves them unwritten).
//   * Q8_0/Q8_1: NaN elements are ignored when finding max|x| (in ggml a NaN makes amax NaN).

extension ReferenceKernels {
    /// Types `quantize` accepts.
    public static let quantizableTypes: Set<QuantType> = [.f32, .f16, .bf16, .q8_0, .q8_1, .q4_0, .q4_1, .q5_0, .q8_K]

    /// Encodes `count` floats from `src` as `type` into `dst` (`type.byteCount(elements: count)` bytes).
    ///
    /// Per block (32 elements; Q8_K 256):
    /// - Q8_0 (`quantize_row_q8_0_ref`): amax = max|x|, d = amax/127, id = d≠0 ? 1/d : 0,
    ///   q = roundf(x*id) (half away from zero); stores f16(d).
    /// - Q8_1 (`quantize_row_q8_1_ref`): qs as Q8_0; s = f16(Float(Σq) * d) with the
    ///   unrounded f32 d.
    /// - Q4_0 (`quantize_row_q4_0_ref`): max = the first element of largest |x| (sign kept),
    ///   d = max / -8, q = min(15, trunc(x*id + 8.5)).
    /// - Q4_1 (`quantize_row_q4_1_ref`): d = (max-min)/15, m = min, q = min(15, trunc((x-min)*id + 0.5)).
    /// - Q5_0 (`quantize_row_q5_0_ref`): as Q4_0 with d = max / -16, q = min(31, trunc(x*id + 16.5)).
    /// - Q8_K (`quantize_row_q8_K_ref`): max = the first element of largest |x| (sign kept);
    ///   if it is 0 the block is all zeros (d = 0, qs = 0, bsums = 0). Otherwise
    ///   iscale = -127/max, q = min(127, nearest_int(iscale*x)) with nearest_int rounding half
    ///   to even (ggml's 1.5·2^23 trick), bsums = sums of 16, d = 1/iscale stored as f32.
    ///   (So the element equal to `max` becomes -127 and d is negative when max > 0.)
    /// - F32 copies; F16/BF16 convert with `FloatBits` (round-to-nearest-even).
    /// Q8_0/Q8_1/Q8_K quants always lie in -127...127 (the activation contract of bora_kernels.h).
    /// The f16 scales are rounded with `FloatBits.f32ToF16`; quantization itself uses the
    /// unrounded f32 scale, as ggml does.
    /// - Precondition: `type` is in `quantizableTypes` and `count` is a multiple of `type.blockSize`.
    public static func quantize(_ type: QuantType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
        precondition(count >= 0 && count % type.blockSize == 0, "quantize: \(count) elements is not a whole number of \(type) blocks")
        let blocks = count / type.blockSize
        let stride = type.bytesPerBlock
        switch type {
        case .f32:
            for i in 0..<count { dst.storeBytes(of: src[i], toByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { storeU16(FloatBits.f32ToF16(src[i]), dst, 2 * i) }
        case .bf16:
            for i in 0..<count { storeU16(FloatBits.f32ToBF16(src[i]), dst, 2 * i) }
        case .q8_0:
            for b in 0..<blocks { quantizeQ8Block(src + 32 * b, dst + stride * b, withSum: false) }
        case .q8_1:
            for b in 0..<blocks { quantizeQ8Block(src + 32 * b, dst + stride * b, withSum: true) }
        case .q4_0:
            for b in 0..<blocks { quantizeQ4_0Block(src + 32 * b, dst + stride * b) }
        case .q4_1:
            for b in 0..<blocks { quantizeQ4_1Block(src + 32 * b, dst + stride * b) }
        case .q5_0:
            for b in 0..<blocks { quantizeQ5_0Block(src + 32 * b, dst + stride * b) }
        case .q8_K:
            for b in 0..<blocks { quantizeQ8KBlock(src + 256 * b, dst + stride * b) }
        default:
            preconditionFailure("quantize: no reference quantizer for \(type)")
        }
    }

    /// Quantizes one activation row of `n` floats into `type` (an `activationType`: Q8_0, Q8_1,
    /// Q8_K or F32) — the twin of `bora_kernel_set.quantize[type]`. Same as `quantize`.
    public static func quantizeActivation(_ type: QuantType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
        precondition([.q8_0, .q8_1, .q8_K, .f32].contains(type), "quantizeActivation: \(type) is not an activation type")
        precondition(count >= 0 && count % type.blockSize == 0, "quantizeActivation: \(count) elements is not a whole number of \(type) blocks")
        switch type {
        case .q8_0, .q8_1:
            for b in 0..<(count / 32) { quantizeQ8Block(src + 32 * b, dst + type.bytesPerBlock * b, withSum: type == .q8_1, activation: true) }
        default:
            quantize(type, src, dst, count: count)
        }
    }

    // MARK: - Blocks

    /// Q8_0 / Q8_1 block. Weights (`activation == false`) follow ggml's `quantize_row_q8_0_ref` /
    /// `quantize_row_q8_1_ref`: q = roundf(x · (1/d)), ties away from zero. Activations follow
    /// llama.cpp's SIMD `quantize_row_q8_0` / `quantize_row_q8_1` (AVX2 and NEON alike), what it
    /// runs: q = round-half-even(x · (127/amax)). Both: d = amax/127, s = f16(d · Σq).
    static func quantizeQ8Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, withSum: Bool,
                                activation: Bool = false) {
        var amax: Float = 0
        for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]) }  // NaN elements are skipped
        let d = amax / 127
        let id: Float = activation ? (amax != 0 ? 127 / amax : 0) : (d != 0 ? 1 / d : 0)
        let rule: FloatingPointRoundingRule = activation ? .toNearestOrEven : .toNearestOrAwayFromZero
        storeU16(FloatBits.f32ToF16(d), y, 0)
        let qsOffset = withSum ? 4 : 2
        var sum = 0
        for j in 0..<32 {
            let q = clampedInt((x[j] * id).rounded(rule), -127, 127)
            y.storeBytes(of: Int8(q), toByteOffset: qsOffset + j, as: Int8.self)
            sum += q
        }
        if withSum { storeU16(FloatBits.f32ToF16(d * Float(sum)), y, 2) }
    }

    /// Q4_0 block (`quantize_row_q4_0_ref`).
    static func quantizeQ4_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let max = signedAbsMax(x, 32)
        let d = max / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(FloatBits.f32ToF16(d), y, 0)
        for j in 0..<16 {
            let q0 = truncatedInt(x[j] * id + 8.5, max: 15)
            let q1 = truncatedInt(x[j + 16] * id + 8.5, max: 15)
            y.storeBytes(of: UInt8(q0 | q1 << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// Q4_1 block (`quantize_row_q4_1_ref`).
    static func quantizeQ4_1Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < min { min = x[j] }
            if x[j] > max { max = x[j] }
        }
        let d = (max - min) / 15
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(FloatBits.f32ToF16(d), y, 0)
        storeU16(FloatBits.f32ToF16(min), y, 2)
        for j in 0..<16 {
            let q0 = truncatedInt((x[j] - min) * id + 0.5, max: 15)
            let q1 = truncatedInt((x[j + 16] - min) * id + 0.5, max: 15)
            y.storeBytes(of: UInt8(q0 | q1 << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    /// Q5_0 block (`quantize_row_q5_0_ref`).
    static func quantizeQ5_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let max = signedAbsMax(x, 32)
        let d = max / -16
        let id: Float = d != 0 ? 1 / d : 0
        storeU16(FloatBits.f32ToF16(d), y, 0)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = truncatedInt(x[j] * id + 16.5, max: 31)
            let q1 = truncatedInt(x[j + 16] * id + 16.5, max: 31)
            y.storeBytes(of: UInt8((q0 & 0x0F) | (q1 & 0x0F) << 4), toByteOffset: 6 + j, as: UInt8.self)
            qh |= UInt32((q0 & 0x10) >> 4) << UInt32(j)
            qh |= UInt32((q1 & 0x10) >> 4) << UInt32(j + 16)
        }
        y.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
    }

    /// Q8_K super-block (`quantize_row_q8_K_ref`).
    static func quantizeQ8KBlock(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var max: Float = 0, amax: Float = 0
        for j in 0..<256 where abs(x[j]) > amax {
            amax = abs(x[j])
            max = x[j]
        }
        guard amax != 0 else {
            y.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
            return
        }
        let iscale = -127 / max
        for k in 0..<16 {
            var sum = 0
            for j in 16 * k..<16 * k + 16 {
                // ggml clamps only at 127; the -127 floor matters only when -127/max overflows
                // (max subnormal), where ggml's result is undefined anyway.
                let q = Swift.max(-127, Swift.min(127, nearestInt(iscale * x[j])))
                y.storeBytes(of: Int8(q), toByteOffset: 4 + j, as: Int8.self)
                sum += q
            }
            y.storeBytes(of: Int16(sum).littleEndian, toByteOffset: 260 + 2 * k, as: Int16.self)
        }
        y.storeBytes(of: 1 / iscale, toByteOffset: 0, as: Float.self)
    }

    // MARK: - Helpers

    @inline(__always) static func storeU16(_ v: UInt16, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// The first element with the largest |x| (ggml: `if (amax < fabsf(v)) { amax = …; max = v }`).
    @inline(__always) static func signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var amax: Float = 0, max: Float = 0
        for j in 0..<n where amax < abs(x[j]) {
            amax = abs(x[j])
            max = x[j]
        }
        return max
    }

    /// `MIN(upper, (int8_t)v)` for v ≥ 0 — truncation toward zero — with NaN/negative → 0
    /// instead of undefined behaviour.
    @inline(__always) static func truncatedInt(_ v: Float, max upper: Int) -> Int {
        guard v > 0 else { return 0 }
        return v >= Float(upper) ? upper : Int(v)
    }

    /// An already-rounded float clamped to lo...hi (NaN → 0).
    @inline(__always) static func clampedInt(_ v: Float, _ lo: Int, _ hi: Int) -> Int {
        if v.isNaN { return 0 }
        return Int(Swift.min(Swift.max(v, Float(lo)), Float(hi)))
    }

    /// ggml `nearest_int`: round half to even via adding 1.5·2^23 (valid for |v| ≤ 2^22;
    /// the quantizers only call it with |v| ≲ 127). NaN → 0.
    @inline(__always) static func nearestInt(_ v: Float) -> Int {
        if v.isNaN { return 0 }
        let clamped = Swift.min(Swift.max(v, -4_194_303), 4_194_303)
        let bits = (clamped + 12_582_912).bitPattern
        return Int(bits & 0x007F_FFFF) - 0x0040_0000
    }
}
