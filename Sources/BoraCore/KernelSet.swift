import CBoraKernels
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Errors choosing a kernel set.
public enum KernelSetError: Error, CustomStringConvertible, Equatable {
    case unknown(String, available: [String])
    case unsupportedCPU(String)

    public var description: String {
        switch self {
        case let .unknown(name, available):
            return "unknown kernel set '\(name)' (BORA_KERNELS); choose one of: \(available.joined(separator: ", "))"
        case let .unsupportedCPU(name):
            return "this CPU lacks the instructions the '\(name)' kernel set needs; unset BORA_KERNELS to pick the best supported set"
        }
    }
}

/// The one door from model code to numeric kernels, chosen once at load: every op the LLM, Whisper,
/// the VAD and the sampler compute — matrix products, quantizers, norms, activations, softmaxes,
/// rotary embedding, f16 conversion, argmax — is a method here.
///
/// `reference` is the pure-Swift ground truth (`ReferenceKernels` for the matrix kernels, `Ops` for
/// the rest); every other set is a table of C kernels for one ISA (`scalar`, `avx2`, `avx512vnni`,
/// `neon`, `dotprod`, `i8mm`; `bora_kernel_set`). `BORA_KERNELS` therefore means the same thing for
/// every model. Hot loops call through the table and never test CPU features. The few ops with one
/// definition in Swift only (`rmsNorm`, `add`, `ropeAngles`) run the same code in every set.
// @unchecked: the C table is immutable after it is filled and lives for the process. The struct holds
// nothing reference-counted, so copying it inside a parallel region costs no atomic operations.
public struct KernelSet: @unchecked Sendable {
    /// The set's name as accepted by `BORA_KERNELS`.
    public var name: String { isNative ? String(cString: table.pointee.name) : "reference" }
    private let isNative: Bool
    /// The C table: the native set's, or for "reference" the scalar set's (never called).
    private let table: UnsafePointer<bora_kernel_set>
    private let gemms: UnsafePointer<bora_gemm_fn?>
    private let quantizers: UnsafePointer<bora_quantize_fn?>

    private init(table: UnsafePointer<bora_kernel_set>, native: Bool) {
        self.table = table
        isNative = native
        let raw = UnsafeRawPointer(table)
        gemms = (raw + MemoryLayout<bora_kernel_set>.offset(of: \bora_kernel_set.gemm)!).assumingMemoryBound(to: bora_gemm_fn?.self)
        quantizers = (raw + MemoryLayout<bora_kernel_set>.offset(of: \bora_kernel_set.quantize)!).assumingMemoryBound(to: bora_quantize_fn?.self)
        packedGemms = (raw + MemoryLayout<bora_kernel_set>.offset(of: \bora_kernel_set.gemm_x8)!).assumingMemoryBound(to: bora_gemm_packed_fn?.self)
    }

    private var sgemmFn: bora_sgemm_fn? { isNative ? table.pointee.sgemm : nil }
    private let packedGemms: UnsafePointer<bora_gemm_packed_fn?>

    /// True when this set multiplies weights of `type` faster from the x8 repack (`RepackedWeights`):
    /// Q4_0 and Q8_0 on the x86 sets.
    public func prefersRepacked(_ type: QuantType) -> Bool { isNative && packedGemms[Int(type.rawValue)] != nil }

    /// True when the set's x8 kernel for `type` gives the bits of its GGUF-layout kernel (Q4_0: both
    /// are llama.cpp's repacked-Q4_0 chain). False for Q8_0: its x8 kernel sums each block in int32
    /// before one scaling fma, while the GGUF-layout kernel keeps llama.cpp's 8 float lanes per
    /// block; matrices meant to match llama.cpp bit for bit must then not use it.
    public func repackKeepsOrder(_ type: QuantType) -> Bool { type != .q8_0 }

    /// Every set name this binary knows on this architecture, best last ("reference" first).
    public static var availableNames: [String] {
        var names = ["reference"]
        if var p = bora_kernel_set_names() {
            while let s = p.pointee { names.append(String(cString: s)); p += 1 }
        }
        return names
    }

