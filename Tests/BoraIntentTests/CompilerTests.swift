import BoraCore
import BoraGGUF
import BoraSpeech
import BoraText
import Foundation
import Testing
@testable import BoraIntent

let contextsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Models/contexts").path

/// Whisper's tokenizer from the fetched whisper-tiny.en GGUF, or nil (test skipped) when absent.
let whisperTokenizer: Tokenizer? = {
    let env = ProcessInfo.processInfo.environment
    let cache = env["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora"
    let dir = (env["BORA_MODELS"] ?? cache + "/models") + "/whisper-tiny.en"
    guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir),
          let gguf = files.sorted().first(where: { $0.hasSuffix(".gguf") }),
          let file = try? GGUFFile(path: dir + "/" + gguf) else {
        print("skipped: \(dir)/*.gguf not fetched (run `tools/models fetch`)")
        return nil
    }
    return try? Tokenizer(gguf: file)
}()

let exampleContexts = ["train_cabin", "mobile_robot", "field_radio", "smart_lights", "drone"]

/// The example contexts compiled once for all tests (nil without the tokenizer).
let compiledExamples: [String: CompiledContext]? = whisperTokenizer.map { tokenizer in
    Dictionary(uniqueKeysWithValues: exampleContexts.map { name in
        (name, try! CompiledContext(context: try! Context.load(path: "\(contextsDirectory)/\(name).yaml"), tokenizer: tokenizer))
    })
}

/// The spellings Whisper may produce for a sentence: leading space, capitalised start with
/// punctuation, commas, every word capitalised.
func spellings(_ text: String) -> [String] {
    let words = text.split(separator: " ").map(String.init)
    let capitalized = CompiledContext.capitalized(text)
    return [
        " " + text,
        " " + capitalized + ".",
        capitalized + "?",
        " " + words.map { CompiledContext.capitalized($0) }.joined(separator: " ") + "!",
        " " + capitalized.replacingOccurrences(of: " ", with: ", ") + ".",
    ]
}

struct CompilerTests {
    func compile(_ yaml: String) throws -> CompiledContext? {
        guard let tokenizer = whisperTokenizer else { return nil }
        return try CompiledContext(context: try Context.parse(yaml: yaml, name: "t"), tokenizer: tokenizer)
    }

    @Test(arguments: exampleContexts) func everySampledSentenceIsAcceptedAndInterpreted(_ name: String) throws {
        guard let tokenizer = whisperTokenizer else { return }
        guard let compiled = compiledExamples?[name] else { return }
        let context = compiled.context
        var rng = SplitMix64(seed: 7)
        for i in 0..<150 {
            let sample = context.sample(using: &rng, varyForms: i % 2 == 1)
            let label = IntentMatch(intent: sample.intent, slots: sample.slots)
            #expect(compiled.interpret(text: sample.text) == label, "\(sample.text)")
            for text in spellings(sample.text) {
                let tokens = tokenizer.encode(text, addSpecial: false)
                #expect(compiled.automaton.accepts(tokens), "\(name): '\(text)' \(tokens) not accepted")
                #expect(compiled.interpret(tokens: tokens) == label, "\(name): '\(text)'")
            }
        }
    }

    @Test(arguments: exampleContexts) func automatonIsDeterministicAndMinimal(_ name: String) throws {
        guard let tokenizer = whisperTokenizer else { return }
        guard let compiled = compiledExamples?[name] else { return }
        let a = compiled.automaton
        var signatures = Set<[Int32]>()
        for s in 0..<a.stateCount {
            let range = Int(a.edgeStart[s])..<Int(a.edgeStart[s + 1])
            #expect(zip(a.edgeToken[range].dropFirst(), a.edgeToken[range]).allSatisfy { $0 > $1 }, "state \(s) not deterministic")
            #expect(a.edgeToken[range].allSatisfy { $0 < tokenizer.vocabularySize && !tokenizer.isControl($0) })
            #expect(!range.isEmpty || a.accepting[s], "state \(s) is a dead end")
            let signature: [Int32] = [a.accepting[s] ? 1 : 0] + range.flatMap { e -> [Int32] in [a.edgeToken[e], a.edgeTarget[e]] }
            #expect(signatures.insert(signature).inserted, "state \(s) duplicates another")
        }
        #expect(compiled.subsetStates > a.stateCount)  // minimization merged suffixes
    }

