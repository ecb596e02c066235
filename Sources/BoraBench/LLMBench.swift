import BoraCore
import BoraGGUF
import BoraLM

/// What `benchmarkLLM` measured for one thread count.
public struct LLMBenchResult {
    /// Mapping, validating and repacking the model plus reserving the session.
    public let loadSeconds: Double
    public let repackMilliseconds: Double
    /// One evaluation of the whole prompt, per run.
    public let prompt: TimingStats
    /// All decoded tokens one at a time, per run.
    public let decode: TimingStats
    /// Heap allocations per decoded token over the timed decode runs (all threads).
    public let allocationsPerDecodedToken: Double
    public let modelBytes: Int
    public let arenaBytes: Int
}

/// llama-bench's prompt and decode tests on the llama-family GGUF at `path`, loaded afresh on a
/// pool of `threads`: the prompt test evaluates `promptTokens` tokens of a fixed sequence in one
/// call; the decode test evaluates `decodeTokens` tokens one at a time, each the greedy pick from
/// the previous logits. Both start from a KV cache holding `depth` tokens (filled once, before
/// timing). Each test runs once to warm up, then `runs` timed times. Throws `BenchError`: bad
/// input when the file is not a usable model, a runtime failure when the session cannot be made.
public func benchmarkLLM(path: String, kernels: KernelSet, threads: Int, promptTokens: Int, decodeTokens: Int,
                         depth: Int, runs: Int) throws(BenchError) -> LLMBenchResult {
    let t0 = monotonicSeconds()
    let file: GGUFFile, llama: LlamaModel, session: LlamaSession
    do { file = try GGUFFile(path: path) } catch { throw BenchError(error.description, badInput: true) }
    do { llama = try LlamaModel(file: file, kernels: kernels) } catch { throw BenchError(error.description, badInput: true) }
    do throws(LlamaError) {
        session = try LlamaSession(model: llama, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: threads)),
                                   contextLength: depth + promptTokens + decodeTokens)
    } catch { throw BenchError(error.description) }
    let loadSeconds = monotonicSeconds() - t0
    let vocab = llama.config.vocabSize
    let sequence = { (count: Int, salt: Int) in (0..<count).map { Int32(($0 * 7919 + salt) % (vocab - 100) + 50) } }
    let prompt = sequence(promptTokens, 13)
    // The cache both tests start from, filled once (llama-bench restores a saved state).
    if depth > 0 {
        do throws(LlamaError) { _ = try session.evaluate(sequence(depth, 101)) } catch { throw BenchError(error.description) }
    }
    let sampler = Sampler(options: .greedy, vocabSize: vocab, kernels: kernels)
    var generated = [Int32](repeating: 0, count: decodeTokens)
    let (promptStats, _) = measure(runs: runs) {
        session.truncate(to: depth)
        _ = try? session.evaluate(prompt)
    }
    // Decode: one token at a time from the depth, allocations counted over the loop.
    let (decodeStats, allocs) = measure(runs: runs) {
        session.truncate(to: depth)
        var token = prompt[0]
        generated.withUnsafeMutableBufferPointer { out in
            withUnsafeMutablePointer(to: &token) { tp in
                for i in 0..<decodeTokens {
                    let logits = try! session.evaluate(UnsafeBufferPointer(start: tp, count: 1))
                    tp.pointee = sampler.sample(logits)
                    out[i] = tp.pointee
                }
            }
        }
    }
    return LLMBenchResult(loadSeconds: loadSeconds, repackMilliseconds: llama.repacked.milliseconds,
                          prompt: promptStats, decode: decodeStats,
                          allocationsPerDecodedToken: allocs / Double(decodeTokens),
                          modelBytes: file.byteCount, arenaBytes: session.arenaBytes)
}