    /// The named set, or the best one this CPU supports when `name` is nil.
    public static func named(_ name: String?) throws(KernelSetError) -> KernelSet {
        var rc: Int32 = 0
        if name == "reference" {
            return KernelSet(table: bora_kernel_set_table("scalar", &rc)!, native: false)
        }
        let table = name.map { bora_kernel_set_table($0, &rc) } ?? bora_kernel_set_table(nil, &rc)
        switch rc {
        case 0: return KernelSet(table: table!, native: true)
        case -2: throw .unsupportedCPU(name ?? "best")
        default: throw .unknown(name ?? "best", available: availableNames)
        }
    }

    /// The set forced by `BORA_KERNELS`, else the best for this CPU.
    public static func fromEnvironment() throws(KernelSetError) -> KernelSet {
        let forced = getenv("BORA_KERNELS").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        return try named(forced)
    }

    /// True when the set has a matrix kernel for weights of `type`.
    public func supports(_ type: QuantType) -> Bool {
        guard type.activationType != nil else { return false }
        if !isNative { return true }
        return gemms[Int(type.rawValue)] != nil
    }

    /// Quantizes `count` floats (a multiple of the block size) into activation blocks of `type`
    /// (Q8_0, Q8_1, Q8_K; F32 copies). No allocation.
    @inline(__always)
    public func quantize(_ type: QuantType, _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, count: Int) {
        if type == .f32 {
            y.copyMemory(from: x, byteCount: count * 4)
            return
        }
        if isNative, let q = quantizers[Int(type.rawValue)] {
            q(x, y, count)
        } else {
            ReferenceKernels.quantizeActivation(type, x, y, count: count)
        }
    }

    /// `y[v*ldy + r] = dot(row r of w, activation row v)` for r in `rows`, v in `0..<vectors`;
    /// the contract of `bora_gemm_fn`. `a` holds `vectors` rows of `type.activationType`. With
    /// `packedOrder` (or `packed`) and a set that has an x8 kernel for `type`, that kernel runs:
    /// `packed`, when given, is the x8 repack of `w` (`RepackedWeights`), and the result does not
    /// depend on whether it is given; it differs from the plain kernel's only where
    /// `repackKeepsOrder(type)` is false.
    @inline(__always)
    public func gemm(_ type: QuantType, n: Int, w: UnsafeRawPointer, wRowBytes: Int, packed: UnsafeRawPointer? = nil, packedOrder: Bool = false, rows: Range<Int>,
                     a: UnsafeRawPointer, aRowBytes: Int, vectors: Int, y: UnsafeMutablePointer<Float>, ldy: Int) {
        if packed != nil || packedOrder, isNative, let g = packedGemms[Int(type.rawValue)] {
            g(n, w, wRowBytes, packed, rows.lowerBound, rows.upperBound, a, aRowBytes, vectors, y, ldy)
        } else if isNative, let g = gemms[Int(type.rawValue)] {
            g(n, w, wRowBytes, rows.lowerBound, rows.upperBound, a, aRowBytes, vectors, y, ldy)
        } else {
            ReferenceKernels.gemm(type: type, n: n, w: w, wRowBytes: wRowBytes, rows: rows,
                                  a: a, aRowBytes: aRowBytes, vectors: vectors, y: y, ldy: ldy)
        }
    }

