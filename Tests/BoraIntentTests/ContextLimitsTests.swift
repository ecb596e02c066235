import Foundation
import Testing
@testable import BoraIntent

/// Issue 29's context-compiler findings: each input below crashed (stack exhausted) or ran for
/// tens of seconds and gigabytes before the limits; each must now be refused with `.tooLarge`
/// naming the limit and its override, or (when legal) handled without deep recursion.
struct ContextLimitsTests {
    /// `m0: [a, b]`, then `mK: ["@mK-1 @mK-1"]`: the expression `go @mN` has 2^N words.
    static func doubling(_ levels: Int, alternatives: Bool = false) -> String {
        var yaml = "context:\n  expressions:\n    go:\n      - \"go @m\(levels)\"\n  macros:\n    m0: [\"a\", \"b\"]\n"
        for k in 1...levels {
            yaml += alternatives ? "    m\(k): [\"x\(k) @m\(k - 1)\", \"y\(k) @m\(k - 1)\"]\n"
                                 : "    m\(k): [\"@m\(k - 1) @m\(k - 1)\"]\n"
        }
        return yaml
    }

    func expectLimit(_ yaml: String, _ limit: String, limits: ContextLimits = .standard, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Context.parse(yaml: yaml, name: "t.yaml", limits: limits)
            Issue.record("accepted; expected the \(limit) limit", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == .tooLarge, sourceLocation: sourceLocation)
            #expect(error.message.contains("limit \(limit)="), "\(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains("--context-limit \(limit)=N"), "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.count < 400, "one short line: \(error)", sourceLocation: sourceLocation)
            #expect(error.line > 0, sourceLocation: sourceLocation)
        }
    }

    @Test func twelveThousandNestedBracketsAreRefusedNotACrash() {
        let yaml = "context:\n  expressions:\n    go:\n      - \"" + String(repeating: "(", count: 12_000) + "go"
            + String(repeating: ")", count: 12_000) + "\"\n"
        expectLimit(yaml, "nesting")
    }

    @Test func nestingAtTheLimitParses() throws {
        let depth = ContextLimits.standard.nesting
        let yaml = "context:\n  expressions:\n    go:\n      - \"go " + String(repeating: "[", count: depth) + "on"
            + String(repeating: "]", count: depth) + "\"\n"
        let context = try Context.parse(yaml: yaml, name: "t.yaml")
        #expect(context.sentenceCount().count == 1)
        var lower = ContextLimits.standard
        lower.nesting = depth - 1
        expectLimit(yaml, "nesting", limits: lower)
    }

    @Test func aLongMacroChainIsRefusedNotACrash() {
        var yaml = "context:\n  expressions:\n    go:\n      - \"go @m5000\"\n  macros:\n    m0: [\"a\"]\n"
        for k in 1...5000 { yaml += "    m\(k): [\"@m\(k - 1)\"]\n" }
        expectLimit(yaml, "nesting")
    }

    @Test func macrosThatDoubleTwentyFourTimesAreRefusedBeforeExpanding() {
        expectLimit(Self.doubling(24), "words")
        expectLimit(Self.doubling(24, alternatives: true), "words")
        var deep = ContextLimits.standard
        deep.nesting = 100
        expectLimit(Self.doubling(70), "words", limits: deep)   // 2^71 words: the count saturates, no overflow trap
    }

    @Test func sixteenDoublingsCountWithoutDeepRecursion() throws {
        // 65,536 words in one sentence (131,072 written out, over the default words limit, so
        // raised): legal, but the word DFA is a chain 65,536 states long, which the recursive
        // minimization could not walk (the issue-29 probe: SIGSEGV in `canon`).
        var limits = ContextLimits.standard
        limits.words = 200_000
        let context = try Context.parse(yaml: Self.doubling(16), name: "t.yaml", limits: limits)
        // A generous time budget: the default 10 s can pass on a busy 2-core machine in a debug
        // build, and then the count is the (also saturated) approximate one this test is not about.
        let count = context.sentenceCount(seconds: 900)
        #expect(count.saturated && !count.approximate)
    }

    @Test func aMillionCharacterWordIsRefused() {
        expectLimit("context:\n  expressions:\n    go:\n      - \"go " + String(repeating: "a", count: 1_000_000) + "\"\n", "word-length")
    }

    @Test func aLongWordUnderARaisedLimitCompilesWithoutDeepRecursion() throws {
        guard let tokenizer = whisperTokenizer else { return }
        var limits = ContextLimits.standard
        limits.wordLength = 300_000
        // ~100,000 tokens in one chain through the token automaton.
        var scalars = String.UnicodeScalarView()
        for i in 0..<200_000 { scalars.append(UnicodeScalar(UInt8(97 + (i * 7 + i / 26) % 26))) }
        let word = String(scalars)
        let context = try Context.parse(yaml: "context:\n  expressions:\n    go:\n      - \"go \(word)\"\n", name: "t.yaml", limits: limits)
        let compiled = try CompiledContext(context: context, tokenizer: tokenizer, limits: limits)
        #expect(compiled.automaton.stateCount > 10_000)
        #expect(compiled.interpret(text: "go \(word)") == IntentMatch(intent: "go", slots: [:]))
    }

    @Test func twoHundredThousandSlotValuesAreRefused() {
        var yaml = "context:\n  expressions:\n    play:\n      - \"play $song:s\"\n  slots:\n    song:\n"
        for i in 0..<200_000 { yaml += "      - \"song w\(i)\"\n" }
        expectLimit(yaml, "words")
        var raised = ContextLimits.standard
        raised.words = 1_000_000
        #expect((try? Context.parse(yaml: yaml, name: "t.yaml", limits: raised)) != nil)
    }

    @Test func theWholeGrammarCountsTowardTheWordsLimit() {
        // One expression with the 101-value percent slot (about 1,600 words in all its spoken
        // forms) is under a 2,000-word limit; five of them are not.
        var limits = ContextLimits.standard
        limits.words = 2_000
        var yaml = "context:\n  expressions:\n"
        #expect((try? Context.parse(yaml: yaml + "    i:\n      - \"set $pv.Percent:p\"\n", name: "t.yaml", limits: limits)) != nil)
        for i in 0..<5 { yaml += "    i\(i):\n      - \"set $pv.Percent:p\"\n" }
        expectLimit(yaml, "words", limits: limits)
    }

    @Test func theFileSizeIsCheckedBeforeReadingAndOnlyRegularFilesAreRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bora-limits-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let big = dir + "/big.yaml"
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        #expect(truncate(big, 64 << 30) == 0)   // sparse 64 GiB: refused from its size alone
        #expect(throws: ContextError.self) { try Context.load(path: big) }
        do { _ = try Context.load(path: big) } catch { #expect(error.kind == .tooLarge && error.message.contains("file-bytes")) }
        let fifo = dir + "/fifo.yaml"
        #expect(mkfifo(fifo, 0o600) == 0)
        do { _ = try Context.load(path: fifo); Issue.record("a FIFO was read") } catch { #expect(error.kind == .unreadable) }
    }

    @Test func limitSettingsParse() throws {
        var limits = ContextLimits.standard
        try limits.apply("words=5")
        try limits.apply("seconds=0.5")
        try limits.apply("nesting=3")
        #expect(limits.words == 5 && limits.seconds == 0.5 && limits.nesting == 3)
        for bad in ["words", "words=0", "words=-1", "wordz=5", "seconds=nan", "=3", "states=1e9"] {
            #expect(throws: ContextLimitSyntaxError.self) { try limits.apply(bad) }
        }
    }

    @Test func compilationStopsAtTheStatesAndTimeLimits() throws {
        guard let tokenizer = whisperTokenizer else { return }
        let context = try Context.load(path: "\(contextsDirectory)/train_cabin.yaml")
        var limits = ContextLimits.standard
        limits.states = 50
        do { _ = try CompiledContext(context: context, tokenizer: tokenizer, limits: limits); Issue.record("compiled") }
        catch { #expect(error.kind == .tooLarge && error.message.contains("limit states=50")) }
        limits = .standard
        limits.seconds = 1e-9
        var yaml = "context:\n  expressions:\n    play:\n      - \"play $song:s\"\n  slots:\n    song:\n"
        for i in 0..<3000 { yaml += "      - \"song w\(i) x\(i % 7)\"\n" }
        let big = try Context.parse(yaml: yaml, name: "t.yaml")
        do { _ = try CompiledContext(context: big, tokenizer: tokenizer, limits: limits); Issue.record("compiled") }
        catch { #expect(error.kind == .tooLarge && error.message.contains("limit seconds=")) }
    }
}
