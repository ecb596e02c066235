// Reference dot products and GEMM: ggml's generic (scalar) vec_dot kernels, in the same
// order of operations, so the C scalar kernels can be compared closely (bit-exactly when
// they copy ggml's generic code and the compiler does not contract into FMA).

extension ReferenceKernels {
    /// Weight types `dot`/`gemm` accept (those with a `QuantType.activationType`).
    public static let dotWeightTypes: Set<QuantType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K]

    /// dot(n, w, a) → Σ_i w[i]·a[i] over `n` elements: `w` is one row of `weightType`, `a` one row
    /// of `weightType.activationType` (Q8_0, Q8_1, Q8_K, or F32 for F32/F16/BF16 weights).
    /// Twin of `bora_dot_fn`. Pointers need no alignment.
    ///
    /// As ggml's generic `ggml_vec_dot_*`: per block an exact integer sum of q_w·q_a, then one
    /// float scaling per block, accumulated in Float in block order:
    /// - Q4_0×Q8_0: `Float(sumi)*d_w*d_a`;  Q8_0×Q8_0: `Float(sumi)*(d_w*d_a)`;
    ///   Q5_0×Q8_0: `(d_w*d_a)*Float(sumi)`;  Q4_1×Q8_1: `(d_w*d_a)*Float(sumi) + m_w*s_a`.
    /// - Q4_K×Q8_K: 8 float lanes `lane[l] += (d_w*d_a)*aux32[l]` (aux32 = Σ over element
    ///   index ≡ l mod 8 of scale·q_w·q_a), minus `(dmin_w*d_a)*Σ_k bsums[k]*min[k/2]` per
    ///   block; lanes added at the end. Q6_K×Q8_K: the same lanes without a min term.
    /// - F32/F16/BF16 × F32: Float products summed in Double (ggml_float), then rounded to Float.
    /// - Precondition: `weightType` is in `dotWeightTypes`, `n` is a multiple of its block size.
    public static func dot(weightType: QuantType, n: Int, w: UnsafeRawPointer, a: UnsafeRawPointer) -> Float {
        precondition(n >= 0 && n % weightType.blockSize == 0, "dot: \(n) elements is not a whole number of \(weightType) blocks")
        let blocks = n / weightType.blockSize
        switch weightType {
        case .f32, .f16, .bf16:
            var sum: Double = 0
            for i in 0..<n {
                let x: Float
                switch weightType {
                case .f32: x = w.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
                case .f16: x = f16(w, 2 * i)
                default: x = FloatBits.bf16ToF32(u16(w, 2 * i))
                }
                sum += Double(x * a.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))
            }
            return Float(sum)
        case .q4_0:
            var sumf: Float = 0
            for b in 0..<blocks {
                let x = w + 18 * b, y = a + 34 * b
                var sumi = 0
                for j in 0..<16 {
                    let q = u8(x, 2 + j)
                    sumi += (Int(q & 0x0F) - 8) * Int(i8(y, 2 + j))
                    sumi += (Int(q >> 4) - 8) * Int(i8(y, 2 + 16 + j))
                }
                sumf += Float(sumi) * f16(x, 0) * f16(y, 0)
            }
            return sumf
        case .q4_1:
            var sumf: Float = 0
            for b in 0..<blocks {
                let x = w + 20 * b, y = a + 36 * b
                var sumi = 0
                for j in 0..<16 {
                    let q = u8(x, 4 + j)
                    sumi += Int(q & 0x0F) * Int(i8(y, 4 + j))
                    sumi += Int(q >> 4) * Int(i8(y, 4 + 16 + j))
                }
                sumf += (f16(x, 0) * f16(y, 0)) * Float(sumi) + f16(x, 2) * f16(y, 2)
            }
            return sumf
        case .q5_0:
            var sumf: Float = 0
            for b in 0..<blocks {
                let x = w + 22 * b, y = a + 34 * b
                let qh = UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
                var sumi = 0
                for j in 0..<16 {
                    let q = u8(x, 6 + j)
                    let x0 = (Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4) - 16
                    let x1 = (Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4) - 16
                    sumi += x0 * Int(i8(y, 2 + j)) + x1 * Int(i8(y, 2 + 16 + j))
                }
                sumf += (f16(x, 0) * f16(y, 0)) * Float(sumi)
            }
            return sumf
        case .q8_0:
            var sumf: Float = 0
            for b in 0..<blocks {
                let x = w + 34 * b, y = a + 34 * b
                var sumi = 0
                for j in 0..<32 { sumi += Int(i8(x, 2 + j)) * Int(i8(y, 2 + j)) }
                sumf += Float(sumi) * (f16(x, 0) * f16(y, 0))
            }
            return sumf
        case .q4_K:
            return dotK(blocks: blocks, w: w, a: a, weightBytes: 144) { x, q, scaleOf in
                let qs = x + 16
                for k in 0..<4 {
                    for l in 0..<32 {
                        let byte = u8(qs, 32 * k + l)
                        q[64 * k + l] = Int8(byte & 0x0F)
                        q[64 * k + 32 + l] = Int8(byte >> 4)
                    }
                }
                for sub in 0..<8 {  // one 6-bit scale per 32 elements = two 16-groups
                    let scale = Int(scaleMinK4(sub, x + 4).scale)
                    scaleOf[2 * sub] = scale
                    scaleOf[2 * sub + 1] = scale
                }
            }
        case .q6_K:
            return dotK(blocks: blocks, w: w, a: a, weightBytes: 210) { x, q, scaleOf in
                unpackQ6K(x, into: q)
                for k in 0..<16 { scaleOf[k] = Int(i8(x, 192 + k)) }
            }
        default:
            preconditionFailure("dot: no reference kernel for weight type \(weightType)")
        }
    }

    /// Shared body of the K-quant × Q8_K dots. `unpack(block, q, scales)` writes the block's
    /// 256 quants in element order and the integer scale of each group of 16.
    private static func dotK(
        blocks: Int, w: UnsafeRawPointer, a: UnsafeRawPointer, weightBytes: Int,
        unpack: (UnsafeRawPointer, UnsafeMutablePointer<Int8>, UnsafeMutablePointer<Int>) -> Void
    ) -> Float {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { qBuffer in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 16) { scaleBuffer in
                let q = qBuffer.baseAddress!, scaleOf = scaleBuffer.baseAddress!
                var lanes = SIMD8<Float>(repeating: 0)
                var sumf: Float = 0
                for b in 0..<blocks {
                    let x = w + weightBytes * b, y = a + 292 * b
                    unpack(x, q, scaleOf)
                    var aux32 = SIMD8<Int32>(repeating: 0)
                    for e in 0..<256 {
                        aux32[e % 8] += Int32(scaleOf[e / 16] * Int(q[e]) * Int(i8(y, 4 + e)))
                    }
                    let dA = y.loadUnaligned(fromByteOffset: 0, as: Float.self)
                    let d = f16(x, weightBytes == 144 ? 0 : 208) * dA
                    lanes += d * SIMD8<Float>(aux32)
                    if weightBytes == 144 {  // Q4_K: subtract the mins via the activation's bsums
                        var sumMins = 0
                        for k in 0..<16 {
                            let bsum = Int(Int16(littleEndian: y.loadUnaligned(fromByteOffset: 260 + 2 * k, as: Int16.self)))
                            sumMins += bsum * Int(scaleMinK4(k / 2, x + 4).min)
                        }
                        let dmin = f16(x, 2) * dA
                        sumf -= dmin * Float(sumMins)
                    }
                }
                for l in 0..<8 { sumf += lanes[l] }
                return sumf
            }
        }
    }

    /// gemm: for every weight row r in `rows` and activation vector v in 0..<vectors:
    ///   y[v*ldy + r] = dot(n, w + r*wRowBytes, a + v*aRowBytes)
    /// Twin of `bora_gemm_fn` (r0..<r1 = `rows`, nv = `vectors`). Writes only those elements of y.
    /// - Precondition: as `dot`; `rows` non-negative; `ldy ≥ rows.upperBound` when vectors > 1.
    public static func gemm(
        type: QuantType, n: Int, w: UnsafeRawPointer, wRowBytes: Int, rows: Range<Int>,
        a: UnsafeRawPointer, aRowBytes: Int, vectors: Int, y: UnsafeMutablePointer<Float>, ldy: Int
    ) {
        precondition(rows.lowerBound >= 0 && vectors >= 0, "gemm: negative rows or vectors")
        precondition(vectors <= 1 || ldy >= rows.upperBound, "gemm: ldy \(ldy) < rows.upperBound \(rows.upperBound)")
        for v in 0..<vectors {
            for r in rows {
                y[v * ldy + r] = dot(weightType: type, n: n, w: w + r * wRowBytes, a: a + v * aRowBytes)
            }
        }
    }

    /// Reference twin of `bora_sgemm_fn`: C = A · B in F32, row-major, leading dimensions in elements.
    public static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * lda + p] * b[p * ldb + j] }
                c[i * ldc + j] = sum
            }
        }
    }
}