    /// F32 `C = A · B`, row-major with leading dimensions in elements (`bora_sgemm_fn`):
    /// `C[m*ldc + n] = Σ_k A[m*lda + k] · B[k*ldb + n]` for m < M, n < N. Overwrites C; no allocation.
    @inline(__always)
    public func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let f = sgemmFn {
            f(m, n, k, a, lda, b, ldb, c, ldc)
        } else {
            ReferenceKernels.sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        }
    }

    // MARK: - LLM transformer ops (llama.cpp's floating-point order; identical bits in every set, `Ops` included)

    /// `gate[i] = silu(gate[i]) · up[i]` for i < `count`, silu through llama.cpp's vector exp
    /// (`bora_swiglu_fn`). No allocation.
    @inline(__always)
    public func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        if isNative { table.pointee.swiglu(gate, up, count) } else { Ops.swiGLU(gate, up, count: count) }
    }

    /// llama.cpp's rotary embedding (`bora_rope_fn`, same contract as `Ops.rope`): `heads` heads of
    /// `headDim` floats at `x`, pairs below `rotaryDim` rotated by `angles` (cos, sin per pair).
    @inline(__always)
    public func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, rotaryDim: Int, angles: UnsafePointer<Float>) {
        if isNative {
            table.pointee.rope(x, heads, headDim, rotaryDim, angles)
        } else {
            Ops.rope(x, heads: heads, headDim: headDim, rotaryDim: rotaryDim, angles: angles)
        }
    }

    /// In-place softmax of `count` floats as llama.cpp's CPU backend computes it (`bora_softmax_fn`).
    @inline(__always)
    public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if isNative { table.pointee.softmax(x, count) } else { Ops.softmax(x, count: count) }
    }

    /// `y[v·yStride + r] = Σ_{k<n} w[r·wStride + k] · x[v·xStride + k]` for r < `rows`, v < `vectors`,
    /// f16 weights, in llama.cpp's order for a batch of query tokens (`single == false`, llamafile's
    /// tinyBLAS) or for one query token (`single == true`, ggml_vec_dot_f16); each output is computed
    /// exactly as if alone (`bora_gemv_f16_fn`). Rows stored in segments of `segment` elements (a
    /// multiple of 32), each `segmentStride` elements after the previous, read as one row: element k
    /// of row r is `w[r·wStride + (k / segment)·segmentStride + k % segment]`; 0 = rows stored whole.
    /// No allocation.
    @inline(__always)
    public func gemvF16(rows: Int, n: Int, w: UnsafePointer<UInt16>, wStride: Int, segment: Int = 0, segmentStride: Int = 0,
                        x: UnsafePointer<Float>, xStride: Int = 0,
                        vectors: Int = 1, y: UnsafeMutablePointer<Float>, yStride: Int = 0, single: Bool) {
        precondition(segment % 32 == 0, "gemvF16 segments are whole multiples of 32 elements")
        if isNative {
            table.pointee.gemv_f16(rows, n, w, wStride, segment, segmentStride, x, xStride, vectors, y, yStride, single ? 1 : 0)
        } else {
            Ops.gemvF16(rows: rows, n: n, w: w, wStride: wStride, segment: segment, segmentStride: segmentStride, x: x, xStride: xStride,
                        vectors: vectors, y: y, yStride: yStride, single: single)
        }
    }

    /// As `gemvF16` with f32 weights (llama.cpp's F32 × F32 matmul orders; `bora_gemv_f32_fn`).
    @inline(__always)
    public func gemvF32(rows: Int, n: Int, w: UnsafePointer<Float>, wStride: Int, x: UnsafePointer<Float>,
                        y: UnsafeMutablePointer<Float>, single: Bool) {
        if isNative {
            table.pointee.gemv_f32(rows, n, w, wStride, 0, 0, x, 0, 1, y, 0, single ? 1 : 0)
        } else {
            Ops.gemvF32(rows: rows, n: n, w: w, wStride: wStride, segment: 0, segmentStride: 0, x: x, xStride: 0,
                        vectors: 1, y: y, yStride: 0, single: single)
        }
    }

    /// `rmsNorm` of one row (`Ops.rmsNorm`; one definition, every set).
    @inline(__always)
    public func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, count: Int, eps: Float) {
        Ops.rmsNorm(out, x, weight: weight, count: count, eps: eps)
    }

    /// `rmsNorm` of `rows` consecutive rows (`Ops.rmsNorm(rows:)`; same bits as row by row).
    @inline(__always)
    public func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        rows: Int, count: Int, eps: Float) {
        Ops.rmsNorm(out, x, weight: weight, rows: rows, count: count, eps: eps)
    }

    /// x[i] += y[i] for i < `count` (one definition, every set).
    @inline(__always)
    public func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        Ops.add(x, y, count: count)
    }

    /// The rotary angles of one position (`Ops.ropeAngles`; one definition, every set).
    @inline(__always)
    public func ropeAngles(_ out: UnsafeMutablePointer<Float>, position: Float, thetaScale: Float, freqScale: Float, pairs: Int) {
        Ops.ropeAngles(out, position: position, thetaScale: thetaScale, freqScale: freqScale, pairs: pairs)
    }

    /// out[i] = f16 bits of x[i], round to nearest even (`bora_to_f16_fn`). No allocation.
    @inline(__always)
    public func roundToHalf(_ out: UnsafeMutablePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) {
        if isNative { table.pointee.f32_to_f16(x, out, count) } else { Ops.roundToHalf(out, x, count: count) }
    }

    /// out[i] = Float(f16(x[i])) (`bora_round_f16_fn`; out may be x). No allocation.
    @inline(__always)
    public func roundToFloatThroughHalf(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        if isNative { table.pointee.f32_round_f16(x, out, count) } else { Ops.roundToFloatThroughHalf(out, x, count: count) }
    }

    /// Rounds x to half precision in place.
    @inline(__always)
    public func roundThroughHalf(_ x: UnsafeMutablePointer<Float>, count: Int) {
        roundToFloatThroughHalf(x, x, count: count)
    }

    /// Starts pulling `count` cache lines, `stride` bytes apart from `p`, in for writing (a hint; the
    /// reference set does nothing, and results never depend on it).
    @inline(__always)
    public func prefetchForWrite(_ p: UnsafeMutableRawPointer, stride: Int, count: Int) {
        if isNative { bora_prefetch_write_strided(p, stride, count) }
    }

    // MARK: - Whisper math and argmax (kernels_math.c; twins in `Ops`)

    /// out = (x − mean)/√(var + eps)·weight + bias over `count` floats (`bora_layer_norm_fn`; out may be x).
    @inline(__always)
    public func layerNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>, count: Int, eps: Float) {
        if isNative {
            table.pointee.layer_norm(out, x, weight, bias, count, eps)
        } else {
            Ops.layerNorm(out, x, weight: weight, bias: bias, count: count, eps: eps)
        }
    }

    /// Exact-erf GELU in place over `count` floats (`bora_gelu_fn`).
    @inline(__always)
    public func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if isNative { table.pointee.gelu(x, count) } else { Ops.gelu(x, count: count) }
    }

    /// x[r·cols + i] += bias[i] for r < `rows`, then GELU when `gelu` (`bora_add_bias_gelu_fn`).
    @inline(__always)
    public func addBiasGELU(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int, gelu: Bool) {
        if isNative {
            table.pointee.add_bias_gelu(x, bias, rows, cols, gelu ? 1 : 0)
        } else {
            Ops.addBiasGELU(x, bias: bias, rows: rows, cols: cols, gelu: gelu)
        }
    }

    /// Whisper's softmax: x = softmax(scale·x) in place over `count` > 0 floats with kernels_math.c's
    /// exp (`bora_scaled_softmax_fn`; not llama.cpp's order — that is `softmax`).
    @inline(__always)
    public func scaledSoftmax(_ x: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        if isNative { table.pointee.scaled_softmax(x, count, scale) } else { Ops.scaledSoftmax(x, count: count, scale: scale) }
    }

    /// log Σ exp(x[i]) over `count` floats; −inf for none or all −inf (`bora_logsumexp_fn`).
    @inline(__always)
    public func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        isNative ? table.pointee.logsumexp(x, count) : Ops.logSumExp(x, count: count)
    }

    /// The first index of the largest of `count` floats, as a scalar scan finds it (NaNs never win
    /// unless first); 0 when `count` is 0 (`bora_argmax_fn`).
    @inline(__always)
    public func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        isNative ? table.pointee.argmax(x, count) : Ops.argmax(x, count: count)
    }
}
