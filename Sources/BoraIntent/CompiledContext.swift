import BoraCore
import BoraSpeech
import BoraText

/// What was understood: the intent and its slot values (the slot phrase as written in the
/// context; built-in values normalized, e.g. "21", "50%", "B").
public struct IntentMatch: Sendable, Equatable {
    public let intent: String
    public let slots: [String: String]
    public init(intent: String, slots: [String: String]) { self.intent = intent; self.slots = slots }
}

/// A context compiled for constrained Whisper decoding: a deterministic, minimal automaton over
/// token ids accepting every sentence of the context in the spellings Whisper produces (leading
/// space or not on the first word, lower/Capitalized/as-written case per word, digits or number
/// words or hyphenated numbers, optional commas between words, optional final ".", "!" or "?").
public struct CompiledContext: Sendable {
    public let automaton: TokenAutomaton
    public let context: Context
    /// Sizes: the token NFA, the subset DFA before minimization, and the automaton.
    public let nfaStates: Int, subsetStates: Int

    let tokenGraph: LabelledGraph
    let textGraph: LabelledGraph
    let textWords: [String: Int32]
    let slotNames: [String]
    let slotValues: [String]

    /// Compiles `context` against Whisper's tokenizer. Throws `.tooLarge` when the grammar needs
    /// more than `limits.states` automaton states before minimization or compiling takes longer
    /// than `limits.seconds` (the other limits were enforced when the context was parsed).
    public init(context: Context, tokenizer: Tokenizer, limits: ContextLimits = .standard) throws(ContextError) {
        let deadline = monotonicSeconds() + limits.seconds
        let words = WordGraph(context: context, canonical: false)
        var encoded: [String: [Int32]] = [:]
        func encode(_ s: String) -> [Int32] {
            if let e = encoded[s] { return e }
            let e = tokenizer.encode(s, addSpecial: false)
            encoded[s] = e
            return e
        }
        func casings(_ word: String) -> [String] {
            var cased: [String] = []
            for c in [word, word.lowercased(), Self.capitalized(word.lowercased())] where !cased.contains(c) { cased.append(c) }
            return cased
        }
        // Encode every surface up front in a few long calls (one call per string is slow).
        var surfaces: [String] = [",", ".", "!", "?"]
        for word in words.words {
            for c in casings(word) {
                surfaces += [c, " " + c]
                if !(c.last.map { $0.isLetter || $0.isNumber } ?? false) {
                    for p in [",", ".", "!", "?"] { surfaces += [c + p, " " + c + p] }
                }
            }
        }
        Self.encodeInBatches(surfaces, tokenizer: tokenizer, into: &encoded)
        tokenGraph = words.expanded { word, initial, hasNext, isFinal in
            let cased = casings(word)
            var out: [(symbols: [Int32], endsSentence: Bool)] = []
            for text in cased.map({ " " + $0 }) + (initial ? cased : []) {
                let tokens = encode(text)
                out.append((tokens, false))
                // After a letter or digit, punctuation starts its own pre-token, so its tokens
                // follow the word's; after other punctuation ("50%") it may merge: encode whole.
                let separable = text.last.map { $0.isLetter || $0.isNumber } ?? false
                func suffixed(_ p: String) -> [Int32] { separable ? tokens + encode(p) : encode(text + p) }
                if hasNext { out.append((suffixed(","), false)) }
                if isFinal { for p in [".", "!", "?"] { out.append((suffixed(p), true)) } }
            }
            return out
        }
        var textWords: [String: Int32] = [:]
        var textTable: [String] = []
        textGraph = words.expanded { word, _, _, _ in
            [(Self.normalizedWords(word).map { WordGraph.intern($0, &textTable, &textWords) }, false)]
        }
        self.textWords = textWords
        guard let parts = tokenGraph.determinized(maxStates: limits.states, deadline: deadline) else {
            let timedOut = monotonicSeconds() > deadline
            throw ContextError(.tooLarge, file: context.name, line: 1, column: 1, timedOut
                ? "compiling the context took longer than \(limits.seconds) s (limit seconds=\(limits.seconds)); split large slots or reduce optional parts, \(ContextLimits.raise("seconds"))"
                : "the context needs more than \(limits.states) automaton states (limit states=\(limits.states)); split large slots or reduce optional parts, \(ContextLimits.raise("states"))")
        }
        automaton = TokenAutomaton(edgeStart: parts.edgeStart, edgeToken: parts.edgeToken, edgeTarget: parts.edgeTarget, accepting: parts.accepting)
        nfaStates = tokenGraph.stateCount
        subsetStates = parts.subsetStates
        slotNames = words.names
        slotValues = words.values
        self.context = context
    }

