import BoraCore
import Synchronization
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
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
    /// Where a Mixture-of-Experts model's experts come from: nil = the file mapping (all resident).
    public let experts: ExpertStore?
    /// Tests: called with (layer, selected expert ids [batch × k], batch) after each MoE routing.
    var routingHook: ((Int, UnsafePointer<Int32>, Int) -> Void)?
    /// Cached positions from which one token's attention runs as `attendSplit` (below that, by
    /// heads). Both give the same bits; the split costs two more parallel regions, which pay off
    /// once the cache reads dominate: decode at depth 1024 +6 %, no difference at 64 or 256
    /// (`bora bench llm -d`). Tests lower it to compare the two.
    var splitAttentionFrom = 256

    private let arena: Arena
    private let keyCache: UnsafeMutablePointer<UInt16>   // f16 (layer, kvHead, context, headDim): one head's keys contiguous
    private let valueCache: UnsafeMutablePointer<UInt16> // f16 (layer, kvHead, block, headDim, valueBlock): transposed in position blocks
    /// Positions per block of the V cache (≤ 256, a multiple of 32) and blocks per KV head.
    private let valueBlock: Int, valueBlocks: Int
    private let newKeys: UnsafeMutablePointer<Float>     // (batch, kvDim)
    private let newValues: UnsafeMutablePointer<Float>   // (batch, kvDim)
    private let weights: UnsafeMutablePointer<Float>     // (max(threads, KV heads), heads per KV head, context) attention probabilities
    private let x: UnsafeMutablePointer<Float>           // (batch, dim) residual stream
    private let xn: UnsafeMutablePointer<Float>          // (batch, dim) normalized
    private let q: UnsafeMutablePointer<Float>           // (batch, heads·headDim)
    private let attention: UnsafeMutablePointer<Float>   // (batch, heads·headDim)
    private let projected: UnsafeMutablePointer<Float>   // (batch, dim)
    private let gate: UnsafeMutablePointer<Float>        // (batch, ffn)
    private let up: UnsafeMutablePointer<Float>          // (batch, ffn)
    private let scores: UnsafeMutablePointer<Float>      // (max(threads, KV heads), heads per KV head, context)
    private let logits: UnsafeMutablePointer<Float>      // (vocab)
    private let ropeAngles: UnsafeMutablePointer<Float>  // (batch, ropeDim): cos, sin of each new position
    private let halfRow: UnsafeMutablePointer<UInt16>    // (kvDim) one token's values in f16
    private let ropeThetaScale: Float
    private let scratch: UnsafeMutableRawPointer
    private let outputs: UnsafeMutablePointer<MatmulOutput>      // (3) fused matmul table
    // Mixture of Experts (empty for dense models); k = experts used per token, E = experts.
    private let routerLogits: UnsafeMutablePointer<Float>  // (batch, E)
    private let selected: UnsafeMutablePointer<Int32>      // (batch, k) expert ids
    private let selectedWeights: UnsafeMutablePointer<Float> // (batch, k) renormalized
    private let expertRows: UnsafeMutablePointer<Int32>    // (E, batch·k): b·k + j entries routed to each expert
    private let expertRowCounts: UnsafeMutablePointer<Int32> // (E)
    private let expertList: UnsafeMutablePointer<Int32>    // (E) experts in use
    private let guessList: UnsafeMutablePointer<Int32>     // (E) next layer's guessed experts
    private let guessLogits: UnsafeMutablePointer<Float>   // (batch, E) next layer's router logits
    private let gathered: UnsafeMutablePointer<Float>      // (batch, dim) inputs of one expert
    private let expertDown: UnsafeMutablePointer<Float>    // (batch, dim) outputs of one expert
    private let expertOut: UnsafeMutablePointer<Float>     // (batch, k, dim)

    /// Throws `LlamaError.contextTooLong` when `contextLength` exceeds the trained context.
    /// `experts` (for a Mixture-of-Experts model) must be built for `model`; nil reads experts
    /// from the mapping.
    public convenience init(model: LlamaModel, matmul: Matmul, contextLength: Int, maxBatch: Int = 32,
                            experts: ExpertStore? = nil) throws(LlamaError) {
        try self.init(model: model, matmul: matmul, contextLength: contextLength, maxBatch: maxBatch, experts: experts,
                      valueBlockLimit: 256)
    }

    /// Tests: `valueBlockLimit` (a multiple of 32) caps the V cache's positions per block.
    init(model: LlamaModel, matmul: Matmul, contextLength: Int, maxBatch: Int, experts: ExpertStore?,
         valueBlockLimit: Int) throws(LlamaError) {
        precondition(valueBlockLimit > 0 && valueBlockLimit % 32 == 0)
        let c = model.config
        guard contextLength > 0, contextLength <= c.trainedContextLength else {
            throw .contextTooLong(requested: contextLength, maximum: c.trainedContextLength)
        }
        precondition(maxBatch > 0)
        precondition(experts == nil || experts!.model === model, "the expert store belongs to another model")
        precondition(experts != nil || !model.expertsUnmapped.load(ordering: .acquiring),
                     "an ExpertStore holds this model's experts: pass it to the session")
        self.experts = experts
        self.model = model
        self.matmul = matmul
        self.contextLength = contextLength
        self.maxBatch = maxBatch
        let qd = c.headCount * c.headDim
        let threads = matmul.pool.threadCount
        let widest = max(c.dim, c.ffnDim, qd)
        let group = c.headCount / c.kvHeadCount   // query heads per KV head
        let scratchBytes = model.matmulTypes.map { Matmul.scratchBytes(type: $0, cols: widest, vectors: maxBatch) }.max() ?? 0
        let halves = c.layerCount * contextLength * c.kvDim
        // V is transposed (a head's values of one dimension along positions) in blocks of ≤ 256
        // positions, so the first token touches one block's pages per head, not one page per
        // (layer, dimension) row of the whole context.
        let block = min(valueBlockLimit, (contextLength + 31) / 32 * 32), blocks = (contextLength + block - 1) / block
        let valueHalves = c.layerCount * c.kvDim * blocks * block
        let floats = [
            maxBatch * c.kvDim, maxBatch * c.kvDim,
            maxBatch * c.dim, maxBatch * c.dim, maxBatch * qd, maxBatch * qd, maxBatch * c.dim,
            maxBatch * c.ffnDim, maxBatch * c.ffnDim, max(threads, c.kvHeadCount) * group * contextLength, c.vocabSize,
            maxBatch * c.ropeDim, max(threads, c.kvHeadCount) * group * contextLength,
        ]
        let e = c.expertCount, k = c.expertUsedCount
        let moe = [maxBatch * e, maxBatch * k, maxBatch * k, e * maxBatch * k, e, e, maxBatch * c.dim, maxBatch * c.dim,
                   maxBatch * k * c.dim, e, maxBatch * e]
        arena = Arena(capacity: Arena.bytesNeeded([halves * 2, valueHalves * 2] + floats.map { $0 * 4 }
                                                  + [scratchBytes, 3 * MemoryLayout<MatmulOutput>.stride, c.kvDim * 2]
                                                  + moe.map { $0 * 4 }))
        keyCache = arena.allocate(count: halves)
        valueCache = arena.allocate(count: valueHalves)
        valueBlock = block
        valueBlocks = blocks
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
        ropeAngles = arena.allocate(count: floats[11])
        weights = arena.allocate(count: floats[12])
        scratch = arena.allocateBytes(scratchBytes)
        outputs = arena.allocate(count: 3)
        halfRow = arena.allocate(count: c.kvDim)
        routerLogits = arena.allocate(count: moe[0])
        selected = arena.allocate(count: moe[1])
        selectedWeights = arena.allocate(count: moe[2])
        expertRows = arena.allocate(count: moe[3])
        expertRowCounts = arena.allocate(count: moe[4])
        expertList = arena.allocate(count: moe[5])
        gathered = arena.allocate(count: moe[6])
        expertDown = arena.allocate(count: moe[7])
        expertOut = arena.allocate(count: moe[8])
        guessList = arena.allocate(count: moe[9])
        guessLogits = arena.allocate(count: moe[10])
        // llama.cpp: theta_scale = powf(freq_base, -2.0f/n_dims), in float
        ropeThetaScale = powf(c.ropeBase, -2 / Float(c.ropeDim))
    }

    /// Offset in one layer's V cache of (KV head, dimension, position).
    @inline(__always)
    private func valueIndex(head: Int, dim: Int, position: Int) -> Int {
        ((head * valueBlocks + position / valueBlock) * model.config.headDim + dim) * valueBlock + position % valueBlock
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
            var count = min(maxBatch, tokens.count - start)
            // Never leave one token for a last chunk: llama.cpp runs a lone token's attention in its
            // decode order, and it evaluates a prompt in one batch.
            if count > 2, tokens.count - start - count == 1 { count -= 1 }
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
        // the rotary angles of each new position, shared by every layer
        for b in 0..<batch {
            matmul.kernels.ropeAngles(ropeAngles + b * c.ropeDim, position: Float(position + b), thetaScale: ropeThetaScale,
                           freqScale: c.ropeFrequencyScale, pairs: c.ropeDim / 2)
        }
        // Index loop: `enumerated()` iterators allocate in unoptimized builds.
        for l in 0..<model.layers.count {
            let layer = model.layers[l]
            let keys = keyCache + l * contextLength * kvDim
            let values = valueCache + l * kvDim * valueBlocks * valueBlock
            // attention
            matmul.kernels.rmsNorm(xn, x, weight: layer.attentionNorm, rows: batch, count: dim, eps: c.rmsEps)
            outputs[0] = MatmulOutput(y: q, weight: layer.query)
            outputs[1] = MatmulOutput(y: newKeys, weight: layer.key)
            outputs[2] = MatmulOutput(y: newValues, weight: layer.value)
            if batch == 1 {
                // The new V column is kvDim stores one cache line apart, each a miss by now (the
                // cache last saw this layer a whole forward pass ago): start fetching them while
                // the Q/K/V matmul runs, instead of waiting for them one store at a time (≈ 5 µs per layer).
                for h in 0..<c.kvHeadCount {
                    matmul.kernels.prefetchForWrite(values + valueIndex(head: h, dim: 0, position: position), stride: valueBlock * 2, count: c.headDim)
                }
                for line in stride(from: 0, to: c.headDim * 2, by: 64) {
                    matmul.kernels.prefetchForWrite(UnsafeMutableRawPointer(keys + position * c.headDim) + line,
                                                    stride: contextLength * c.headDim * 2, count: c.kvHeadCount)
                }
            }
            matmul.multiply(UnsafeBufferPointer(start: outputs, count: 3), x: xn, vectors: batch, scratch: scratch)
            for b in 0..<batch {
                let angles = ropeAngles + b * c.ropeDim
                matmul.kernels.rope(q + b * qd, heads: c.headCount, headDim: c.headDim, rotaryDim: c.ropeDim, angles: angles)
                matmul.kernels.rope(newKeys + b * kvDim, heads: c.kvHeadCount, headDim: c.headDim, rotaryDim: c.ropeDim, angles: angles)
                // The cache holds f16 (as llama.cpp's default): K by head, then position (a head's keys
                // are one contiguous stream for the scores GEMV), V transposed so the
                // probability-weighted sum is one F16 GEMV per head.
                for h in 0..<c.kvHeadCount {
                    matmul.kernels.roundToHalf(keys + (h * contextLength + position + b) * c.headDim, newKeys + b * kvDim + h * c.headDim,
                                    count: c.headDim)
                }
                matmul.kernels.roundToHalf(halfRow, newValues + b * kvDim, count: kvDim)
                for h in 0..<c.kvHeadCount {
                    let column = values + valueIndex(head: h, dim: 0, position: position + b)
                    for d in 0..<c.headDim { column[d * valueBlock] = halfRow[h * c.headDim + d] }
                }
                // Q meets the f16 keys at f16 precision, as in llama.cpp (f16 products are exact in f32).
                matmul.kernels.roundThroughHalf(q + b * qd, count: qd)
            }
            attend(keys: keys, values: values, batch: batch)
            matmul.multiply(projected, weight: layer.attentionOutput, x: attention, vectors: batch, scratch: scratch)
            matmul.kernels.add(x, projected, count: batch * dim)
            // feed-forward
            matmul.kernels.rmsNorm(xn, x, weight: layer.ffnNorm, rows: batch, count: dim, eps: c.rmsEps)
            switch layer.ffn {
            case let .dense(gateWeight, upWeight, downWeight):
                outputs[0] = MatmulOutput(y: gate, weight: gateWeight)
                outputs[1] = MatmulOutput(y: up, weight: upWeight)
                matmul.multiply(UnsafeBufferPointer(start: outputs, count: 2), x: xn, vectors: batch, scratch: scratch)
                swiGLU(count: batch * c.ffnDim)
                matmul.multiply(projected, weight: downWeight, x: gate, vectors: batch, scratch: scratch)
            case let .experts(weights):
                mixtureOfExperts(layer: l, weights, batch: batch)
            }
            matmul.kernels.add(x, projected, count: batch * dim)
        }
        position += batch
        if let logitRows {
            // every position's logits, in sub-batches that fit the scratch
            matmul.kernels.rmsNorm(xn, x, weight: model.outputNorm, rows: batch, count: dim, eps: c.rmsEps)
            matmul.multiply(logitRows, weight: model.output, x: xn, vectors: batch, scratch: scratch)
            if lastOnly { logits.update(from: logitRows + (batch - 1) * c.vocabSize, count: c.vocabSize) }
        } else if lastOnly {
            matmul.kernels.rmsNorm(xn, x + (batch - 1) * dim, weight: model.outputNorm, count: dim, eps: c.rmsEps)
            matmul.multiply(logits, weight: model.output, x: xn, vectors: 1, scratch: scratch)
        }
    }

    /// The Mixture-of-Experts feed-forward of layer `l` on `xn` into `projected`, as llama.cpp's
    /// LLM_ARCH_LLAMA: softmax over the router logits, the top k experts, their probabilities
    /// renormalized to sum 1 (sum clamped at 6.1e-5), Σ_j w_j · down_j(silu(gate_j x) ⊙ up_j x)
    /// summed in rank order. Each expert runs once over all tokens routed to it; per-token results
    /// land in rank slots and are summed afterwards, so the order experts arrive from the store
    /// cannot change a bit of the output.
    private func mixtureOfExperts(layer l: Int, _ weights: ExpertWeights, batch: Int) {
        let c = model.config
        let dim = c.dim, ffn = c.ffnDim, e = c.expertCount, k = c.expertUsedCount
        if weights.router.type == .f32 {
            // llama.cpp's F32 × F32 order (tinyBLAS for a batch, ggml_vec_dot_f32 for one token), so
            // near-tie routing decisions fall as llama.cpp's do
            let w = weights.router.data.assumingMemoryBound(to: Float.self)
            for b in 0..<batch {
                matmul.kernels.gemvF32(rows: e, n: dim, w: w, wStride: weights.router.cols, x: xn + b * dim,
                                       y: routerLogits + b * e, single: batch == 1)
            }
        } else {
            matmul.multiply(routerLogits, weight: weights.router, x: xn, vectors: batch, scratch: scratch)
        }
        for i in 0..<e { expertRowCounts[i] = 0 }
        for b in 0..<batch {
            let probs = routerLogits + b * e
            matmul.kernels.softmax(probs, count: e)
            var sum: Float = 0
            for j in 0..<k {
                var best = -1
                for i in 0..<e where best < 0 || probs[i] > probs[best] {
                    var taken = false
                    for t in 0..<j where selected[b * k + t] == Int32(i) { taken = true }
                    if !taken { best = i }
                }
                selected[b * k + j] = Int32(best)
                selectedWeights[b * k + j] = probs[best]
                sum += probs[best]
                expertRows[best * batch * k + Int(expertRowCounts[best])] = Int32(b * k + j)
                expertRowCounts[best] += 1
            }
            let divisor = max(sum, 6.103515625e-5)
            for j in 0..<k { selectedWeights[b * k + j] /= divisor }
        }
        routingHook?(l, selected, batch)
        var used = 0
        for i in 0..<e where expertRowCounts[i] > 0 { expertList[used] = Int32(i); used += 1 }
        if let store = experts {
            store.request(layer: l, experts: UnsafeBufferPointer(start: expertList, count: used))
            if store.options.prefetch, l + 1 < model.layers.count, let next = model.experts(layer: l + 1) {
                prefetchGuess(layer: l + 1, next, batch: batch)
            }
        }
        for u in 0..<used {
            let expert = Int(expertList[u])
            let rows = Int(expertRowCounts[expert])
            let list = expertRows + expert * batch * k
            for r in 0..<rows { gathered.advanced(by: r * dim).update(from: xn + Int(list[r]) / k * dim, count: dim) }
            let v = experts?.acquire(layer: l, expert: expert)
                ?? ExpertViews(gate: weights.gate.view(expert), up: weights.up.view(expert), down: weights.down.view(expert))
            outputs[0] = MatmulOutput(y: gate, weight: v.gate)
            outputs[1] = MatmulOutput(y: up, weight: v.up)
            matmul.multiply(UnsafeBufferPointer(start: outputs, count: 2), x: gathered, vectors: rows, scratch: scratch)
            swiGLU(count: rows * ffn)
            matmul.multiply(expertDown, weight: v.down, x: gate, vectors: rows, scratch: scratch)
            experts?.release(layer: l, expert: expert)
            for r in 0..<rows { expertOut.advanced(by: Int(list[r]) * dim).update(from: expertDown + r * dim, count: dim) }
        }
        for b in 0..<batch {
            let out = projected + b * dim
            for d in 0..<dim { out[d] = expertOut[(b * k) * dim + d] * selectedWeights[b * k] }
            for j in 1..<max(k, 1) {
                let w = selectedWeights[b * k + j], src = expertOut + (b * k + j) * dim
                for d in 0..<dim { out[d] += src[d] * w }
            }
        }
    }

    /// Read-ahead: the next layer's router applied to this layer's normalized input guesses the
    /// experts the next layer will pick (top k per token); the store starts reading those it lacks.
    private func prefetchGuess(layer next: Int, _ weights: ExpertWeights, batch: Int) {
        let c = model.config
        let e = c.expertCount, k = c.expertUsedCount
        // Touches only its own buffers: the current layer's selection is still in use.
        matmul.multiply(guessLogits, weight: weights.router, x: xn, vectors: batch, scratch: scratch)
        var guessed = 0
        let minimum = experts!.options.prefetchMinProbability ?? 2 / Float(e)
        for b in 0..<batch {
            let logits = guessLogits + b * e
            matmul.kernels.softmax(logits, count: e)
            for _ in 0..<k {
                var best = -1
                for i in 0..<e where (best < 0 || logits[i] > logits[best]) && logits[i] >= 0 { best = i }
                if best < 0 || logits[best] < minimum { break }
                logits[best] = -1
                var known = false
                for g in 0..<guessed where guessList[g] == Int32(best) { known = true }
                if !known { guessList[guessed] = Int32(best); guessed += 1 }
            }
        }
        experts!.prefetch(layer: next, experts: UnsafeBufferPointer(start: guessList, count: guessed))
    }

    /// `gate[i] = silu(gate[i]) · up[i]` for i < `count`; split across the pool's threads when
    /// there is enough of it (a prompt batch), else on this thread (a decode step: ≈ 1 µs of work
    /// does not pay for waking a worker). Same arithmetic either way.
    private func swiGLU(count: Int) {
        guard count >= 8192, matmul.pool.threadCount > 1 else {
            matmul.kernels.swiGLU(gate, up, count: count)
            return
        }
        var job = SwiGLUJob(kernels: matmul.kernels, gate: gate, up: up, count: count)
        withUnsafeMutablePointer(to: &job) { ptr in
            matmul.pool.run({ ctx, index, threads in
                let j = ctx!.assumingMemoryBound(to: SwiGLUJob.self).pointee
                // 16-float granules: threads never write the same cache line
                let mine = ThreadPool.split(j.count, index: index, threads: threads, granule: 16)
                if !mine.isEmpty { j.kernels.swiGLU(j.gate + mine.lowerBound, j.up + mine.lowerBound, count: mine.count) }
            }, context: ptr)
        }
    }

    /// Causal grouped-query attention for `batch` new tokens whose keys/values are already in the
    /// cache. (token, query head) pairs are split across the pool's threads; the query heads of one
    /// KV head that fall to a thread run together, so its cached rows stay in L1. Dot products, softmax and rounding
    /// follow llama.cpp's CPU backend operation for operation (`KernelSet.gemvF16`, `softmax`).
    private func attend(keys: UnsafeMutablePointer<UInt16>, values: UnsafeMutablePointer<UInt16>, batch: Int) {
        let c = model.config
        var job = AttentionJob(kernels: matmul.kernels, q: q, keys: keys, values: values, out: attention,
                               scores: scores, weights: weights, contextLength: contextLength,
                               valueBlock: valueBlock, valueHeadStride: valueIndex(head: 1, dim: 0, position: 0),
                               startPosition: position, batch: batch,
                               heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim,
                               scale: 1 / Float(c.headDim).squareRoot())
        if batch == 1, position + 1 >= splitAttentionFrom, matmul.pool.threadCount > 1 {
            withUnsafeMutablePointer(to: &job) { attendSplit($0) }
            return
        }
        withUnsafeMutablePointer(to: &job) { ptr in
            matmul.pool.run({ ctx, index, threads in
                let job = ctx!.assumingMemoryBound(to: AttentionJob.self)
                let j = job.pointee
                let hd = j.headDim, qd = j.heads * hd
                let group = j.heads / j.kvHeads
                // llama.cpp evaluates one query token's attention in another order than a batch's
                let single = j.batch == 1
                let scores = j.scores + index * group * j.contextLength
                let weights = j.weights + index * group * j.contextLength
                // Units are (token, query head); a thread's range is walked one KV head's run of query
                // heads at a time. (A decode step has only kvHeads groups: splitting whole groups would
                // give one thread 2 of 3.)
                let mine = ThreadPool.split(j.batch * j.heads, index: index, threads: threads)
                var unit = mine.lowerBound
                while unit < mine.upperBound {
                    let b = unit / j.heads, head = unit % j.heads, kvHead = head / group
                    let g0 = head % group, g1 = min(group, g0 + mine.upperBound - unit), count = g1 - g0
                    unit += count
                    let n = j.startPosition + b + 1  // causal: keys 0...position of this token
                    let keys = UnsafePointer(j.keys + kvHead * j.contextLength * hd), values = UnsafePointer(j.values + kvHead * j.valueHeadStride)
                    let firstHead = j.q + b * qd + head * hd, out = j.out + b * qd + head * hd
                    // llama.cpp's order throughout: K·q and V·p as f16 × f16-rounded values (tinyBLAS for a
                    // batch, ggml_vec_dot_f16 for one token), ×scale, its softmax, probabilities rounded to
                    // f16. The run's heads share each converted K and V chunk.
                    j.kernels.gemvF16(rows: n, n: hd, w: keys, wStride: hd, x: firstHead, xStride: hd,
                                      vectors: count, y: scores, yStride: n, single: single)
                    for g in 0..<count { j.probabilities(scores: scores + g * n, into: weights + g * n, count: n) }
                    j.kernels.gemvF16(rows: hd, n: n, w: values, wStride: j.valueBlock, segment: j.valueBlock,
                                      segmentStride: hd * j.valueBlock, x: weights, xStride: n,
                                      vectors: count, y: out, yStride: hd, single: single)
                }
            }, context: ptr)
        }
    }
}

