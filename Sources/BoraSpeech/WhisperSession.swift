import BoraCore

/// Options of one transcription.
public struct TranscribeOptions: Sendable, Equatable {
    /// Beam width; 1 is greedy decoding.
    public var beam: Int = 1
    /// Encode the classic 30 s window (audio + padding) instead of only the utterance's frames.
    public var fullWindow: Bool = false
    /// Variable-length encoding rounds the utterance's mel frames up to a multiple of this
    /// (frames are 10 ms; the padding frames are the same zeros the full window would hold).
    public var frameMultiple: Int = 100
    /// Extra padding frames encoded after the audio in variable-length mode.
    public var trailingFrames: Int = 0
    /// Stop when the text starts to loop: once the generated tokens end in a block of ≥ 2 tokens
    /// repeated back to back, the second copy is dropped and decoding ends. Applies to
    /// variable-length encoding only (a truncated encoder context invites such loops); the full
    /// window keeps faster-whisper's exact behaviour.
    public var stopOnRepeat: Bool = true
    /// Variable-length padding frames hold the log-mel of silence (openai-whisper's padding)
    /// instead of faster-whisper's zeros.
    public var padWithSilence: Bool = false
    /// At most this many tokens are generated per window (the model's text context bounds it too).
    public var maxTokens: Int = 224
    /// faster-whisper's rule: a window whose no-speech probability exceeds this while the
    /// average log-probability is below `logProbThreshold` yields no text. nil disables it.
    public var noSpeechThreshold: Float? = 0.6
    public var logProbThreshold: Float = -1.0
    /// Grammar search only. nil (default): grammar paths rank like free ones, by mean log-probability
    /// per token, and the search stops once `beam` have ended. A value ranks ended paths by total
    /// log-probability plus this bonus per token (end of text included) and searches until no live
    /// path can outrank the best: a higher ceiling (on tools/eval-intent's corpora, 94.4 % vs 91.9 %
    /// of clean commands found at beam 5, bonus 0.8) but out-of-context speech also finds better
    /// paths, so at a 1 % false-accept rate the default is as good or better. Suited to push-to-talk
    /// use, where every utterance is meant as a command.
    public var grammarLengthBonus: Float? = nil

    public init() {}
}

/// What one window decoded to.
public struct WindowResult: Sendable, Equatable {
    /// Generated text tokens (no prompt, no end of text).
    public var tokens: [Int32]
    /// Mean log-probability per generated token (end of text included), as faster-whisper reports.
    public var averageLogProb: Float
    /// Probability of the no-speech token at the start of transcript.
    public var noSpeechProb: Float
    /// True when the no-speech rule dropped the text.
    public var skipped: Bool
    /// Encoder positions used (1500 for a full window).
    public var encoderPositions: Int
}

/// Runs a `WhisperModel`: log-mel front end, encoder, and greedy or beam decoding, one window
/// (≤ 30 s) at a time. Every buffer comes from an `Arena` sized at init for a full window and
/// `maxBeam` hypotheses; after the first call, `transcribeWindow(_:options:tokens:)` performs
/// no heap allocation. Not thread-safe: one session per thread of use.
public final class WhisperSession: @unchecked Sendable {
    public let model: WhisperModel
    public let matmul: Matmul
    public let maxBeam: Int
    public let frontEnd: LogMel
    let arena: Arena
    let config: WhisperConfig

    // Sizes.
    let d: Int, heads: Int, headDim: Int, ffn: Int, maxPositions: Int, maxFrames: Int
    let textContext: Int, vocab: Int
    let chunk = 256, queryChunk = 64

    // Encoder buffers.
    let mel: UnsafeMutablePointer<Float>       // maxFrames × melCount
    let x: UnsafeMutablePointer<Float>         // maxPositions × d (encoder output at the end)
    let union: UnsafeMutablePointer<Float>     // encoder scratch / conv1 output / cross K,Vᵀ
    let im2col: UnsafeMutablePointer<Float>    // chunk × 3·max(melCount, d)
    let hidden: UnsafeMutablePointer<Float>    // chunk × ffn
    let scores: UnsafeMutablePointer<Float>    // threads × max(queryChunk, maxBeam) × maxPositions
    let scratch: UnsafeMutableRawPointer

