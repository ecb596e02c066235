// libFuzzer harness: the context compiler (BoraIntent) with Whisper's tokenizer (whisper-tiny.en
// fetched; $BORA_MODELS/$BORA_CACHE as everywhere): Context.parse, CompiledContext (word graph →
// spellings → tokens → determinized, minimized TokenAutomaton), interpret(text:/tokens:) of sampled
// sentences. Slow per input (a real context compiles in seconds under ASan), so it runs far fewer
// inputs than `context`. The grammar is held to small ContextLimits (5,000 words written out,
// 20,000 states, 5 s), so a single input stays within libFuzzer's timeout under ASan; the limits
// themselves, nesting and macro doubling included, are part of what is fuzzed (issue 29, item 1).
import BoraCore
import BoraGGUF
import BoraIntent
import BoraText
import Glibc

let tokenizer: Tokenizer? = {
    let env = { (k: String) in getenv(k).map { String(cString: $0) } }
    let cache = env("BORA_CACHE") ?? ((env("HOME") ?? "/root") + "/.cache/bora")
    let dir = (env("BORA_MODELS") ?? cache + "/models") + "/whisper-tiny.en"
    for name in ["whisper-tiny.en.Q8_0.gguf", "whisper-tiny.en.F16.gguf"] {
        if let file = try? GGUFFile(path: dir + "/" + name), let t = try? Tokenizer(gguf: file) { return t }
    }
    fputs("compile harness: no Whisper tokenizer under \(dir); fuzzing the parser only\n", stderr)
    return nil
}()

let limits: ContextLimits = {
    var l = ContextLimits.standard
    l.words = 5_000; l.states = 20_000; l.seconds = 5
    return l
}()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInit(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    _ = tokenizer
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let context = try? Context.parse(yaml: yaml, name: "fuzz.yaml", limits: limits) else { return 0 }
    var sink = context.expressionCount
    if let tokenizer, let compiled = try? CompiledContext(context: context, tokenizer: tokenizer, limits: limits) {
        var rng = SplitMix64(seed: UInt64(size))
        for _ in 0..<3 {
            let s = context.sample(using: &rng, varyForms: true)
            if let m = compiled.interpret(text: s.text) { sink &+= m.slots.count }
            let tokens = tokenizer.encode(" " + s.text, addSpecial: false)
            if let m = compiled.interpret(tokens: tokens) { sink &+= m.intent.utf8.count }
        }
        _ = compiled.interpret(text: yaml.prefix(64).description)
    }
    blackHole(sink)
    return 0
}

@inline(never) func blackHole(_ x: Int) { if x == 0x5eed_f00d { print("") } }