extension LlamaSession {

    /// One token's attention with the cache reads shared out evenly: the scores of all heads by
    /// position ranges, then each head's softmax, then the weighted values by ranges of output rows.
    /// (By heads, 9 query heads over 3 KV heads leave one thread 5 heads and both threads reading
    /// the middle KV head.) Per output, the operations are the ones `attend` performs.
    private func attendSplit(_ job: UnsafeMutablePointer<AttentionJob>) {
        // scores[h][t] = K_t · q_h for every query head h, positions split across threads
        matmul.pool.run({ ctx, index, threads in
            let j = ctx!.assumingMemoryBound(to: AttentionJob.self).pointee
            let hd = j.headDim, group = j.heads / j.kvHeads, n = j.startPosition + 1
            let mine = ThreadPool.split(n, index: index, threads: threads, granule: 16)
            if mine.isEmpty { return }
            for kv in 0..<j.kvHeads {
                j.kernels.gemvF16(rows: mine.count, n: hd, w: j.keys + (kv * j.contextLength + mine.lowerBound) * hd, wStride: hd,
                                  x: j.q + kv * group * hd, xStride: hd, vectors: group,
                                  y: j.scores + kv * group * n + mine.lowerBound, yStride: n, single: true)
            }
        }, context: job)
        // probabilities: scale, softmax, f16 rounding, head by head
        matmul.pool.run({ ctx, index, threads in
            let j = ctx!.assumingMemoryBound(to: AttentionJob.self).pointee
            let n = j.startPosition + 1
            for h in ThreadPool.split(j.heads, index: index, threads: threads) {
                j.probabilities(scores: j.scores + h * n, into: j.weights + h * n, count: n)
            }
        }, context: job)
        // out[h][d] = Σ_t p[h][t] · V[d][t], output rows d split across threads
        matmul.pool.run({ ctx, index, threads in
            let j = ctx!.assumingMemoryBound(to: AttentionJob.self).pointee
            let hd = j.headDim, group = j.heads / j.kvHeads, n = j.startPosition + 1
            let mine = ThreadPool.split(hd, index: index, threads: threads, granule: 16)
            if mine.isEmpty { return }
            for kv in 0..<j.kvHeads {
                j.kernels.gemvF16(rows: mine.count, n: n, w: j.values + kv * j.valueHeadStride + mine.lowerBound * j.valueBlock,
                                  wStride: j.valueBlock, segment: j.valueBlock, segmentStride: hd * j.valueBlock,
                                  x: j.weights + kv * group * n, xStride: n, vectors: group,
                                  y: j.out + kv * group * hd + mine.lowerBound, yStride: hd, single: true)
            }
        }, context: job)
    }
}

private struct SwiGLUJob {
    let kernels: KernelSet
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafeMutablePointer<Float>
    let count: Int
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
    let valueBlock: Int
    let valueHeadStride: Int
    let startPosition: Int
    let batch: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let scale: Float

    /// One head's attention probabilities from its `count` scores, in llama.cpp's order: ×scale,
    /// softmax (in place), rounded through f16 into `weights`. Both decode attention splits call it.
    @inline(__always)
    func probabilities(scores row: UnsafeMutablePointer<Float>, into weights: UnsafeMutablePointer<Float>, count n: Int) {
        for t in 0..<n { row[t] *= scale }
        kernels.softmax(row, count: n)
        kernels.roundToFloatThroughHalf(weights, row, count: n)
    }
}
