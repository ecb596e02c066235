#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BoraCore
import CBoraKernels

extension WhisperSession {
    /// Cross-attention keys, transposed (dim × positions), of decoder layer `l`, computed once per window.
    func crossKeysT(_ l: Int) -> UnsafeMutablePointer<Float> { union + 2 * l * maxPositions * d }
    /// Cross-attention values (positions × dim) of decoder layer `l`.
    func crossValues(_ l: Int) -> UnsafeMutablePointer<Float> { union + (2 * l + 1) * maxPositions * d }

    /// Self-attention cache rows of (set, layer, beam): textContext × dim each for K and V.
    func cacheK(_ set: Int, _ l: Int, _ b: Int) -> UnsafeMutablePointer<Float> {
        selfK[set] + (l * maxBeam + b) * textContext * d
    }
    func cacheV(_ set: Int, _ l: Int, _ b: Int) -> UnsafeMutablePointer<Float> {
        selfV[set] + (l * maxBeam + b) * textContext * d
    }

    /// Keys and values of every decoder layer's cross-attention from the encoder output
    /// (`positions` rows in `x`). Overwrites the encoder scratch; allocates nothing.
    func computeCrossKeysValues(positions: Int) {
        for l in 0..<model.decoderLayers.count {
            let layer = model.decoderLayers[l]  // index loop: enumerated() allocates in debug builds
            linear(layer.crossValue, input: x, vectors: positions, output: crossValues(l), gelu: false)
            // K in chunks of positions through `hidden`, transposed into place.
            let kT = crossKeysT(l)
            var p0 = 0
            while p0 < positions {
                let n = min(chunk, positions - p0)
                linear(layer.crossKey, input: x + p0 * d, vectors: n, output: hidden, gelu: false)
                for p in 0..<n {
                    let row = hidden + p * d
                    for c in 0..<d { kT[c * positions + p0 + p] = row[c] }
                }
                p0 += n
            }
        }
    }

    /// One decoder position for `beams` hypotheses: token `stepTokens[b]` of beam b at `position`,
    /// attending to its own cache (set `cacheSet`) and to `positions` encoder outputs. Leaves the
    /// next-token logits in `logits[b * vocab ..]`. Allocates nothing.
    func decodeStep(beams: Int, position: Int, positions: Int) {
        let emb = model.tokenEmbedding
        for b in 0..<beams {
            let row = emb.data + Int(stepTokens[b]) * emb.rowBytes
            ReferenceKernels.dequantize(emb.type, row, dx + b * d, count: d)
            Ops.add(dx + b * d, model.decoderPositions + position * d, count: d)
        }
        let hd = d / model.config.textHeads, heads = model.config.textHeads
        let scale = 1 / Float(hd).squareRoot()
        let s = scores  // thread 0's score rows; self-attention runs on this thread
        for l in 0..<model.decoderLayers.count {
            let layer = model.decoderLayers[l]  // index loop: enumerated() allocates in debug builds
            layerNorm(dh, dx, layer.attentionNorm, rows: beams)
            project3(layer.query, layer.key, layer.value, input: dh, vectors: beams, q: dq, k: dk, v: dv)
            for b in 0..<beams {
                let kc = cacheK(cacheSet, l, b), vc = cacheV(cacheSet, l, b)
                (kc + position * d).update(from: dk + b * d, count: d)
                (vc + position * d).update(from: dv + b * d, count: d)
                let keys = position + 1
                for h in 0..<heads {
                    matmul.kernels.gemm(.f32, n: hd, w: UnsafeRawPointer(kc + h * hd), wRowBytes: d * 4, rows: 0..<keys,
                                        a: UnsafeRawPointer(dq + b * d + h * hd), aRowBytes: d * 4, vectors: 1, y: s, ldy: keys)
                    bora_softmax_f32(s, keys, scale)
                    let out = dattn + b * d + h * hd
                    out.update(repeating: 0, count: hd)
                    for j in 0..<keys {
                        let w = s[j], v = vc + j * d + h * hd
                        for i in 0..<hd { out[i] += w * v[i] }
                    }
                }
            }
            linear(layer.output, input: dattn, vectors: beams, output: dh, gelu: false)
            Ops.add(dx, dh, count: beams * d)
            layerNorm(dh, dx, layer.crossNorm, rows: beams)
            linear(layer.crossQuery, input: dh, vectors: beams, output: dq, gelu: false)
            attention(queries: dq, queryCount: beams, keysT: crossKeysT(l), values: crossValues(l),
                      keyCount: positions, output: dattn)
            linear(layer.crossOutput, input: dattn, vectors: beams, output: dh, gelu: false)
            Ops.add(dx, dh, count: beams * d)
            layerNorm(dh, dx, layer.ffnNorm, rows: beams)
            linear(layer.up, input: dh, vectors: beams, output: dhidden, gelu: true)
            linear(layer.down, input: dhidden, vectors: beams, output: dattn, gelu: false)
            Ops.add(dx, dattn, count: beams * d)
        }
        layerNorm(dh, dx, model.decoderNorm, rows: beams)
        matmul.multiply(logits, weight: emb, x: dh, vectors: beams, scratch: scratch)
    }

