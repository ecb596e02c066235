/// A read-only 2-D weight matrix: `rows` rows of `cols` elements of `type`, row-major, usually a
/// view into a memory-mapped GGUF file (ggml order: `cols` is ne[0], the contiguous dimension).
/// The view does not own `data`; whoever made it keeps the mapping alive.
public struct TensorView: @unchecked Sendable {
    public let type: QuantType
    public let data: UnsafeRawPointer
    public let cols: Int
    public let rows: Int
    /// A repacked copy of the first 8·⌊rows/8⌋ rows in a kernel set's interleaved layout (Q4_0 and
    /// Q8_0 "x8", see `RepackedWeights`), or nil. Kernels read it where they can and `data`
    /// elsewhere; results are identical either way. The view does not own it.
    public let packed: UnsafeRawPointer?
    /// True when matmuls go through the kernel set's x8 kernel (`KernelSet.gemm(packedOrder:)`),
    /// with or without `packed`: always with `packed`, and for matrices planned for a later repack
    /// (`RepackedWeights.planned`), so that the repack changes no result.
    public let packedOrder: Bool

    /// Precondition: `cols` is a whole number of blocks of `type`.
    public init(type: QuantType, data: UnsafeRawPointer, cols: Int, rows: Int, packed: UnsafeRawPointer? = nil,
                packedOrder: Bool = false) {
        precondition(cols > 0 && rows >= 0 && cols % type.blockSize == 0,
                     "\(type) rows need a multiple of \(type.blockSize) columns, got \(cols)")
        self.type = type; self.data = data; self.cols = cols; self.rows = rows; self.packed = packed
        self.packedOrder = packedOrder || packed != nil
    }

    /// Bytes of one row.
    public var rowBytes: Int { cols / type.blockSize * type.bytesPerBlock }
    /// Bytes of the whole matrix.
    public var byteCount: Int { rowBytes * rows }
}

/// Matrix × vectors on a thread pool with one kernel set: `y = W · x` for one (GEMV, decode) or
/// many (GEMM, prompt/encoder) input vectors. Allocates nothing: the caller supplies the output
/// and a scratch buffer for the quantized activations (`scratchBytes`), usually from an `Arena`.
public struct Matmul: Sendable {
    public let kernels: KernelSet
    public let pool: ThreadPool

    public init(kernels: KernelSet, pool: ThreadPool) {
        self.kernels = kernels; self.pool = pool
    }

    /// Scratch bytes `multiply` needs for `vectors` inputs of `cols` floats against weights of `type`.
    public static func scratchBytes(type: QuantType, cols: Int, vectors: Int) -> Int {
        let act = type.activationType ?? .f32
        return (act.byteCount(elements: cols) ?? cols * 4) * vectors
    }

    /// `y[v * weight.rows + r] = Σ_c weight[r, c] · x[v * weight.cols + c]` for every row r and
    /// vector v < `vectors`. `x` holds `vectors × weight.cols` floats, `y` room for
    /// `vectors × weight.rows`. Preconditions: the kernel set supports `weight.type` and
    /// `scratch` has `scratchBytes(...)` bytes.
    public func multiply(_ y: UnsafeMutablePointer<Float>, weight: TensorView, x: UnsafePointer<Float>,
                         vectors: Int, scratch: UnsafeMutableRawPointer) {
        var output = MatmulOutput(y: y, weight: weight)
        withUnsafeMutablePointer(to: &output) { ptr in
            multiply(UnsafeBufferPointer(start: ptr, count: 1), x: x, vectors: vectors, scratch: scratch)
        }
    }

    /// Several matrices applied to the same input (Q/K/V, or gate/up): the input is quantized
    /// once and the rows of all outputs are split across the threads in one parallel region.
    /// Every weight must have the same type and column count. Allocates nothing.
    public func multiply(_ outputs: UnsafeBufferPointer<MatmulOutput>, x: UnsafePointer<Float>,
                         vectors: Int, scratch: UnsafeMutableRawPointer) {
        // Index, don't use `.first`: unspecialized generic Collection code allocates in debug builds.
        guard outputs.count > 0 else { return }
        let first = outputs[0]
        let type = first.weight.type, cols = first.weight.cols
        precondition(kernels.supports(type), "kernel set \(kernels.name) has no \(type) matmul")
        var totalRows = 0
        for o in outputs {
            precondition(o.weight.type == type && o.weight.cols == cols, "fused matmul needs one weight type and width")
            totalRows += o.weight.rows
        }
        let act = type.activationType!
        let actRowBytes = act.byteCount(elements: cols)!
        for v in 0..<vectors {
            kernels.quantize(act, x + v * cols, scratch + v * actRowBytes, count: cols)
        }
        var job = MatmulJob(kernels: kernels, pool: Unmanaged.passUnretained(pool), outputs: outputs, totalRows: totalRows,
                            activations: UnsafeRawPointer(scratch), activationRowBytes: actRowBytes, vectors: vectors)
        withUnsafeMutablePointer(to: &job) { ptr in
            pool.run({ ctx, index, threads in
                let job = ctx!.assumingMemoryBound(to: MatmulJob.self)
                // Units of 16 rows, so threads never share an output cache line. A fixed share per
                // thread, then the rest claimed chunk by chunk: a thread that started late or runs
                // slower takes less, instead of the others waiting for it.
                let units = (job.pointee.totalRows + 15) / 16
                var state = ClaimState()
                while let claimed = job.pointee.pool._withUnsafeGuaranteedRef({ $0.claim(units, index: index, threads: threads, state: &state) }) {
                    let mine = claimed.lowerBound * 16..<min(claimed.upperBound * 16, job.pointee.totalRows)
                    var base = 0
                    for o in job.pointee.outputs {
                        let w = o.weight
                        let lo = max(mine.lowerBound, base) - base, hi = min(mine.upperBound, base + w.rows) - base
                        if lo < hi {
                            job.pointee.kernels.gemm(w.type, n: w.cols, w: w.data, wRowBytes: w.rowBytes, packed: w.packed, packedOrder: w.packedOrder, rows: lo..<hi,
                                                     a: job.pointee.activations, aRowBytes: job.pointee.activationRowBytes,
                                                     vectors: job.pointee.vectors, y: o.y, ldy: w.rows)
                        }
                        base += w.rows
                    }
                }
            }, context: ptr)
        }
    }
}

/// One output of a fused `Matmul.multiply`: `y` receives `vectors × weight.rows` floats.
public struct MatmulOutput: @unchecked Sendable {
    public var y: UnsafeMutablePointer<Float>
    public var weight: TensorView
    public init(y: UnsafeMutablePointer<Float>, weight: TensorView) { self.y = y; self.weight = weight }
}

private struct MatmulJob {
    let kernels: KernelSet
    let pool: Unmanaged<ThreadPool>   // used through _withUnsafeGuaranteedRef: no reference counting in the region
    let outputs: UnsafeBufferPointer<MatmulOutput>
    let totalRows: Int
    let activations: UnsafeRawPointer
    let activationRowBytes: Int
    let vectors: Int
}
