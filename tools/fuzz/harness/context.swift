// libFuzzer harness: the context parser (BoraIntent: BoraCore's YAML reader + the expression parser, slot/macro
// checks with line/column errors) and `sentenceCount` (the canonical word graph, determinized and
// counted, as `bora context check` does). The compiler with Whisper's tokenizer is the `compile`
// harness. The grammar is held to 20,000 words written out (ContextLimits) so that one input stays
// within libFuzzer's timeout under ASan; nesting, macro chains and doubling are refused by the
// limits (issue 29, item 1), which this harness fuzzes too.
import BoraCore
import BoraIntent

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var limits = ContextLimits.standard
    limits.words = 20_000
    guard let context = try? Context.parse(yaml: yaml, name: "fuzz.yaml", limits: limits) else { return 0 }
    var sink = context.expressionCount
    // sentenceCount's own time budget (default 10 s) stays under libFuzzer's -timeout=10, so a
    // grammar that needs the whole budget is not reported as a timeout (it is bounded by design).
    let count = context.sentenceCount(maxStates: 20_000, seconds: 2)
    sink &+= Int(truncatingIfNeeded: count.count)
    var rng = SplitMix64(seed: UInt64(size))
    for _ in 0..<2 { sink &+= context.sample(using: &rng, varyForms: true).text.utf8.count }
    blackHole(sink)
    return 0
}

@inline(never) func blackHole(_ x: Int) { if x == 0x5eed_f00d { print("") } }
