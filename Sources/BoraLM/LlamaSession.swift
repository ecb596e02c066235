import BoraCore
#if canImport(Glibc)
import Glibc
#endif

/// Everything one conversation with a `LlamaModel` needs at run time: the KV cache (f16) and every
/// activation buffer, carved from one `Arena` sized at init from the context length and batch
/// size. `evaluate` never allocates.
///
/// Prompts are processed in batches of up to `maxBatch` tokens (matrix × many vectors, GEMM);
/// decoding passes one token (GEMV). Not thread-safe; one session per conversation.
public final class LlamaSession {
    public let model: LlamaModel
    public let matmul: Matmul
    /// Maximum tokens held in the KV cache (`-c`).
    public let contextLength: Int
    /// Tokens evaluated per forward pass when processing a prompt.
    public let maxBatch: Int
    /// Tokens in the KV cache.
    public private(set) var position = 0
    /// Bytes reserved for the KV cache and activations.
    public var arenaBytes: Int { arena.capacity }

    private let arena: Arena
    private let keyCache: UnsafeMutablePointer<UInt16>   // f16 (layer, context, kvDim)
    private let valueCache: UnsafeMutablePointer<UInt16> // f16 (layer, kvDim, context): transposed
    private let newKeys: UnsafeMutablePointer<Float>     // (batch, kvDim)
    private let newValues: UnsafeMutablePointer<Float>   // (batch, kvDim)
    private let weights: UnsafeMutablePointer<Float>     // (threads, context) attention probabilities
    private let x: UnsafeMutablePointer<Float>           // (batch, dim) residual stream
    private let xn: UnsafeMutablePointer<Float>          // (batch, dim) normalized
    private let q: UnsafeMutablePointer<Float>           // (batch, heads·headDim)
    private let attention: UnsafeMutablePointer<Float>   // (batch, heads·headDim)
    private let projected: UnsafeMutablePointer<Float>   // (batch, dim)
    private let gate: UnsafeMutablePointer<Float>        // (batch, ffn)
    private let up: UnsafeMutablePointer<Float>          // (batch, ffn)
    private let scores: UnsafeMutablePointer<Float>      // (threads, context)
    private let logits: UnsafeMutablePointer<Float>      // (vocab)
    private let inverseFrequencies: UnsafeMutablePointer<Float>  // (ropeDim / 2)
    private let scratch: UnsafeMutableRawPointer
    private let outputs: UnsafeMutablePointer<MatmulOutput>      // (3) fused matmul table

    /// Throws `LlamaError.contextTooLong` when `contextLength` exceeds the trained context.
    public init(model: LlamaModel, matmul: Matmul, contextLength: Int, maxBatch: Int = 32) throws(LlamaError) {
        let c = model.config
        guard contextLength > 0, contextLength <= c.trainedContextLength else {
            throw .contextTooLong(requested: contextLength, maximum: c.trainedContextLength)
        }
        precondition(maxBatch > 0)
        self.model = model
        self.matmul = matmul
        self.contextLength = contextLength
        self.maxBatch = maxBatch
        let qd = c.headCount * c.headDim
        let threads = matmul.pool.threadCount
        let widest = max(c.dim, c.ffnDim, qd)
        let scratchBytes = model.matmulTypes.map { Matmul.scratchBytes(type: $0, cols: widest, vectors: maxBatch) }.max() ?? 0
        let halves = c.layerCount * contextLength * c.kvDim
        let floats = [
            maxBatch * c.kvDim, maxBatch * c.kvDim,
            maxBatch * c.dim, maxBatch * c.dim, maxBatch * qd, maxBatch * qd, maxBatch * c.dim,
            maxBatch * c.ffnDim, maxBatch * c.ffnDim, threads * contextLength, c.vocabSize, c.ropeDim / 2,
            threads * contextLength,
        ]
        arena = Arena(capacity: Arena.bytesNeeded([halves * 2, halves * 2] + floats.map { $0 * 4 }
                                                  + [scratchBytes, 3 * MemoryLayout<MatmulOutput>.stride]))
        keyCache = arena.allocate(count: halves)
        valueCache = arena.allocate(count: halves)
        newKeys = arena.allocate(count: floats[0])
        newValues = arena.allocate(count: floats[1])
        x = arena.allocate(count: floats[2])
        xn = arena.allocate(count: floats[3])
        q = arena.allocate(count: floats[4])
        attention = arena.allocate(count: floats[5])
        projected = arena.allocate(count: floats[6])
        gate = arena.allocate(count: floats[7])
        up = arena.allocate(count: floats[8])
        scores = arena.allocate(count: floats[9])
        logits = arena.allocate(count: floats[10])
        inverseFrequencies = arena.allocate(count: floats[11])
        weights = arena.allocate(count: floats[12])
        scratch = arena.allocateBytes(scratchBytes)
        outputs = arena.allocate(count: 3)
        for i in 0..<(c.ropeDim / 2) {
            // llama.cpp: theta_i = pos · freq_scale · base^(-2i/n_rot)
            inverseFrequencies[i] = c.ropeFrequencyScale * Float(pow(Double(c.ropeBase), -2 * Double(i) / Double(c.ropeDim)))
        }
    }

