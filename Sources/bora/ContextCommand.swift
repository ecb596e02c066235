import BoraModels
import ArgumentParser
import BoraCore
import BoraGGUF
import BoraIntent
import BoraText
import Foundation

/// `bora context check|sample|match`: validate speech-to-intent context files, draw labelled
/// sentences from them, and match transcripts against them (the text-matching baseline).
struct ContextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "context",
        abstract: "Validate, sample and match speech-to-intent context files (Rhino-style YAML).",
        subcommands: [ContextCheck.self, ContextSampleCommand.self, ContextMatch.self]
    )
}

/// `--context-limit NAME=VALUE` (repeatable): one of the bounds the context parser and compiler
/// keep (ContextLimits); a context that breaks one is refused with exit 3 naming it.
struct ContextLimitOptions: ParsableArguments {
    @Option(name: .customLong("context-limit"), help: ArgumentHelp(
        "Change a context limit (repeatable). Defaults: " + ContextLimitOptions.defaults + ".",
        valueName: "name=value"))
    var settings: [String] = []

    static var defaults: String {
        let d = ContextLimits.standard
        return "file-bytes=\(d.fileBytes), nesting=\(d.nesting), words=\(d.words), word-length=\(d.wordLength), states=\(d.states), seconds=\(Int(d.seconds))"
    }

    /// The limits with every setting applied.
    var limits: ContextLimits {
        get throws {
            var limits = ContextLimits.standard
            for setting in settings {
                do { try limits.apply(setting) } catch { throw ValidationError(error.description) }
            }
            return limits
        }
    }

    func validate() throws { _ = try limits }
}

/// Loads the Whisper tokenizer for compiling a context.
func whisperTokenizer(_ model: String) throws -> Tokenizer {
    let path = try ModelLocator.resolve(model)
    return try Tokenizer(gguf: try GGUFFile(path: path))
}

struct ContextCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a context file and print counts (intents, expressions, distinct sentences, automaton size).",
        discussion: "Errors are reported as FILE:LINE:COLUMN: problem; exit code 3. Without a fetched model the automaton is not built (--no-compile skips it)."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "Whisper GGUF path or catalog name whose tokenizer the automaton uses.") var model = "whisper-tiny.en"
    @Flag(help: "Only validate the grammar; do not build the token automaton.") var noCompile = false
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var contextLimits: ContextLimitOptions
    @Argument(help: "Context YAML file.") var file: String

    func run() throws {
        _ = global.bootstrapLogging()
        let limits = try contextLimits.limits
        let context = try Context.load(path: file, limits: limits)
        let sentences = context.sentenceCount()
        var object: [String: Any] = [
            "file": file, "intents": context.intents.count, "expressions": context.expressionCount,
            "slot_types": context.slots.count, "macros": context.macroNames.count,
            "sentences": sentences.count, "sentences_saturated": sentences.saturated, "sentences_approximate": sentences.approximate,
        ]
        if !noCompile {
            let t0 = Date()
            let compiled = try CompiledContext(context: context, tokenizer: try whisperTokenizer(model), limits: limits)
            object["automaton_states"] = compiled.automaton.stateCount
            object["automaton_edges"] = compiled.automaton.edgeToken.count
            object["nfa_states"] = compiled.nfaStates
            object["compile_ms"] = rounded(Date().timeIntervalSince(t0) * 1000)
        }
        if json { try printJSON(object); return }
        let bound = sentences.saturated ? "more than " : sentences.approximate ? "up to " : ""
        print("\(file): ok — \(context.intents.count) intents, \(context.expressionCount) expressions, \(bound)\(sentences.count) distinct sentences")
        if let states = object["automaton_states"], let edges = object["automaton_edges"], let ms = object["compile_ms"] {
            print("token automaton: \(states) states, \(edges) edges (compiled in \(ms) ms)")
        }
    }
}

struct ContextSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Print labelled sentences drawn from a context, one JSON object per line: {\"text\",\"intent\",\"slots\"}."
    )
    @Option(help: "How many sentences.") var count = 10
    @Option(help: "Random seed (the same seed gives the same sentences).") var seed: UInt64 = 1
    @Flag(help: "Vary number and letter forms (digits, hyphens, NATO words) instead of spoken words.") var varyForms = false
    @OptionGroup var contextLimits: ContextLimitOptions
    @Argument(help: "Context YAML file.") var file: String

    func run() throws {
        let context = try Context.load(path: file, limits: try contextLimits.limits)
        var rng = SplitMix64(seed: seed)
        for _ in 0..<max(count, 0) {
            let s = context.sample(using: &rng, varyForms: varyForms)
            try printJSON(["text": s.text, "intent": s.intent, "slots": s.slots])
        }
    }
}

struct ContextMatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Match transcripts against a context (baseline: transcribe, then match text).",
        discussion: """
        Reads lines from standard input: plain text, or JSON objects from `bora transcribe --json` \
        (their "text", "file" and "latency_ms" are used). Prints one JSON object per line in the \
        format of `bora intent --json`: {"file","understood","intent","slots","confidence","transcript","latency_ms"}; \
        latency is the transcription's plus matching.
        """
    )
    @OptionGroup var contextLimits: ContextLimitOptions
    @Argument(help: "Context YAML file.") var file: String

    func run() throws {
        let limits = try contextLimits.limits
        let context = try Context.load(path: file, limits: limits)
        let compiled = try CompiledContext(context: context, tokenizer: try whisperTokenizer("whisper-tiny.en"), limits: limits)
        while let line = readLine() {
            var text = line, fileName = "", latency = 0.0
            if line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                text = object["text"] as? String ?? ""
                fileName = object["file"] as? String ?? ""
                latency = object["latency_ms"] as? Double ?? 0
                if let error = object["error"] {
                    try printJSON(["file": fileName, "error": error]); continue
                }
            }
            let t0 = Date()
            let match = compiled.interpret(text: text)
            let ms = Date().timeIntervalSince(t0) * 1000
            try printJSON([
                "file": fileName, "understood": match != nil, "intent": match?.intent ?? "", "slots": match?.slots ?? [:],
                "confidence": match != nil ? 1.0 : 0.0, "transcript": text, "latency_ms": rounded(latency + ms, 2),
            ])
        }
    }
}
