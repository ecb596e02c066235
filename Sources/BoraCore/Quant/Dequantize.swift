// Swift reference ("ground truth") kernels: block layouts and dequantization.
//
// Every function here mirrors a C kernel in CBoraKernels (see bora_kernels.h) and the
// corresponding ggml reference in ggml-quants.c; tests compare the C kernels with these.
// Speed is not a goal; clarity and bit-exactness are.
//
// Block layouts (bytes, little-endian, no padding; f16 = IEEE binary16 bits):
//   Q8_0  34: d f16 | qs int8[32]                       x[j] = d*qs[j]
//   Q8_1  36: d f16 | s f16 | qs int8[32]               x[j] = d*qs[j];  s = d*Σqs
//   Q4_0  18: d f16 | qs u8[16]                         x[j] = d*(lo4(qs[j])-8), x[j+16] = d*(hi4(qs[j])-8)
//   Q4_1  20: d f16 | m f16 | qs u8[16]                 x[j] = d*lo4(qs[j]) + m, x[j+16] = d*hi4(qs[j]) + m
//   Q5_0  22: d f16 | qh u8[4] | qs u8[16]              q = nibble | (bit<<4), x = d*(q-16);
//                                                       element j takes bit j of qh (u32), element j+16 bit j+16
//   Q4_K 144: d f16 | dmin f16 | scales u8[12] | qs u8[128]
//             8 sub-blocks of 32 with 6-bit scale/min (get_scale_min_k4); per 64 elements the
//             32 bytes of qs give the low nibbles (sub-block 2k) then the high nibbles (2k+1).
//             x = d*sc*q - dmin*m
//   Q6_K 210: ql u8[128] | qh u8[64] | scales int8[16] | d f16
//             per 128 elements: q = (ql nibble | 2 bits of qh <<4) - 32, x = d*sc*q
//   Q8_K 292: d f32 | qs int8[256] | bsums int16[16]    x[j] = d*qs[j];  bsums[k] = Σ qs[16k..16k+15]

/// Swift reference kernels with the contracts of the C kernels in `bora_kernels.h`.
/// Pointers need no alignment. Rows of `count` elements must be a whole number of blocks;
/// violating that, or passing a type a function does not support, is a programmer error
/// (precondition failure).
public enum ReferenceKernels {
    /// Types `dequantize` accepts.
    public static let dequantizableTypes: Set<QuantType> = [.f32, .f16, .bf16, .q8_0, .q8_1, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K, .q8_K]