    /// Forgets every cached token.
    public func reset() { position = 0 }

    /// Drops cached tokens after `count` (for re-using a shared prompt prefix).
    public func truncate(to count: Int) { position = min(position, max(0, count)) }

    /// Appends `tokens` at the current position and returns the logits (vocab floats, valid until
    /// the next call) predicting the token after the last one. When `allLogits` is given, it
    /// receives `tokens.count × vocab` logits, one row per input position.
    @discardableResult
    public func evaluate(_ tokens: UnsafeBufferPointer<Int32>,
                         allLogits: UnsafeMutablePointer<Float>? = nil) throws(LlamaError) -> UnsafePointer<Float> {
        guard position + tokens.count <= contextLength else {
            throw .contextFull(position: position, adding: tokens.count, capacity: contextLength)
        }
        for t in tokens where t < 0 || Int(t) >= model.config.vocabSize {
            throw .tokenOutOfRange(t, vocabularySize: model.config.vocabSize)
        }
        var start = 0
        while start < tokens.count {
            let count = min(maxBatch, tokens.count - start)
            let isLast = start + count == tokens.count
            forward(UnsafeBufferPointer(rebasing: tokens[start..<start + count]),
                    logitRows: allLogits.map { $0 + start * model.config.vocabSize }, lastOnly: isLast)
            start += count
        }
        return UnsafePointer(logits)
    }

    /// Convenience for arrays (allocation-free only through the buffer-pointer overload).
    @discardableResult
    public func evaluate(_ tokens: [Int32]) throws(LlamaError) -> UnsafePointer<Float> {
        try tokens.withUnsafeBufferPointer { (buffer) throws(LlamaError) in try evaluate(buffer) }
    }

    private func forward(_ tokens: UnsafeBufferPointer<Int32>, logitRows: UnsafeMutablePointer<Float>?, lastOnly: Bool) {
        let c = model.config
        let batch = tokens.count, dim = c.dim, kvDim = c.kvDim, qd = c.headCount * c.headDim
        let embedding = model.tokenEmbedding
        for b in 0..<batch {
            ReferenceKernels.dequantize(embedding.type, embedding.data + Int(tokens[b]) * embedding.rowBytes,
                                        x + b * dim, count: dim)
        }
        // Index loop: `enumerated()` iterators allocate in unoptimized builds.
        for l in 0..<model.layers.count {
            let layer = model.layers[l]
            let keys = keyCache + l * contextLength * kvDim
            let values = valueCache + l * contextLength * kvDim
            // attention
            for b in 0..<batch { Ops.rmsNorm(xn + b * dim, x + b * dim, weight: layer.attentionNorm, count: dim, eps: c.rmsEps) }
            outputs[0] = MatmulOutput(y: q, weight: layer.query)
            outputs[1] = MatmulOutput(y: newKeys, weight: layer.key)
            outputs[2] = MatmulOutput(y: newValues, weight: layer.value)
            matmul.multiply(UnsafeBufferPointer(start: outputs, count: 3), x: xn, vectors: batch, scratch: scratch)
            for b in 0..<batch {
                let pos = Float(position + b)
                Ops.rope(q + b * qd, heads: c.headCount, headDim: c.headDim, rotaryDim: c.ropeDim,
                         position: pos, inverseFrequencies: inverseFrequencies)
                Ops.rope(newKeys + b * kvDim, heads: c.kvHeadCount, headDim: c.headDim, rotaryDim: c.ropeDim,
                         position: pos, inverseFrequencies: inverseFrequencies)
                // The cache holds f16 (as llama.cpp's default): K row-major by position, V transposed
                // so the probability-weighted sum is one F16 GEMV per head.
                Ops.roundToHalf(keys + (position + b) * kvDim, newKeys + b * kvDim, count: kvDim)
                for d in 0..<kvDim { values[d * contextLength + position + b] = FloatBits.f32ToF16(newValues[b * kvDim + d]) }
                // Q meets the f16 keys at f16 precision, as in llama.cpp (f16 products are exact in f32).
                Ops.roundThroughHalf(q + b * qd, count: qd)
            }
            attend(keys: keys, values: values, batch: batch)
            matmul.multiply(projected, weight: layer.attentionOutput, x: attention, vectors: batch, scratch: scratch)
            Ops.add(x, projected, count: batch * dim)
            // feed-forward
            for b in 0..<batch { Ops.rmsNorm(xn + b * dim, x + b * dim, weight: layer.ffnNorm, count: dim, eps: c.rmsEps) }
            outputs[0] = MatmulOutput(y: gate, weight: layer.gate)
            outputs[1] = MatmulOutput(y: up, weight: layer.up)
            matmul.multiply(UnsafeBufferPointer(start: outputs, count: 2), x: xn, vectors: batch, scratch: scratch)
            Ops.swiGLU(gate, up, count: batch * c.ffnDim)
            matmul.multiply(projected, weight: layer.down, x: gate, vectors: batch, scratch: scratch)
            Ops.add(x, projected, count: batch * dim)
        }
        position += batch
        if let logitRows {
            // every position's logits, in sub-batches that fit the scratch
            for b in 0..<batch { Ops.rmsNorm(xn + b * dim, x + b * dim, weight: model.outputNorm, count: dim, eps: c.rmsEps) }
            matmul.multiply(logitRows, weight: model.output, x: xn, vectors: batch, scratch: scratch)
            if lastOnly { logits.update(from: logitRows + (batch - 1) * c.vocabSize, count: c.vocabSize) }
        } else if lastOnly {
            Ops.rmsNorm(xn, x + (batch - 1) * dim, weight: model.outputNorm, count: dim, eps: c.rmsEps)
            matmul.multiply(logits, weight: model.output, x: xn, vectors: 1, scratch: scratch)
        }
    }

