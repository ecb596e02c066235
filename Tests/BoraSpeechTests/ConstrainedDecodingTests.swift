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

    /// The total-score search (push-to-talk setting) finds the same command, ends on an accepting
    /// path, and allocates nothing either.
    @Test func lengthBonusSearchFindsTheCommandWithoutAllocating() throws {
        guard let path = whisperModelPath("whisper-tiny.en"), let audio = readCorpusWAV(Self.command) else { return }
        let session = try makeSession(path)
        let automaton = try grammar(session)
        var options = TranscribeOptions()
        options.grammarLengthBonus = 0.8
        let r = try audio.withUnsafeBufferPointer { try session.recognize($0, automaton: automaton, beam: 5, options: options) }
        #expect(r.scores.found && automaton.accepts(r.tokens))
        #expect(session.model.tokenizer.decode(r.tokens).lowercased().contains("turn on the lights"))
        #expect(r.scores.endLogProb < 0 && r.scores.endLogProb > -5, "\(r.scores)")
        var timings = Transcript()
        audio.withUnsafeBufferPointer { buf in
            let setCounting: ParallelBody = { ctx, _, _ in bora_alloc_count_enable_thread(ctx == nil ? 0 : 1) }
            bora_alloc_count_reset()
            session.matmul.pool.run(setCounting, context: UnsafeMutableRawPointer(bitPattern: 1))
            _ = session.recognizeWindow(buf, automaton: automaton, beam: 5, options: options, timings: &timings)
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

    /// The search's stopping bound: longestRemaining is the longest path to acceptance, by brute force.
    @Test func longestRemainingMatchesBruteForce() {
        let sequences: [[Int32]] = [[1, 2, 3, 4], [1, 2], [5], [1, 6, 7], [8, 9, 10, 11, 12]]
        let a = trieAutomaton(sequences)
        func brute(_ s: Int32) -> Int32 {
            var best: Int32 = a.accepting[Int(s)] ? 0 : -1
            for e in Int(a.edgeStart[Int(s)])..<Int(a.edgeStart[Int(s) + 1]) {
                let r = brute(a.edgeTarget[e])
                if r >= 0 { best = max(best, r + 1) }
            }
            return best
        }
        for s in 0..<a.stateCount { #expect(a.longestRemaining[s] == brute(Int32(s)), "state \(s)") }
        #expect(a.longestRemaining[0] == 5)
        // A cycle (state 1 -> 2 -> 1) makes the states on it and before it unbounded; a dead end is -1.
        let cyclic = TokenAutomaton(edgeStart: [0, 1, 3, 4, 4, 4], edgeToken: [1, 2, 3, 4], edgeTarget: [1, 2, 4, 1],
                                    accepting: [false, false, false, false, true])
        #expect(cyclic.longestRemaining[0] == .max && cyclic.longestRemaining[1] == .max && cyclic.longestRemaining[2] == .max)
        #expect(cyclic.longestRemaining[3] == -1 && cyclic.longestRemaining[4] == 0)
    }
}