    // Decoder buffers.
    let selfK: [UnsafeMutablePointer<Float>]   // two sets (beam reordering): layers × maxBeam × textContext × d
    let selfV: [UnsafeMutablePointer<Float>]
    var cacheSet = 0
    let dx: UnsafeMutablePointer<Float>, dh: UnsafeMutablePointer<Float>
    let dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    let dattn: UnsafeMutablePointer<Float>, dhidden: UnsafeMutablePointer<Float>
    let logits: UnsafeMutablePointer<Float>    // maxBeam × vocab
    let suppressed: UnsafeMutablePointer<Int32>       // token ids masked at every step
    let suppressedCount: Int
    let suppressedBegin: UnsafeMutablePointer<Int32>  // token ids masked at the first step too
    let suppressedBeginCount: Int
    let hypTokens: UnsafeMutablePointer<Int32> // 2 × maxBeam × textContext
    let hypScore: UnsafeMutablePointer<Float>  // 2 × maxBeam
    let hypState: UnsafeMutablePointer<Int32>  // 2 × maxBeam automaton states
    let promptLogits: UnsafeMutablePointer<Float>  // vocab: next-token logits after the prompt
    let freeOutput: UnsafeMutablePointer<Int32>    // textContext: the unconstrained tokens of `recognize`
    var freeCount = 0
    let candidates: UnsafeMutablePointer<Candidate> // maxBeam × (maxBeam + 1)
    let parents: UnsafeMutablePointer<Int>
    let stepTokens: UnsafeMutablePointer<Int32>
    let finishedTokens: UnsafeMutablePointer<Int32>  // maxBeam × textContext
    let finishedInfo: UnsafeMutablePointer<Candidate>
    let output: UnsafeMutablePointer<Int32>
    var outputCount = 0
    /// With `recordsMargins`, greedy decoding's top-1 − top-2 logit per output token.
    let margins: UnsafeMutablePointer<Float>
    var marginCount = 0
    /// When true, greedy decoding records each token's logit margin over the runner-up
    /// (`lastGreedyMargins`): a diagnostic for comparing builds whose sums differ in order (ARM vs
    /// x86). Off by default; it costs one more pass over the vocabulary per token.
    public var recordsMargins = false
    var bestEndLogProb: Float = 0   // log p(end of text) after the last beam search's winner

    /// Bytes reserved for activations, caches and scratch (touched lazily: RSS grows with use).
    public var arenaBytes: Int { arena.capacity }

    struct Candidate { var score: Float; var parent: Int; var token: Int32; var length: Int; var state: Int32 = 0; var endLogProb: Float = 0 }

