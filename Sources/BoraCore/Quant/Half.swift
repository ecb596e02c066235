// IEEE binary16 (f16) and bfloat16 (bf16) conversions on raw bit patterns.
//
// Swift's `Float16` exists on x86-64 Linux, but not on every platform Swift targets (it is
// unavailable on macOS x86-64), and its NaN handling is whatever the hardware does. These
// functions are plain integer code, identical everywhere, and are the contract the C side
// (`bora_f16_to_f32` / `bora_f32_to_f16`) implements. Tests check them against `Float16`
// over all 65536 half patterns.

/// Bit-exact conversions between `Float` and the 16-bit float formats stored in GGUF files.
/// Quantities are raw little-endian-decoded bit patterns (`UInt16`), never Swift `Float16`.
public enum FloatBits {
    /// binary16 bits → Float. Exact for every finite value and ±inf (every half is a float).
    /// NaN → quiet NaN with the same sign and the half's 10 payload bits in the top of the
    /// float payload (quiet bit forced), as x86 F16C and ARM FCVT do.
    @inline(__always)
    public static func f16ToF32(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F {
            // inf (mantissa 0) or NaN (quieted)
            let quiet: UInt32 = mantissa != 0 ? 0x0040_0000 : 0
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13) | quiet)
        }
        if exponent == 0 {
            // ±0 or subnormal: mantissa * 2^-24, exact in Float
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        // normal: rebias exponent 15 → 127
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Float → binary16 bits, round-to-nearest-even. Values ≥ 65520 in magnitude become ±inf,
    /// magnitudes ≤ 2^-25 become ±0 (sign kept), subnormal halves are produced correctly.
    /// NaN → quiet NaN with the sign and the top 9 payload bits kept (0x7E00 | payload>>13).
    @inline(__always)
    public static func f32ToF16(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let magnitude = x & 0x7FFF_FFFF
        if magnitude > 0x7F80_0000 {
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x03FF)
        }
        if magnitude >= 0x477F_F000 {
            // ≥ 65520 (halfway between 65504 and 2^16; the tie goes to even = inf), or inf
            return sign | 0x7C00
        }
        if magnitude < 0x3880_0000 {
            // below 2^-14: result is subnormal or zero. Adding 0.5 aligns the value so that
            // the FPU's round-to-nearest-even does the rounding at bit 2^-24.
            let aligned = Float(bitPattern: magnitude) + 0.5
            return sign | UInt16(truncatingIfNeeded: aligned.bitPattern &- 0x3F00_0000)
        }
        // normal: rebias 127 → 15 and round the 13 dropped bits to nearest even
        let mantissaOdd = (magnitude >> 13) & 1
        let rounded = magnitude &+ 0xC800_0FFF &+ mantissaOdd
        return sign | UInt16(truncatingIfNeeded: rounded >> 13)
    }

    /// bfloat16 bits → Float (the high half of the float; exact, NaNs unchanged).
    @inline(__always)
    public static func bf16ToF32(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float → bfloat16 bits exactly as ggml's `ggml_compute_fp32_to_bf16`: NaN → its top half
    /// with the quiet bit (0x0040) set; otherwise round-to-nearest-even of the top 16 bits
    /// (overflow rounds to ±inf).
    @inline(__always)
    public static func f32ToBF16(_ value: Float) -> UInt16 {
        let x = value.bitPattern
        if x & 0x7FFF_FFFF > 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: x >> 16) | 0x0040
        }
        return UInt16(truncatingIfNeeded: (x &+ 0x7FFF &+ ((x >> 16) & 1)) >> 16)
    }
}