    @Test func rejectsOutOfGrammarTokens() throws {
        guard let tokenizer = whisperTokenizer else { return }
        guard let compiled = compiledExamples?["train_cabin"] else { return }
        for text in [" Turn on the lights in car", " Turn on the lights in car 3 please.", " What time is it?", "", " Lights.",
                     " Turn on the lights in car 12.", " Open the doors on the top side.", " turn on the the lights in car 3",
                     " Turn on the lights in car 3..", " Set the temperature to 100 degrees."] {
            let tokens = tokenizer.encode(text, addSpecial: false)
            #expect(!compiled.automaton.accepts(tokens), "'\(text)' accepted")
            #expect(compiled.interpret(tokens: tokens) == nil)
            if !text.hasSuffix("..") { #expect(compiled.interpret(text: text) == nil, "'\(text)' matched as text") }
        }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<200 {
            let tokens = (0..<Int.random(in: 1...8, using: &rng)).map { _ in Int32.random(in: 0..<50_000, using: &rng) }
            #expect(!compiled.automaton.accepts(tokens))
        }
    }

    @Test func builtinSlotsAreNormalized() throws {
        let yaml = """
        context:
          expressions:
            setVolume:
              - "set (the) volume to $pv.Percent:level"
            channel:
              - "channel $pv.TwoDigitInteger:channel"
            squad:
              - "squad $pv.Alphabetic:squad $pv.SingleDigitInteger:member"
            platform:
              - "go to platform two"
        """
        guard let compiled = try compile(yaml), let tokenizer = whisperTokenizer else { return }
        let cases: [(String, IntentMatch)] = [
            (" Set the volume to fifty percent.", IntentMatch(intent: "setVolume", slots: ["level": "50%"])),
            (" Set the volume to 50%.", IntentMatch(intent: "setVolume", slots: ["level": "50%"])),
            (" set volume to 7 per cent", IntentMatch(intent: "setVolume", slots: ["level": "7%"])),
            (" Set the volume to one hundred percent!", IntentMatch(intent: "setVolume", slots: ["level": "100%"])),
            (" Channel twenty one.", IntentMatch(intent: "channel", slots: ["channel": "21"])),
            (" Channel 21.", IntentMatch(intent: "channel", slots: ["channel": "21"])),
            (" Channel twenty-one.", IntentMatch(intent: "channel", slots: ["channel": "21"])),
            ("Channel zero", IntentMatch(intent: "channel", slots: ["channel": "0"])),
            (" Squad Bravo 3.", IntentMatch(intent: "squad", slots: ["squad": "B", "member": "3"])),
            (" Squad B, three.", IntentMatch(intent: "squad", slots: ["squad": "B", "member": "3"])),
            (" Squad x-ray nine", IntentMatch(intent: "squad", slots: ["squad": "X", "member": "9"])),
            (" Go to platform 2.", IntentMatch(intent: "platform", slots: [:])),
            (" Go to platform two.", IntentMatch(intent: "platform", slots: [:])),
        ]
        for (text, expected) in cases {
            let tokens = tokenizer.encode(text, addSpecial: false)
            #expect(compiled.automaton.accepts(tokens), "'\(text)'")
            #expect(compiled.interpret(tokens: tokens) == expected, "'\(text)'")
            #expect(compiled.interpret(text: text) == expected, "'\(text)'")
        }
        #expect(compiled.interpret(text: " Channel 100.") == nil)
        #expect(compiled.interpret(text: " Go to platform three.") == nil)
    }

    @Test func userSlotValuesAreReportedAsWritten() throws {
        let yaml = """
        context:
          expressions:
            order:
              - "(a) $size:size $drink:drink (please)"
          slots:
            size: ["small", "large"]
            drink: ["double shot", "Americano", "flat white"]
        """
        guard let compiled = try compile(yaml), let tokenizer = whisperTokenizer else { return }
        let tokens = tokenizer.encode("A large americano, please.", addSpecial: false)
        #expect(compiled.interpret(tokens: tokens) == IntentMatch(intent: "order", slots: ["size": "large", "drink": "Americano"]))
        #expect(compiled.interpret(text: "small DOUBLE SHOT") == IntentMatch(intent: "order", slots: ["size": "small", "drink": "double shot"]))
        #expect(compiled.interpret(text: "a double shot") == nil)
    }
}
