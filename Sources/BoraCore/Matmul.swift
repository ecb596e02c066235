/// A read-only 2-D weight matrix: `rows` rows of `cols` elements of `type`, row-major, usually a
/// view into a memory-mapped GGUF file (ggml order: `cols` is ne[0], the contiguous dimension).
/// The view does not own `data`; whoever made it keeps the mapping alive.
public struct TensorView: @unchecked Sendable {
    public let type: QuantType
    public let data: UnsafeRawPointer
    public let cols: Int
    public let rows: Int

    /// Precondition: `cols` is a whole number of blocks of `type`.
    public init(type: QuantType, data: UnsafeRawPointer, cols: Int, rows: Int) {
        precondition(cols > 0 && rows >= 0 && cols % type.blockSize == 0,
                     "\(type) rows need a multiple of \(type.blockSize) columns, got \(cols)")
        self.type = type; self.data = data; self.cols = cols; self.rows = rows
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
        precondition(kernels.supports(weight.type), "kernel set \(kernels.name) has no \(weight.type) matmul")
        let act = weight.type.activationType!
        let actRowBytes = act.byteCount(elements: weight.cols)!
        for v in 0..<vectors {
            kernels.quantize(act, x + v * weight.cols, scratch + v * actRowBytes, count: weight.cols)
        }
        var job = MatmulJob(kernels: kernels, weight: weight, activations: UnsafeRawPointer(scratch),
                            activationRowBytes: actRowBytes, vectors: vectors, y: y)
        withUnsafeMutablePointer(to: &job) { ptr in
            pool.run({ ctx, index, threads in
                let job = ctx!.assumingMemoryBound(to: MatmulJob.self)
                let w = job.pointee.weight
                // Row ranges start on multiples of 16 so threads never share an output cache line.
                let rows = ThreadPool.split(w.rows, index: index, threads: threads, granule: 16)
                if rows.isEmpty { return }
                job.pointee.kernels.gemm(w.type, n: w.cols, w: w.data, wRowBytes: w.rowBytes, rows: rows,
                                         a: job.pointee.activations, aRowBytes: job.pointee.activationRowBytes,
                                         vectors: job.pointee.vectors, y: job.pointee.y, ldy: w.rows)
            }, context: ptr)
        }
    }
}

private struct MatmulJob {
    let kernels: KernelSet
    let weight: TensorView
    let activations: UnsafeRawPointer
    let activationRowBytes: Int
    let vectors: Int
    let y: UnsafeMutablePointer<Float>
}