    /// Reserves every buffer for windows up to 30 s and beams up to `maxBeam`.
    public init(model: WhisperModel, matmul: Matmul, maxBeam: Int = 5) {
        precondition(maxBeam >= 1)
        self.model = model; self.matmul = matmul; self.maxBeam = maxBeam
        let c = model.config
        config = c
        d = c.audioDim; heads = c.audioHeads; headDim = c.audioDim / c.audioHeads; ffn = model.ffnDim
        maxPositions = c.audioContext; maxFrames = c.windowFrames
        textContext = c.textContext; vocab = c.vocabSize
        let layers = max(c.audioLayers, c.textLayers)
        let threads = matmul.pool.threadCount
        let convCols = 3 * max(c.melCount, d)
        let unionFloats = max(6 * maxPositions * d, 2 * c.textLayers * maxPositions * d, maxFrames * d)
        let scoreRows = max(queryChunk, maxBeam)
        var types: Set<QuantType> = [model.tokenEmbedding.type, model.conv1.weight.type, model.conv2.weight.type]
        for l in model.encoderLayers { types.formUnion([l.query.weight.type, l.up.weight.type, l.down.weight.type, l.output.weight.type]) }
        for l in model.decoderLayers { types.formUnion([l.query.weight.type, l.crossKey.weight.type, l.up.weight.type, l.down.weight.type]) }
        var scratchBytes = 0
        for t in types {
            scratchBytes = max(scratchBytes,
                               Matmul.scratchBytes(type: t, cols: d, vectors: maxPositions),
                               Matmul.scratchBytes(type: t, cols: max(ffn, convCols), vectors: chunk))
        }
        let cacheFloats = layers * maxBeam * textContext * d
        let f = MemoryLayout<Float>.stride
        let sizes: [Int] = [
            maxFrames * c.melCount * f, maxPositions * d * f, unionFloats * f, chunk * convCols * f,
            chunk * ffn * f, threads * scoreRows * maxPositions * f, scratchBytes,
            cacheFloats * f, cacheFloats * f, cacheFloats * f, cacheFloats * f,
            6 * maxBeam * d * f, maxBeam * ffn * f, maxBeam * vocab * f, 4 * (c.suppressTokens.count + 6),
            4 * c.suppressAtBegin.count,
            2 * maxBeam * textContext * 4, 2 * maxBeam * f, 2 * maxBeam * 4, vocab * f, textContext * 4,
            maxBeam * (maxBeam + 1) * MemoryLayout<Candidate>.stride, maxBeam * MemoryLayout<Int>.stride,
            maxBeam * 4, maxBeam * textContext * 4, maxBeam * MemoryLayout<Candidate>.stride, textContext * 4,
            textContext * f,
        ]
        arena = Arena(capacity: Arena.bytesNeeded(sizes) + 4096)
        mel = arena.allocate(count: maxFrames * c.melCount)
        x = arena.allocate(count: maxPositions * d)
        union = arena.allocate(count: unionFloats)
        im2col = arena.allocate(count: chunk * convCols)
        hidden = arena.allocate(count: chunk * ffn)
        scores = arena.allocate(count: threads * scoreRows * maxPositions)
        scratch = arena.allocateBytes(scratchBytes)
        selfK = [arena.allocate(count: cacheFloats), arena.allocate(count: cacheFloats)]
        selfV = [arena.allocate(count: cacheFloats), arena.allocate(count: cacheFloats)]
        dx = arena.allocate(count: maxBeam * d); dh = arena.allocate(count: maxBeam * d)
        dq = arena.allocate(count: maxBeam * d); dk = arena.allocate(count: maxBeam * d)
        dv = arena.allocate(count: maxBeam * d); dattn = arena.allocate(count: maxBeam * d)
        dhidden = arena.allocate(count: maxBeam * ffn)
        logits = arena.allocate(count: maxBeam * vocab)
        // faster-whisper's suppress list: the model's non-speech tokens plus the task specials.
        let vocabSize = c.vocabSize
        var always = Set(c.suppressTokens.filter { Int($0) < vocabSize })
        for t in [c.transcribe, c.translate, Optional(c.sot), c.sotPrev, c.sotLM, c.noSpeech] {
            if let t, Int(t) < vocabSize { always.insert(t) }
        }
        let alwaysSorted = always.sorted(), begin = c.suppressAtBegin.filter { Int($0) < vocabSize }
        suppressed = arena.allocate(count: max(alwaysSorted.count, 1))
        suppressed.initialize(from: alwaysSorted, count: alwaysSorted.count)
        suppressedCount = alwaysSorted.count
        suppressedBegin = arena.allocate(count: max(begin.count, 1))
        suppressedBegin.initialize(from: begin, count: begin.count)
        suppressedBeginCount = begin.count
        hypTokens = arena.allocate(count: 2 * maxBeam * textContext)
        hypScore = arena.allocate(count: 2 * maxBeam)
        hypState = arena.allocate(count: 2 * maxBeam)
        promptLogits = arena.allocate(count: vocab)
        freeOutput = arena.allocate(count: textContext)
        candidates = arena.allocate(count: maxBeam * (maxBeam + 1))
        parents = arena.allocate(count: maxBeam)
        stepTokens = arena.allocate(count: maxBeam)
        finishedTokens = arena.allocate(count: maxBeam * textContext)
        finishedInfo = arena.allocate(count: maxBeam)
        output = arena.allocate(count: textContext)
        margins = arena.allocate(count: textContext)
        frontEnd = LogMel(filters: model.melFilters, melCount: c.melCount, fftSize: c.fftSize,
                          hopLength: c.hopLength, maxFrames: maxFrames, matmul: matmul)
        var p = [c.sot]
        if c.isMultilingual, let t = c.transcribe { p += [c.sot + 1, t] }
        promptTokens = p + [c.noTimestamps]
    }