    /// Causal grouped-query attention for `batch` new tokens whose keys/values are already in the
    /// cache; (token, head) pairs are split across the pool's threads.
    private func attend(keys: UnsafeMutablePointer<UInt16>, values: UnsafeMutablePointer<UInt16>, batch: Int) {
        let c = model.config
        var job = AttentionJob(kernels: matmul.kernels, q: q, keys: keys, values: values, out: attention,
                               scores: scores, weights: weights, contextLength: contextLength, startPosition: position, batch: batch,
                               heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim,
                               scale: 1 / Float(c.headDim).squareRoot())
        withUnsafeMutablePointer(to: &job) { ptr in
            matmul.pool.run({ ctx, index, threads in
                let job = ctx!.assumingMemoryBound(to: AttentionJob.self)
                let j = job.pointee
                let hd = j.headDim, kvDim = j.kvHeads * hd, qd = j.heads * hd
                let scores = j.scores + index * j.contextLength
                let weights = j.weights + index * j.contextLength
                for pair in ThreadPool.split(j.batch * j.heads, index: index, threads: threads) {
                    let b = pair / j.heads, h = pair % j.heads
                    let kvHead = h / (j.heads / j.kvHeads)
                    let n = j.startPosition + b + 1  // causal: keys 0...position of this token
                    // scores[t] = K[t, kvHead] · q[b, h]  (F16 GEMV over the strided cache rows)
                    j.kernels.gemm(.f16, n: hd, w: j.keys + kvHead * hd, wRowBytes: kvDim * 2, rows: 0..<n,
                                   a: j.q + b * qd + h * hd, aRowBytes: hd * 4, vectors: 1, y: scores, ldy: n)
                    for t in 0..<n { scores[t] *= j.scale }
                    Ops.softmax(scores, count: n)
                    Ops.roundToFloatThroughHalf(weights, scores, count: n)
                    // out[d] = Σ_t V[d, t] · p[t]: rows of the transposed cache against the probabilities
                    j.kernels.gemm(.f16, n: n, w: j.values + kvHead * hd * j.contextLength, wRowBytes: j.contextLength * 2,
                                   rows: 0..<hd, a: weights, aRowBytes: n * 4, vectors: 1, y: j.out + b * qd + h * hd, ldy: hd)
                }
            }, context: ptr)
        }
    }
}

private struct AttentionJob {
    let kernels: KernelSet
    let q: UnsafeMutablePointer<Float>
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>
    let out: UnsafeMutablePointer<Float>
    let scores: UnsafeMutablePointer<Float>
    let weights: UnsafeMutablePointer<Float>
    let contextLength: Int
    let startPosition: Int
    let batch: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let scale: Float
}