    /// Interprets a token path (text tokens, no specials) → intent and slot values, or nil when the
    /// tokens are not a sentence of the context. Earlier intents and alternatives win ties.
    public func interpret(tokens: [Int32]) -> IntentMatch? {
        tokenGraph.firstPath(tokens).map(match)
    }

    /// The same from text: case-, punctuation- and hyphen-insensitive; digits and number words are
    /// both accepted. This is the "transcribe, then match the text" baseline.
    public func interpret(text: String) -> IntentMatch? {
        var symbols: [Int32] = []
        for w in Self.normalizedWords(text) {
            guard let id = textWords[w] else { return nil }
            symbols.append(id)
        }
        return textGraph.firstPath(symbols).map(match)
    }

    private func match(_ markers: [LabelledGraph.Label]) -> IntentMatch {
        var intent = ""
        var slots: [String: String] = [:]
        for marker in markers {
            switch marker {
            case .intent(let i): intent = context.intents[Int(i)].name
            case .capture(let name, let value): slots[slotNames[Int(name)]] = slotValues[Int(value)]
            default: break
            }
        }
        return IntentMatch(intent: intent, slots: slots)
    }

    /// Encodes strings joined by newlines, which the byte-level BPE pre-tokenizer always splits
    /// into its own pre-token (token "\n"); strings containing a newline are encoded alone, and
    /// a batch whose split does not line up falls back to one call per string.
    static func encodeInBatches(_ strings: [String], tokenizer: Tokenizer, into cache: inout [String: [Int32]]) {
        let newline = tokenizer.encode("\n", addSpecial: false)
        var pending = strings.filter { !$0.contains("\n") && !$0.isEmpty }
        for s in strings where s.contains("\n") { cache[s] = tokenizer.encode(s, addSpecial: false) }
        pending = Array(Set(pending)).sorted()
        guard newline.count == 1 else {
            for s in pending { cache[s] = tokenizer.encode(s, addSpecial: false) }
            return
        }
        var start = 0
        while start < pending.count {
            let batch = pending[start..<min(start + 256, pending.count)]
            let tokens = tokenizer.encode(batch.joined(separator: "\n"), addSpecial: false)
            let parts = tokens.split(separator: newline[0], omittingEmptySubsequences: false)
            if parts.count == batch.count && !parts.contains(where: { $0.isEmpty }) {
                for (s, part) in zip(batch, parts) { cache[s] = Array(part) }
            } else {
                for s in batch { cache[s] = tokenizer.encode(s, addSpecial: false) }
            }
            start += batch.count
        }
    }

    static func capitalized(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst()
    }

    /// Lowercase words; letters, digits, apostrophes and '%' kept, everything else separates words.
    static func normalizedWords(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for c in text.lowercased() {
            if c.isLetter || c.isNumber || c == "'" || c == "%" { current.append(c) }
            else if c == "\u{2019}" { current.append("'") }
            else if !current.isEmpty { words.append(current); current = "" }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

/// A sentence drawn from a context with its labels (for tests and evaluation corpora).
public struct ContextSample: Sendable, Equatable {
    public let intent: String
    public let text: String
    public let slots: [String: String]
}

extension Context {
    /// Draws an intent uniformly, then an expression, alternatives and slot values uniformly and
    /// each optional part with probability ½. Numbers and built-ins are spoken words unless
    /// `varyForms`, which picks any accepted form (digits, hyphenated, NATO letters, "per cent").
    public func sample<G: RandomNumberGenerator>(using rng: inout G, varyForms: Bool = false) -> ContextSample {
        let intent = intents.randomElement(using: &rng)!
        let expression = intent.expressions.randomElement(using: &rng)!
        var words: [String] = []
        var slots: [String: String] = [:]
        func emit(_ sequence: [ExpressionElement]) { for e in sequence { emit(e) } }
        func emit(_ element: ExpressionElement) {
            switch element {
            case .word(let w): words.append(w)
            case .number(let written, let value):
                words += varyForms ? ([written] + Numbers.spokenForms(value)).randomElement(using: &rng)! : written
            case .choice(let alternatives): emit(alternatives.randomElement(using: &rng)!)
            case .optional(let alternatives): if Bool.random(using: &rng) { emit(alternatives.randomElement(using: &rng)!) }
            case .slot(let type, let name):
                let value = slotAlternatives(type).randomElement(using: &rng)!
                slots[name] = value.value
                emit(varyForms ? value.forms.randomElement(using: &rng)! : value.canonical)
            }
        }
        emit(expression.elements)
        return ContextSample(intent: intent.name, text: words.joined(separator: " "), slots: slots)
    }
}
