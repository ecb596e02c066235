import BoraCore

/// Builds the word-level graph of a context: words as written, numbers with their digit and
/// hyphenated forms, slot captures as markers, one branch per intent from state 0.
struct WordGraph {
    var graph = LabelledGraph()
    var words: [String] = []
    var wordIndex: [String: Int32] = [:]
    var names: [String] = []
    var nameIndex: [String: Int32] = [:]
    var values: [String] = []
    var valueIndex: [String: Int32] = [:]
    /// Canonical graphs use one spoken form per number and built-in value (for counting sentences).
    let canonical: Bool
    let context: Context

    init(context: Context, canonical: Bool) {
        self.context = context
        self.canonical = canonical
        for (i, intent) in context.intents.enumerated() {
            let s = graph.addState()
            graph.add(0, .intent(Int32(i)), s)
            for expression in intent.expressions {
                let end = build(expression.elements, from: s)
                graph.accepting[Int(end)] = true
            }
        }
    }

    mutating func word(_ w: String) -> Int32 {
        let key = canonical ? w.lowercased() : w
        if let i = wordIndex[key] { return i }
        words.append(key); wordIndex[key] = Int32(words.count - 1)
        return Int32(words.count - 1)
    }

    static func intern(_ s: String, _ table: inout [String], _ index: inout [String: Int32]) -> Int32 {
        if let i = index[s] { return i }
        table.append(s); index[s] = Int32(table.count - 1)
        return Int32(table.count - 1)
    }

    mutating func build(_ sequence: [ExpressionElement], from: Int32) -> Int32 {
        var s = from
        for element in sequence { s = build(element, from: s) }
        return s
    }

    mutating func build(_ element: ExpressionElement, from: Int32) -> Int32 {
        switch element {
        case .word(let w):
            let t = graph.addState()
            graph.add(from, .symbol(word(w)), t)
            return t
        case .number(let written, let value):
            var forms = [written]
            if !canonical {
                for f in Numbers.spokenForms(value) where !forms.contains(where: { $0.map { $0.lowercased() } == f }) { forms.append(f) }
            }
            return alternatives(forms.map { $0.map { .word($0) } }, from: from, optional: false)
        case .choice(let alternatives): return self.alternatives(alternatives, from: from, optional: false)
        case .optional(let alternatives): return self.alternatives(alternatives, from: from, optional: true)
        case .slot(let type, let name):
            let t = graph.addState()
            let nameID = Self.intern(name, &names, &nameIndex)
            for alternative in context.slotAlternatives(type) {
                let s = graph.addState()
                graph.add(from, .capture(name: nameID, value: Self.intern(alternative.value, &values, &valueIndex)), s)
                for form in canonical ? [alternative.canonical] : alternative.forms {
                    graph.add(build(form, from: s), .epsilon, t)
                }
            }
            return t
        }
    }

    mutating func alternatives(_ alternatives: [[ExpressionElement]], from: Int32, optional: Bool) -> Int32 {
        let t = graph.addState()
        for alternative in alternatives {
            let s = graph.addState()
            graph.add(from, .epsilon, s)
            graph.add(build(alternative, from: s), .epsilon, t)
        }
        if optional { graph.add(from, .epsilon, t) }
        return t
    }

    /// A new graph with every word edge replaced by `expand(word, isInitial, hasNext, isFinal)`:
    /// (symbols, endsSentence) chains; chains that end the sentence go to one extra accepting state.
    func expanded(_ expand: (String, Bool, Bool, Bool) -> [(symbols: [Int32], endsSentence: Bool)]) -> LabelledGraph {
        var out = LabelledGraph()
        out.edges = graph.edges.map { _ in [] }
        out.accepting = graph.accepting
        let sentenceEnd = out.addState()
        out.accepting[Int(sentenceEnd)] = true
        let initial = Set(graph.closure(0))
        var closureHasWord = [Bool?](repeating: nil, count: graph.stateCount)
        var closureAccepts = [Bool?](repeating: nil, count: graph.stateCount)
        for u in 0..<graph.stateCount {
            for edge in graph.edges[u] {
                guard case .symbol(let w) = edge.label else { out.add(Int32(u), edge.label, edge.target); continue }
                let v = Int(edge.target)
                if closureHasWord[v] == nil {
                    let c = graph.closure(edge.target)
                    closureHasWord[v] = c.contains { s in graph.edges[Int(s)].contains { graph.isSymbol($0.label) } }
                    closureAccepts[v] = c.contains { graph.accepting[Int($0)] }
                }
                for chain in expand(words[Int(w)], initial.contains(Int32(u)), closureHasWord[v]!, closureAccepts[v]!) {
                    out.addChain(Int32(u), chain.symbols, chain.endsSentence ? sentenceEnd : edge.target)
                }
            }
        }
        return out
    }
}

/// Sentence counts of a context (distinct word sequences, numbers and built-ins in one spoken form).
public struct SentenceCount: Sendable, Equatable {
    /// Distinct sentences, or a lower bound when `saturated` (more than 2^64 − 1).
    public let count: UInt64
    public let saturated: Bool
    /// True when the grammar was too large to merge exactly and `count` counts expansions instead.
    public let approximate: Bool
}

extension Context {
    /// Counts distinct sentences without enumerating them (paths through the minimal word DFA);
    /// when that DFA needs more than `maxStates` states or `seconds`, counts expansions instead
    /// (`approximate`).
    public func sentenceCount(maxStates: Int = 2_000_000, seconds: Double = 10) -> SentenceCount {
        let words = WordGraph(context: self, canonical: true)
        if let dfa = words.graph.determinized(maxStates: maxStates, deadline: monotonicSeconds() + seconds) {
            let (count, saturated) = dfa.pathCount()
            return SentenceCount(count: count, saturated: saturated, approximate: false)
        }
        var saturated = false
        func mul(_ a: UInt64, _ b: UInt64) -> UInt64 { let (r, o) = a.multipliedReportingOverflow(by: b); if o { saturated = true; return .max }; return r }
        func add(_ a: UInt64, _ b: UInt64) -> UInt64 { let (r, o) = a.addingReportingOverflow(b); if o { saturated = true; return .max }; return r }
        func count(_ sequence: [ExpressionElement]) -> UInt64 { sequence.reduce(1) { mul($0, count($1)) } }
        func count(_ element: ExpressionElement) -> UInt64 {
            switch element {
            case .word, .number: 1
            case .choice(let a): a.reduce(0) { add($0, count($1)) }
            case .optional(let a): a.reduce(1) { add($0, count($1)) }
            case .slot(let type, _): UInt64(slotAlternatives(type).count)
            }
        }
        let total = intents.flatMap({ $0.expressions }).reduce(UInt64(0)) { add($0, count($1.elements)) }
        return SentenceCount(count: total, saturated: saturated, approximate: true)
    }
}
