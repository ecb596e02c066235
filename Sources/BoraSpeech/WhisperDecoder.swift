#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BoraCore

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
            matmul.kernels.add(dx + b * d, model.decoderPositions + position * d, count: d)
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
                    matmul.kernels.scaledSoftmax(s, count: keys, scale: scale)
                    let out = dattn + b * d + h * hd
                    out.update(repeating: 0, count: hd)
                    for j in 0..<keys {
                        let w = s[j], v = vc + j * d + h * hd
                        for i in 0..<hd { out[i] += w * v[i] }
                    }
                }
            }
            linear(layer.output, input: dattn, vectors: beams, output: dh, gelu: false)
            matmul.kernels.add(dx, dh, count: beams * d)
            layerNorm(dh, dx, layer.crossNorm, rows: beams)
            linear(layer.crossQuery, input: dh, vectors: beams, output: dq, gelu: false)
            attention(queries: dq, queryCount: beams, keysT: crossKeysT(l), values: crossValues(l),
                      keyCount: positions, output: dattn)
            linear(layer.crossOutput, input: dattn, vectors: beams, output: dh, gelu: false)
            matmul.kernels.add(dx, dh, count: beams * d)
            layerNorm(dh, dx, layer.ffnNorm, rows: beams)
            linear(layer.up, input: dh, vectors: beams, output: dhidden, gelu: true)
            linear(layer.down, input: dhidden, vectors: beams, output: dattn, gelu: false)
            matmul.kernels.add(dx, dattn, count: beams * d)
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
        for i in 0..<suppressedCount { row[Int(suppressed[i])] = -.infinity }
        if firstStep { for i in 0..<suppressedBeginCount { row[Int(suppressedBegin[i])] = -.infinity } }
    }

    /// Runs the prompt (start of transcript … no timestamps) as one hypothesis in cache set 0,
    /// keeps the next-token logits in `promptLogits`, and returns the prompt length and the
    /// no-speech probability (the start-of-transcript position's distribution).
    func runPrompt(positions: Int) -> (length: Int, noSpeechProb: Float) {
        computeCrossKeysValues(positions: positions)
        cacheSet = 0
        var noSpeechProb: Float = 0
        let prompt = promptTokens
        for i in 0..<prompt.count {
            stepTokens[0] = prompt[i]
            decodeStep(beams: 1, position: i, positions: positions)
            if i == 0, let ns = model.config.noSpeech, Int(ns) < vocab {
                noSpeechProb = expf(logits[Int(ns)] - matmul.kernels.logSumExp(logits, count: vocab))
            }
        }
        promptLogits.update(from: logits, count: vocab)
        return (prompt.count, noSpeechProb)
    }

    /// Greedy decoding from the prompt's state (its logits in `logits` row 0). Tokens land in
    /// `output[0..<outputCount]`; returns the sum of log-probabilities (end of text included).
    func greedy(promptLength: Int, maxNew: Int, positions: Int, cutRepeats: Bool) -> Float {
        let eot = model.config.eot
        var sumLogProb: Float = 0
        var position = promptLength
        outputCount = 0
        marginCount = 0
        for step in 0..<maxNew {
            suppress(beam: 0, firstStep: step == 0)
            let best = matmul.kernels.argmax(logits, count: vocab), bestValue = logits[best]
            if recordsMargins {
                var second = -Float.infinity
                for t in 0..<vocab where t != best && logits[t] > second { second = logits[t] }
                margins[outputCount] = bestValue - second
                marginCount = outputCount + 1
            }
            sumLogProb += bestValue - matmul.kernels.logSumExp(logits, count: vocab)
            if Int32(best) == eot { break }
            output[outputCount] = Int32(best); outputCount += 1
            if cutRepeats, let cut = repeatCut(output, count: outputCount) { outputCount = cut; break }
            if step + 1 == maxNew || position + 1 >= textContext { break }
            stepTokens[0] = Int32(best)
            decodeStep(beams: 1, position: position, positions: positions)
            position += 1
        }
        return sumLogProb
    }

    /// Decodes the window whose encoder output is in `x` (`positions` rows). Generated tokens
    /// (no prompt, no end of text) land in `output[0..<outputCount]`. Allocates nothing.
    func decodeWindow(positions: Int, options: TranscribeOptions) -> WindowResult {
        let (promptLength, noSpeechProb) = runPrompt(positions: positions)
        let maxNew = max(1, min(options.maxTokens, textContext - promptLength))
        let beam = max(1, min(options.beam, maxBeam))
        let cutRepeats = options.stopOnRepeat && !options.fullWindow
        let sumLogProb: Float
        if beam == 1 {
            sumLogProb = greedy(promptLength: promptLength, maxNew: maxNew, positions: positions, cutRepeats: cutRepeats)
        } else {
            sumLogProb = beamSearch(beam: beam, promptLength: promptLength, maxNew: maxNew, positions: positions,
                                    cutRepeats: cutRepeats, automaton: nil) ?? 0
        }
        let average = sumLogProb / Float(outputCount + 1)
        var skipped = false
        if let threshold = options.noSpeechThreshold, noSpeechProb > threshold, average < options.logProbThreshold {
            skipped = true
        }
        return WindowResult(tokens: [], averageLogProb: average, noSpeechProb: noSpeechProb, skipped: skipped,
                            encoderPositions: positions)
    }

    /// Inserts `token` into the sorted top-(beam+1) candidates at `candidates[base...]` (by logit)
    /// unless it is suppressed or ranks below them. `score` is the hypothesis score minus log Σ exp.
    @inline(__always)
    func offer(_ token: Int32, next: Int32, row: UnsafeMutablePointer<Float>, score: Float, parent: Int, length: Int,
               base: Int, kept: inout Int, beam: Int) {
        let v = row[Int(token)]
        if v == -.infinity { return }
        if kept == beam + 1 && v <= row[Int(candidates[base + kept - 1].token)] { return }
        var i = min(kept, beam)
        while i > 0 && row[Int(candidates[base + i - 1].token)] < v {
            if i < beam + 1 { candidates[base + i] = candidates[base + i - 1] }
            i -= 1
        }
        candidates[base + i] = Candidate(score: score + v, parent: parent, token: token, length: length, state: next)
        kept = min(kept + 1, beam + 1)
    }

    /// Beam search from the prompt's state, scores = cumulative log-probability under the full
    /// softmax. Free decoding (no automaton) ranks ended hypotheses by score / (length + 1) and stops
    /// once `beam` have ended. With an `automaton`, a hypothesis may only continue along its state's
    /// edges and end (end of text) only in an accepting state; ended paths rank by score +
    /// lengthBonus × (length + 1), the `beam` best are kept however low they ranked when they ended,
    /// and the search stops when no live path can still outrank the best (bounded by the automaton's
    /// longest remaining path). The winner's tokens go to `output`; returns its cumulative
    /// log-probability, or nil when no hypothesis could end (constrained search that ran out of
    /// length or edges). Allocates nothing.
    func beamSearch(beam: Int, promptLength: Int, maxNew: Int, positions: Int, cutRepeats: Bool,
                    automaton: TokenAutomaton?, lengthBonus: Float? = nil) -> Float? {
        // Total-score ranking (grammar search with a bonus) or per-token average (free decoding, or nil bonus).
        let totalRank = automaton != nil && lengthBonus != nil
        let bonus = lengthBonus ?? 0
        /// An ended path's rank in the total-score search (end of text counts as a token).
        func totalRankOf(_ c: Candidate) -> Float { c.score + bonus * Float(c.length + 1) }
        let eot = model.config.eot
        var live = 1, finished = 0, cur = 0
        hypScore[0] = 0
        hypState[0] = 0
        var position = promptLength
        var step = 0
        while step < maxNew {
            // The best beam+1 continuations of every live hypothesis.
            var count = 0
            for b in 0..<live {
                suppress(beam: b, firstStep: step == 0)
                let row = logits + b * vocab
                let lse = matmul.kernels.logSumExp(row, count: vocab)
                let base = count
                var kept = 0
                let previous = hypScore[cur * maxBeam + b]
                if let automaton {
                    let state = Int(hypState[cur * maxBeam + b])
                    for e in Int(automaton.edgeStart[state])..<Int(automaton.edgeStart[state + 1]) {
                        offer(automaton.edgeToken[e], next: automaton.edgeTarget[e], row: row, score: previous - lse,
                              parent: b, length: step + 1, base: base, kept: &kept, beam: beam)
                    }
                    if automaton.accepting[state] {
                        offer(eot, next: Int32(state), row: row, score: previous - lse, parent: b, length: step + 1,
                              base: base, kept: &kept, beam: beam)
                    }
                } else {
                    for t in 0..<vocab {
                        offer(Int32(t), next: 0, row: row, score: previous - lse, parent: b, length: step + 1,
                              base: base, kept: &kept, beam: beam)
                    }
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
                    let ended = Candidate(score: c.score, parent: 0, token: eot, length: step,
                                          endLogProb: c.score - hypScore[cur * maxBeam + c.parent])
                    var slot = -1
                    if finished < beam {
                        slot = finished
                        finished += 1
                    } else if totalRank {
                        // Grammar search keeps the `beam` best ended paths: replace the worst if this beats it.
                        var worst = 0
                        for f in 1..<finished where totalRankOf(finishedInfo[f]) < totalRankOf(finishedInfo[worst]) { worst = f }
                        if totalRankOf(ended) > totalRankOf(finishedInfo[worst]) { slot = worst }
                    }
                    if slot >= 0 {
                        (finishedTokens + slot * textContext).update(from: parentTokens, count: step)
                        finishedInfo[slot] = ended
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
                    hypState[next * maxBeam + newLive] = c.state
                    parents[newLive] = c.parent
                    stepTokens[newLive] = c.token
                    newLive += 1
                }
                // Lower-ranked candidates are dropped; the grammar search still collects their ended paths.
                if newLive == beam && !totalRank { break }
            }
            let outOfLength = step + 1 == maxNew || position + 1 >= textContext
            // Free decoding stops once `beam` hypotheses have ended. The grammar search stops once no
            // live path can still outrank the best ended one: scores only fall as paths grow, and the
            // bonus adds at most lengthBonus per token of the longest path left in the automaton.
            var done = finished >= beam
            if let automaton, totalRank {
                var bestEnded = -Float.infinity
                for f in 0..<finished { bestEnded = max(bestEnded, totalRankOf(finishedInfo[f])) }
                done = true
                for i in 0..<newLive {
                    let remaining = automaton.longestRemaining[Int(hypState[next * maxBeam + i])]
                    if remaining == .max { done = false; break }
                    let bound = hypScore[next * maxBeam + i] + bonus * Float(step + 2 + Int(remaining))
                    if bound > bestEnded { done = false; break }
                }
            }
            if done || newLive == 0 || outOfLength {
                if automaton == nil && (finished == 0 || (finished < beam && outOfLength)) {
                    // Out of length: live hypotheses count as finished (free decoding only).
                    for i in 0..<newLive where finished < maxBeam {
                        (finishedTokens + finished * textContext).update(from: hypTokens + (next * maxBeam + i) * textContext, count: step + 1)
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
        var best = 0, bestScore = -Float.infinity
        for i in 0..<finished {
            let info = finishedInfo[i]
            let ranked = totalRank ? totalRankOf(info) : info.score / Float(info.length + 1)
            if ranked > bestScore { bestScore = ranked; best = i }
        }
        guard finished > 0 else { outputCount = 0; return nil }
        let info = finishedInfo[best]
        output.update(from: finishedTokens + best * textContext, count: info.length)
        outputCount = info.length
        bestEndLogProb = info.endLogProb
        return info.score
    }
}