    /// When `tokens[0..<count]` ends with a block of at least 2 tokens repeated back to back, the
    /// length without the second copy; nil otherwise.
    func repeatCut(_ tokens: UnsafePointer<Int32>, count: Int) -> Int? {
        var length = 2
        while 2 * length <= count {
            var same = true
            for i in 0..<length where tokens[count - 2 * length + i] != tokens[count - length + i] { same = false; break }
            if same { return count - length }
            length += 1
        }
        return nil
    }

    /// Masks suppressed tokens of beam b's logits (and the begin set on the first step).
    func suppress(beam b: Int, firstStep: Bool) {
        let row = logits + b * vocab
        for t in 0..<vocab where suppressed[t] || (firstStep && suppressedBegin[t]) { row[t] = -.infinity }
    }

    /// Decodes the window whose encoder output is in `x` (`positions` rows). Generated tokens
    /// (no prompt, no end of text) land in `output[0..<outputCount]`. Allocates nothing.
    func decodeWindow(positions: Int, options: TranscribeOptions) -> WindowResult {
        computeCrossKeysValues(positions: positions)
        let eot = model.config.eot
        var noSpeechProb: Float = 0
        cacheSet = 0
        // The prompt runs as one hypothesis (no local function: capturing a var would allocate).
        var promptLength = 0
        let prompt = promptTokens
        for i in 0..<prompt.count {
            stepTokens[0] = prompt[i]
            decodeStep(beams: 1, position: promptLength, positions: positions)
            promptLength += 1
            if i == 0, let ns = model.config.noSpeech, Int(ns) < vocab {
                // No-speech probability: the start-of-transcript position's distribution.
                noSpeechProb = exp(logits[Int(ns)] - bora_logsumexp_f32(logits, vocab))
            }
        }
        let maxNew = max(1, min(options.maxTokens, textContext - promptLength))
        let beam = max(1, min(options.beam, maxBeam))
        let cutRepeats = options.stopOnRepeat && !options.fullWindow
        var sumLogProb: Float = 0
        outputCount = 0

        if beam == 1 {
            var position = promptLength
            for step in 0..<maxNew {
                suppress(beam: 0, firstStep: step == 0)
                var best = 0, bestValue = -Float.infinity
                for t in 0..<vocab where logits[t] > bestValue { bestValue = logits[t]; best = t }
                sumLogProb += bestValue - bora_logsumexp_f32(logits, vocab)
                if Int32(best) == eot { break }
                output[outputCount] = Int32(best); outputCount += 1
                if cutRepeats, let cut = repeatCut(output, count: outputCount) { outputCount = cut; break }
                if step + 1 == maxNew || position + 1 >= textContext { break }
                stepTokens[0] = Int32(best)
                decodeStep(beams: 1, position: position, positions: positions)
                position += 1
            }
        } else {
            sumLogProb = beamSearch(beam: beam, promptLength: promptLength, maxNew: maxNew, positions: positions,
                                    cutRepeats: cutRepeats)
        }
        let average = sumLogProb / Float(outputCount + 1)
        var skipped = false
        if let threshold = options.noSpeechThreshold, noSpeechProb > threshold, average < options.logProbThreshold {
            skipped = true
        }
        return WindowResult(tokens: [], averageLogProb: average, noSpeechProb: noSpeechProb, skipped: skipped,
                            encoderPositions: positions)
    }