    /// The decoder prompt: start of transcript (+ English and transcribe for multilingual models)
    /// and no timestamps. Built once at init.
    public var prompt: [Int32] { promptTokens }
    let promptTokens: [Int32]

    // MARK: - Front end and encoder

    /// Mel frames variable-length encoding uses for `sampleCount` samples with `options`.
    public func encodedFrames(sampleCount: Int, options: TranscribeOptions) -> Int {
        if options.fullWindow { return maxFrames }
        let content = max(1, frontEnd.contentFrames(sampleCount: sampleCount)) + max(0, options.trailingFrames)
        let m = max(2, options.frameMultiple + options.frameMultiple % 2)
        return min(maxFrames, (content + m - 1) / m * m)
    }

    /// Computes the log-mel input of one window into the session's mel buffer; returns frames.
    func prepareMel(_ samples: UnsafeBufferPointer<Float>, firstFrame: Int, frames: Int, globalMax: Float?, padWithSilence: Bool = false) {
        frontEnd.compute(samples, firstFrame: firstFrame, frames: frames, out: mel, globalMax: globalMax, padWithSilence: padWithSilence)
    }

    /// Read access to the log-mel frames of the last window (frame-major, melCount per frame).
    public var melFrames: UnsafePointer<Float> { UnsafePointer(mel) }
    /// Read access to the encoder output of the last window (positions × dim).
    public var encoderOutput: UnsafePointer<Float> { UnsafePointer(x) }

    /// Runs the encoder over `frames` mel frames already in the mel buffer (frames even, ≤ 3000);
    /// the output (frames/2 × dim) stays in `encoderOutput`. Allocates nothing.
    public func encode(frames: Int) {
        precondition(frames >= 2 && frames % 2 == 0 && frames <= maxFrames)
        let positions = frames / 2, nMel = config.melCount
        let conv1Out = union
        // conv1 (stride 1) then conv2 (stride 2): kernel 3, padding 1, GELU; then positions.
        convolve(model.conv1, input: mel, channels: nMel, inputRows: frames, stride: 1, output: conv1Out, outputRows: frames)
        convolve(model.conv2, input: conv1Out, channels: d, inputRows: frames, stride: 2, output: x, outputRows: positions)
        matmul.kernels.add(x, model.encoderPositions, count: positions * d)

        let h = union, q = union + maxPositions * d, k = q + maxPositions * d, v = k + maxPositions * d
        let attn = v + maxPositions * d, kT = attn + maxPositions * d
        for l in 0..<model.encoderLayers.count {
            let layer = model.encoderLayers[l]  // index loop: array iteration allocates in debug builds
            layerNorm(h, x, layer.attentionNorm, rows: positions)
            project3(layer.query, layer.key, layer.value, input: h, vectors: positions, q: q, k: k, v: v)
            transpose(k, rows: positions, cols: d, into: kT)
            attention(queries: q, queryCount: positions, keysT: kT, values: v, keyCount: positions, output: attn)
            linear(layer.output, input: attn, vectors: positions, output: h, gelu: false)
            matmul.kernels.add(x, h, count: positions * d)
            layerNorm(h, x, layer.ffnNorm, rows: positions)
            feedForward(layer, input: h, vectors: positions, residual: x, out: attn)
        }
        layerNorm(x, x, model.encoderNorm, rows: positions)
    }