    /// Decodes `count` elements of `type` stored at `src` into `dst[0..<count]`.
    ///
    /// Bit-exact with ggml's `dequantize_row_*` (and the `gguf` Python package's
    /// `gguf.quants.dequantize`) when those evaluate in plain float arithmetic without fused
    /// multiply-add: the operations and their order are the same (e.g. Q4_1 is `d*q + m`,
    /// Q4_K is `(d*sc)*q - dmin*m`, Q6_K is `(d*sc)*q`).
    /// - Precondition: `type` is in `dequantizableTypes` and `count` is a multiple of `type.blockSize`.
    public static func dequantize(_ type: QuantType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0 && count % type.blockSize == 0, "dequantize: \(count) elements is not a whole number of \(type) blocks")
        let blocks = count / type.blockSize
        let stride = type.bytesPerBlock
        switch type {
        case .f32:
            for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { dst[i] = FloatBits.f16ToF32(u16(src, 2 * i)) }
        case .bf16:
            for i in 0..<count { dst[i] = FloatBits.bf16ToF32(u16(src, 2 * i)) }
        case .q8_0, .q8_1:
            let qsOffset = type == .q8_0 ? 2 : 4
            for b in 0..<blocks {
                let block = src + b * stride, y = dst + b * 32
                let d = f16(block, 0)
                for j in 0..<32 { y[j] = Float(i8(block, qsOffset + j)) * d }
            }
        case .q4_0:
            for b in 0..<blocks {
                let block = src + b * stride, y = dst + b * 32
                let d = f16(block, 0)
                for j in 0..<16 {
                    let q = u8(block, 2 + j)
                    y[j] = Float(Int(q & 0x0F) - 8) * d
                    y[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let block = src + b * stride, y = dst + b * 32
                let d = f16(block, 0), m = f16(block, 2)
                for j in 0..<16 {
                    let q = u8(block, 4 + j)
                    y[j] = Float(q & 0x0F) * d + m
                    y[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0:
            for b in 0..<blocks {
                let block = src + b * stride, y = dst + b * 32
                let d = f16(block, 0)
                let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
                for j in 0..<16 {
                    let q = u8(block, 6 + j)
                    let high0 = Int((qh >> UInt32(j)) & 1) << 4
                    let high1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                    y[j] = Float((Int(q & 0x0F) | high0) - 16) * d
                    y[j + 16] = Float((Int(q >> 4) | high1) - 16) * d
                }
            }
        case .q4_K:
            for b in 0..<blocks {
                let block = src + b * stride, y = dst + b * 256
                let d = f16(block, 0), dmin = f16(block, 2)
                let scales = block + 4, qs = block + 16
                for k in 0..<4 {  // 64 elements per step: low nibbles, then high nibbles
                    let (sc0, m0) = scaleMinK4(2 * k, scales)
                    let (sc1, m1) = scaleMinK4(2 * k + 1, scales)
                    let d0 = d * Float(sc0), min0 = dmin * Float(m0)
                    let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                    for l in 0..<32 {
                        let q = u8(qs, 32 * k + l)
                        y[64 * k + l] = d0 * Float(q & 0x0F) - min0
                        y[64 * k + 32 + l] = d1 * Float(q >> 4) - min1
                    }
                }
            }
        case .q6_K:
            for b in 0..<blocks {
                let block = src + b * stride
                withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { q in
                    unpackQ6K(block, into: q.baseAddress!)
                    let d = f16(block, 208)
                    let y = dst + b * 256
                    for e in 0..<256 {
                        let scale = Float(i8(block, 192 + e / 16))
                        y[e] = d * scale * Float(q[e])
                    }
                }
            }
        case .q8_K:
            for b in 0..<blocks {
                let block = src + b * stride, y = dst + b * 256
                let d = block.loadUnaligned(fromByteOffset: 0, as: Float.self)
                for j in 0..<256 { y[j] = d * Float(i8(block, 4 + j)) }
            }
        default:
            preconditionFailure("dequantize: no reference kernel for \(type)")
        }
    }

    // MARK: - Shared helpers (internal: used by the quantizers and dot kernels too)

    @inline(__always) static func u8(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always) static func i8(_ p: UnsafeRawPointer, _ offset: Int) -> Int8 {
        p.load(fromByteOffset: offset, as: Int8.self)
    }

    @inline(__always) static func u16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        FloatBits.f16ToF32(u16(p, offset))
    }

    /// ggml `get_scale_min_k4`: the 6-bit scale and min of Q4_K sub-block `j` (0..<8) from the
    /// 12 packed bytes. j < 4: low 6 bits of bytes j and j+4. j ≥ 4: low/high nibble of byte
    /// j+4 with the top 2 bits of bytes j-4 / j as bits 4-5.
    @inline(__always) static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (u8(q, j) & 63, u8(q, j + 4) & 63)
        }
        let scale = (u8(q, j + 4) & 0x0F) | ((u8(q, j - 4) >> 6) << 4)
        let min = (u8(q, j + 4) >> 4) | ((u8(q, j) >> 6) << 4)
        return (scale, min)
    }

    /// Q6_K quants of one block in element order, each in -32...31 (ggml dequantize_row_q6_K
    /// order: per 128 elements, ql[0..<32] low nibbles, ql[32..<64] low, ql[0..<32] high,
    /// ql[32..<64] high, with qh bit pairs 0-1, 2-3, 4-5, 6-7 of qh[0..<32]).
    static func unpackQ6K(_ block: UnsafeRawPointer, into q: UnsafeMutablePointer<Int8>) {
        for half in 0..<2 {
            let ql = block + 64 * half, qh = block + 128 + 32 * half, out = q + 128 * half
            for l in 0..<32 {
                let h = u8(qh, l)
                out[l] = Int8(Int(u8(ql, l) & 0x0F) | Int((h >> 0) & 3) << 4) - 32
                out[l + 32] = Int8(Int(u8(ql, l + 32) & 0x0F) | Int((h >> 2) & 3) << 4) - 32
                out[l + 64] = Int8(Int(u8(ql, l) >> 4) | Int((h >> 4) & 3) << 4) - 32
                out[l + 96] = Int8(Int(u8(ql, l + 32) >> 4) | Int((h >> 6) & 3) << 4) - 32
            }
        }
    }
}
