import BoraCore
import BoraText
import CBoraAllocCount
import Testing
@testable import BoraSpeech

/// A trie automaton accepting exactly `sequences` (test helper; BoraIntent compiles real grammars).
func trieAutomaton(_ sequences: [[Int32]]) -> TokenAutomaton {
    var children: [[Int32: Int32]] = [[:]]
    var accepting = [false]
    for seq in sequences {
        var s = 0
        for t in seq {
            if let n = children[s][t] { s = Int(n) } else {
                children.append([:]); accepting.append(false)
                children[s][t] = Int32(children.count - 1)
                s = children.count - 1
            }
        }
        accepting[s] = true
    }
    var start: [Int32] = [0], tokens: [Int32] = [], targets: [Int32] = []
    for c in children {
        for (t, n) in c.sorted(by: { $0.key < $1.key }) { tokens.append(t); targets.append(n) }
        start.append(Int32(tokens.count))
    }
    return TokenAutomaton(edgeStart: start, edgeToken: tokens, edgeTarget: targets, accepting: accepting)
}

@Suite struct ConstrainedDecodingTests {
    static let command = boraCache + "/speech/commands/cmd04_turn_on_the_lights.wav"
    static let jfk = boraCache + "/speech/jfk.wav"
    static let phrases = ["Turn on the lights", "Turn off the lights", "Open the doors", "Close the doors", "Stop the train"]

    func grammar(_ session: WhisperSession) throws -> TokenAutomaton {
        let tokenizer = try session.model.makeTokenizer()
        var sequences: [[Int32]] = []
        for p in Self.phrases {
            for variant in [" " + p, " " + p + ".", " " + p.lowercased(), " " + p.lowercased() + "."] {
                sequences.append(tokenizer.encode(variant, addSpecial: false))
            }
        }
        return trieAutomaton(sequences)
    }

    @Test func inGrammarCommandIsFoundWithHighConfidence() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let audio = readCorpusWAV(Self.command) else { return }
        let session = try makeSession(path)
        let automaton = try grammar(session)
        let r = try audio.withUnsafeBufferPointer { try session.recognize($0, automaton: automaton) }
        #expect(r.scores.found)
        #expect(automaton.accepts(r.tokens))
        let text = session.model.tokenizer.decode(r.tokens).lowercased()
        #expect(text.contains("turn on the lights"), "\(text)")
        #expect(r.scores.confidence > 0.8, "\(r.scores)")
        #expect(r.transcript.lowercased().contains("lights"))
    }

    @Test func outOfGrammarSpeechGetsLowConfidence() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let audio = readCorpusWAV(Self.jfk) else { return }
        let session = try makeSession(path)
        let r = try audio.withUnsafeBufferPointer { try session.recognize($0, automaton: try grammar(session)) }
        // The grammar path (if any) is far less likely than what was said.
        #expect(r.scores.confidence < 0.2, "\(r.scores)")
        #expect(r.transcript.contains("Americans"))
    }

    @Test func recognizingDoesNotAllocate() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let audio = readCorpusWAV(Self.command) else { return }
        let session = try makeSession(path)
        let automaton = try grammar(session)
        var timings = Transcript()
        audio.withUnsafeBufferPointer { buf in
            _ = session.recognizeWindow(buf, automaton: automaton, beam: 3, options: TranscribeOptions(), timings: &timings)
            let setCounting: ParallelBody = { ctx, _, _ in bora_alloc_count_enable_thread(ctx == nil ? 0 : 1) }
            bora_alloc_count_reset()
            session.matmul.pool.run(setCounting, context: UnsafeMutableRawPointer(bitPattern: 1))
            for _ in 0..<2 { _ = session.recognizeWindow(buf, automaton: automaton, beam: 3, options: TranscribeOptions(), timings: &timings) }
            session.matmul.pool.run(setCounting, context: nil)
        }
        #expect(bora_alloc_count_allocations() == 0)
    }

    @Test func automatonBasics() {
        let a = trieAutomaton([[1, 2, 3], [1, 4]])
        #expect(a.accepts([1, 2, 3]) && a.accepts([1, 4]))
        #expect(!a.accepts([1, 2]) && !a.accepts([2]) && !a.accepts([]))
        #expect(a.next(0, 1) != nil && a.next(0, 2) == nil)
    }
}