    // MARK: - Building blocks

    /// Kernel-3, padding-1 convolution over time as im2col GEMMs in chunks of `chunk` output rows,
    /// then bias and GELU: output row p sees input rows stride·p − 1 … stride·p + 1 (zeros outside),
    /// im2col columns ordered [channel][k] as the converter flattens the weights.
    func convolve(_ conv: Linear, input: UnsafePointer<Float>, channels: Int, inputRows: Int, stride: Int,
                  output: UnsafeMutablePointer<Float>, outputRows: Int) {
        let cols = channels * 3
        var p0 = 0
        while p0 < outputRows {
            let n = min(chunk, outputRows - p0)
            for p in 0..<n {
                let row = im2col + p * cols
                for k in 0..<3 {
                    let src = stride * (p0 + p) + k - 1
                    if src < 0 || src >= inputRows {
                        for c in 0..<channels { row[c * 3 + k] = 0 }
                    } else {
                        let m = input + src * channels
                        for c in 0..<channels { row[c * 3 + k] = m[c] }
                    }
                }
            }
            linear(conv, input: im2col, vectors: n, output: output + p0 * conv.weight.rows, gelu: true)
            p0 += n
        }
    }

    func layerNorm(_ out: UnsafeMutablePointer<Float>, _ input: UnsafeMutablePointer<Float>, _ norm: Norm, rows: Int) {
        for r in 0..<rows {
            matmul.kernels.layerNorm(out + r * d, input + r * d, weight: norm.weight, bias: norm.bias, count: d, eps: config.layerNormEps)
        }
    }

    /// output = input · Wᵀ + b (then GELU), `vectors` rows.
    func linear(_ l: Linear, input: UnsafePointer<Float>, vectors: Int, output: UnsafeMutablePointer<Float>, gelu: Bool) {
        matmul.multiply(output, weight: l.weight, x: input, vectors: vectors, scratch: scratch)
        if let b = l.bias {
            matmul.kernels.addBiasGELU(output, bias: b, rows: vectors, cols: l.weight.rows, gelu: gelu)
        } else if gelu {
            matmul.kernels.gelu(output, count: vectors * l.weight.rows)
        }
    }

    func project3(_ a: Linear, _ b: Linear, _ c: Linear, input: UnsafePointer<Float>, vectors: Int,
                          q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) {
        if a.weight.type == b.weight.type && b.weight.type == c.weight.type {
            withUnsafeTemporaryAllocation(of: MatmulOutput.self, capacity: 3) { outs in
                outs[0] = MatmulOutput(y: q, weight: a.weight)
                outs[1] = MatmulOutput(y: k, weight: b.weight)
                outs[2] = MatmulOutput(y: v, weight: c.weight)
                matmul.multiply(UnsafeBufferPointer(outs), x: input, vectors: vectors, scratch: scratch)
            }
        } else {
            matmul.multiply(q, weight: a.weight, x: input, vectors: vectors, scratch: scratch)
            matmul.multiply(k, weight: b.weight, x: input, vectors: vectors, scratch: scratch)
            matmul.multiply(v, weight: c.weight, x: input, vectors: vectors, scratch: scratch)
        }
        if let bias = a.bias { matmul.kernels.addBiasGELU(q, bias: bias, rows: vectors, cols: a.weight.rows, gelu: false) }
        if let bias = b.bias { matmul.kernels.addBiasGELU(k, bias: bias, rows: vectors, cols: b.weight.rows, gelu: false) }
        if let bias = c.bias { matmul.kernels.addBiasGELU(v, bias: bias, rows: vectors, cols: c.weight.rows, gelu: false) }
    }