    /// Beam search with length-normalized scores (cumulative log-probability / length), keeping
    /// `beam` hypotheses and stopping once `beam` have ended. The prompt's caches are in beam 0.
    /// Returns the winner's cumulative log-probability; its tokens are in `output`.
    func beamSearch(beam: Int, promptLength: Int, maxNew: Int, positions: Int, cutRepeats: Bool) -> Float {
        let eot = model.config.eot
        var live = 1, finished = 0, cur = 0
        hypScore[0] = 0
        var position = promptLength
        var step = 0
        while step < maxNew {
            // Top candidates of every live hypothesis.
            var count = 0
            for b in 0..<live {
                suppress(beam: b, firstStep: step == 0)
                let row = logits + b * vocab
                let lse = bora_logsumexp_f32(row, vocab)
                // Keep the best beam+1 tokens of this row (insertion into a small sorted list).
                let base = count
                var kept = 0
                for t in 0..<vocab {
                    let v = row[t]
                    if v == -.infinity { continue }
                    if kept == beam + 1 && v <= row[Int(candidates[base + kept - 1].token)] { continue }
                    var i = min(kept, beam)
                    while i > 0 && row[Int(candidates[base + i - 1].token)] < v {
                        if i < beam + 1 { candidates[base + i] = candidates[base + i - 1] }
                        i -= 1
                    }
                    candidates[base + i] = Candidate(score: 0, parent: b, token: Int32(t), length: step + 1)
                    kept = min(kept + 1, beam + 1)
                }
                for i in 0..<kept {
                    let c = candidates[base + i]
                    candidates[base + i].score = hypScore[cur * maxBeam + b] + row[Int(c.token)] - lse
                }
                count += kept
            }
            // Sort candidates by score (descending); count ≤ beam·(beam+1).
            for i in 1..<max(count, 1) {
                let c = candidates[i]
                var j = i
                while j > 0 && candidates[j - 1].score < c.score { candidates[j] = candidates[j - 1]; j -= 1 }
                candidates[j] = c
            }
            let next = 1 - cur
            var newLive = 0
            for i in 0..<count {
                let c = candidates[i]
                let parentTokens = hypTokens + (cur * maxBeam + c.parent) * textContext
                if c.token == eot {
                    if finished < beam {
                        let dst = finishedTokens + finished * textContext
                        dst.update(from: parentTokens, count: step)
                        finishedInfo[finished] = Candidate(score: c.score, parent: 0, token: eot, length: step)
                        finished += 1
                    }
                } else if newLive < beam {
                    let dst = hypTokens + (next * maxBeam + newLive) * textContext
                    dst.update(from: parentTokens, count: step)
                    dst[step] = c.token
                    if cutRepeats, let cut = repeatCut(dst, count: step + 1) {
                        // A looping hypothesis ends here, without its repeated block.
                        if finished < beam {
                            (finishedTokens + finished * textContext).update(from: dst, count: cut)
                            finishedInfo[finished] = Candidate(score: c.score, parent: 0, token: eot, length: cut)
                            finished += 1
                        }
                        continue
                    }
                    hypScore[next * maxBeam + newLive] = c.score
                    parents[newLive] = c.parent
                    stepTokens[newLive] = c.token
                    newLive += 1
                }
                if newLive == beam { break }  // lower-ranked candidates (ended or not) are dropped
            }
            if finished >= beam || newLive == 0 || step + 1 == maxNew || position + 1 >= textContext {
                if finished == 0 || (finished < beam && (step + 1 == maxNew || position + 1 >= textContext)) {
                    // Out of length: live hypotheses count as finished.
                    for i in 0..<newLive where finished < maxBeam {
                        let dst = finishedTokens + finished * textContext
                        dst.update(from: hypTokens + (next * maxBeam + i) * textContext, count: step + 1)
                        finishedInfo[finished] = Candidate(score: hypScore[next * maxBeam + i], parent: 0, token: eot, length: step + 1)
                        finished += 1
                    }
                }
                break
            }
            // Reorder caches: new beam i continues parent p's cache rows 0..<position.
            let from = cacheSet, to = 1 - cacheSet
            for i in 0..<newLive {
                let p = parents[i]
                for l in 0..<model.decoderLayers.count {
                    cacheK(to, l, i).update(from: cacheK(from, l, p), count: position * d)
                    cacheV(to, l, i).update(from: cacheV(from, l, p), count: position * d)
                }
            }
            cacheSet = to
            cur = next
            live = newLive
            decodeStep(beams: live, position: position, positions: positions)
            position += 1
            step += 1
        }
        // Best finished hypothesis by length-normalized score (length counts the end token).
        var best = 0, bestScore = -Float.infinity
        for i in 0..<finished {
            let info = finishedInfo[i]
            let normalized = info.score / Float(info.length + 1)
            if normalized > bestScore { bestScore = normalized; best = i }
        }
        guard finished > 0 else { outputCount = 0; return 0 }
        let info = finishedInfo[best]
        output.update(from: finishedTokens + best * textContext, count: info.length)
        outputCount = info.length
        return info.score
    }
}