    /// residual += down(GELU(up(input))) in chunks of positions.
    /// `out` has room for `chunk` rows of dim.
    func feedForward<L: FeedForward>(_ layer: L, input: UnsafePointer<Float>, vectors: Int,
                                             residual: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        var p0 = 0
        while p0 < vectors {
            let n = min(chunk, vectors - p0)
            linear(layer.up, input: input + p0 * d, vectors: n, output: hidden, gelu: true)
            linear(layer.down, input: hidden, vectors: n, output: out, gelu: false)
            matmul.kernels.add(residual + p0 * d, out, count: n * d)
            p0 += n
        }
    }

    func transpose(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
        // dst[c * rows + r] = src[r * cols + c], blocked for cache locality.
        let b = 32
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + b)
            var c0 = 0
            while c0 < cols {
                let c1 = min(cols, c0 + b)
                for r in r0..<r1 { for c in c0..<c1 { dst[c * rows + r] = src[r * cols + c] } }
                c0 = c1
            }
            r0 = r1
        }
    }

    /// Multi-head attention without a mask: for every query row i and head h,
    /// out[i, h] = softmax(q[i,h] · K[j,h] / √headDim over keys j) · V[j,h], with Kᵀ given as
    /// (dim × keyCount) and V as (keyCount × dim). Heads × query chunks run on the pool.
    func attention(queries: UnsafePointer<Float>, queryCount: Int, keysT: UnsafePointer<Float>,
                   values: UnsafePointer<Float>, keyCount: Int, output: UnsafeMutablePointer<Float>) {
        var job = AttentionJob(kernels: matmul.kernels, queries: queries, queryCount: queryCount, keysT: keysT,
                               values: values, keyCount: keyCount, output: output, dim: d, heads: heads,
                               headDim: headDim, queryChunk: queryChunk, scores: scores,
                               scoreStride: max(queryChunk, maxBeam) * maxPositions,
                               scale: 1 / Float(headDim).squareRoot())
        // Small problems (a decoder step) run on this thread: waking the pool costs more than the work.
        let small = queryCount * keyCount * heads < 1 << 15
        withUnsafeMutablePointer(to: &job) { ptr in
            if small {
                attentionBody(UnsafeMutableRawPointer(ptr), 0, 1)
            } else {
                matmul.pool.run(attentionBody, context: ptr)
            }
        }
    }
}

/// Encoder and decoder layers share the feed-forward shape.
protocol FeedForward { var up: Linear { get }; var down: Linear { get } }
extension EncoderLayer: FeedForward {}
extension DecoderLayer: FeedForward {}

/// Pool body of `attention`: worker `index` of `threads` takes every threads-th (head, chunk) task.
private let attentionBody: ParallelBody = { ctx, index, threads in
    let job = ctx!.assumingMemoryBound(to: AttentionJob.self).pointee
    let chunks = (job.queryCount + job.queryChunk - 1) / job.queryChunk
    let s = job.scores + index * job.scoreStride
    var task = index
    while task < chunks * job.heads {
        let h = task % job.heads, c = task / job.heads
        let q0 = c * job.queryChunk, n = min(job.queryChunk, job.queryCount - q0)
        let hd = job.headDim, dim = job.dim, kc = job.keyCount
        job.kernels.sgemm(m: n, n: kc, k: hd, a: job.queries + q0 * dim + h * hd, lda: dim,
                          b: job.keysT + h * hd * kc, ldb: kc, c: s, ldc: kc)
        for i in 0..<n { job.kernels.scaledSoftmax(s + i * kc, count: kc, scale: job.scale) }
        job.kernels.sgemm(m: n, n: hd, k: kc, a: s, lda: kc, b: job.values + h * hd, ldb: dim,
                          c: job.output + q0 * dim + h * hd, ldc: dim)
        task += threads
    }
}

private struct AttentionJob {
    let kernels: KernelSet
    let queries: UnsafePointer<Float>
    let queryCount: Int
    let keysT: UnsafePointer<Float>
    let values: UnsafePointer<Float>
    let keyCount: Int
    let output: UnsafeMutablePointer<Float>
    let dim: Int, heads: Int, headDim: Int, queryChunk: Int
    let scores: UnsafeMutablePointer<Float>
    let scoreStride: Int
    let scale: Float
}
