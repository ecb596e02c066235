/// One parsed expression element. Sequences are `[ExpressionElement]`; choices hold alternatives.
public indirect enum ExpressionElement: Sendable, Equatable {
    /// A word as written (may contain apostrophes or hyphens).
    case word(String)
    /// `[a, b]`: exactly one alternative.
    case choice([[ExpressionElement]])
    /// `(a, b)`: zero or one alternative.
    case optional([[ExpressionElement]])
    /// `$type:name`: one value of the slot type, captured under `name`.
    case slot(type: String, name: String)
    /// A run of number words or digits in user text (0…99): `written` as in the context, `value` its number.
    case number(written: [String], value: Int)
}

/// Where a parse problem sits inside one expression string (0-based UTF-8-independent character offset).
struct ExpressionProblem: Error {
    let kind: ContextError.Kind
    let offset: Int
    let message: String
    /// Set when the problem sits in another string (a macro's alternative): the error as reported there.
    var located: ContextError? = nil
}

/// How big a parsed piece of grammar is once every macro and slot is written out: its words
/// (saturating) and how deeply brackets, slots and macros nest in it.
struct ExpressionShape: Equatable {
    var words = 0
    var depth = 0

    /// A sequence of this and `other`.
    mutating func append(_ other: ExpressionShape) {
        let (sum, overflow) = words.addingReportingOverflow(other.words)
        words = overflow ? .max : sum
        depth = max(depth, other.depth)
    }
}

/// A macro's alternatives with their combined shape (computed once per macro, however often used).
struct MacroExpansion {
    let alternatives: [[ExpressionElement]]
    let shape: ExpressionShape
}

/// Parses Rhino-style expression syntax: words, `[a, b]`, `(a, b)`, `$type:name`, `@macro`.
/// Macros are returned as `.choice` of the macro's alternatives via `resolveMacro`.
/// Recursion follows bracket nesting, which `limits.nesting` bounds before it is entered; the
/// shape of everything parsed is checked against `limits` as it grows, so a grammar that would
/// expand to millions of words is refused while it is still small.
struct ExpressionParser {
    private enum Lexeme: Equatable {
        case open(Character), close(Character), comma, word(String), slot(String, String), macro(String)
    }

    private var lexemes: [(Lexeme, Int)] = []
    private var index = 0
    private var openGroups = 0
    private let limits: ContextLimits
    private let slotWords: (String) -> Int
    private let resolveMacro: (String, Int) throws(ExpressionProblem) -> MacroExpansion
    /// The shape of the expression `parseExpression` returned last.
    private(set) var shape = ExpressionShape()

    /// `slotWords(type)`: the words of all the values of an existing slot type, written out.
    init(_ text: String, limits: ContextLimits, slotTypeExists: (String) -> Bool, slotWords: @escaping (String) -> Int,
         resolveMacro: @escaping (String, Int) throws(ExpressionProblem) -> MacroExpansion) throws(ExpressionProblem) {
        self.resolveMacro = resolveMacro
        self.limits = limits
        self.slotWords = slotWords
        let chars = Array(text)
        var i = 0
        func isWordChar(_ c: Character) -> Bool { !c.isWhitespace && !"[]()$@,".contains(c) }
        func isNameChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "-" || c == "." }
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace { i += 1; continue }
            let start = i
            switch c {
            case "[", "(": lexemes.append((.open(c), start)); i += 1
            case "]", ")": lexemes.append((.close(c), start)); i += 1
            case ",": lexemes.append((.comma, start)); i += 1
            case "$":
                i += 1
                var type = ""
                while i < chars.count, isNameChar(chars[i]) { type.append(chars[i]); i += 1 }
                guard i < chars.count, chars[i] == ":", !type.isEmpty else {
                    throw ExpressionProblem(kind: .syntax, offset: start, message: "a slot must be written $slotType:slotName, e.g. $pv.TwoDigitInteger:number")
                }
                i += 1
                var name = ""
                while i < chars.count, isNameChar(chars[i]), chars[i] != "." { name.append(chars[i]); i += 1 }
                guard !name.isEmpty else {
                    throw ExpressionProblem(kind: .syntax, offset: start, message: "slot '$\(type):' has no name; write $\(type):name")
                }
                guard slotTypeExists(type) else {
                    throw ExpressionProblem(kind: .unknownSlotType(type), offset: start,
                                            message: "unknown slot type '\(type)'; define it under context.slots or use a built-in (\(BuiltinSlot.names.joined(separator: ", ")))")
                }
                lexemes.append((.slot(type, name), start))
            case "@":
                i += 1
                var name = ""
                while i < chars.count, isNameChar(chars[i]) { name.append(chars[i]); i += 1 }
                guard !name.isEmpty else { throw ExpressionProblem(kind: .syntax, offset: start, message: "'@' must be followed by a macro name, e.g. @polite") }
                lexemes.append((.macro(name), start))
            default:
                var word = ""
                while i < chars.count, isWordChar(chars[i]) { word.append(chars[i]); i += 1 }
                if word.count > limits.wordLength {
                    throw ExpressionProblem(kind: .tooLarge, offset: start,
                                            message: "a word of \(word.count) characters (limit word-length=\(limits.wordLength)); split it into words, \(ContextLimits.raise("word-length"))")
                }
                lexemes.append((.word(word), start))
            }
        }
    }

    /// The whole expression as a sequence; `endOffset` is the string length (for errors at the end).
    mutating func parseExpression(endOffset: Int) throws(ExpressionProblem) -> [ExpressionElement] {
        let (sequence, shape) = try parseSequence(endOffset: endOffset)
        self.shape = shape
        if index < lexemes.count {
            let (lexeme, offset) = lexemes[index]
            if lexeme == .comma {
                throw ExpressionProblem(kind: .syntax, offset: offset, message: "comma outside brackets; list alternatives inside [a, b] or (a, b)")
            }
            throw ExpressionProblem(kind: .unbalancedBrackets, offset: offset, message: "unbalanced brackets: this closing bracket has no opening one")
        }
        if sequence.isEmpty { throw ExpressionProblem(kind: .emptyExpression, offset: 0, message: "empty expression; write at least one word or remove the line") }
        return sequence
    }

    /// Throws when `shape` (of the piece that starts at `offset`) breaks a limit.
    private func check(_ shape: ExpressionShape, at offset: Int) throws(ExpressionProblem) {
        if shape.depth > limits.nesting {
            throw ExpressionProblem(kind: .tooLarge, offset: offset,
                                    message: "brackets, slots and macros nest more than \(limits.nesting) deep here (limit nesting=\(limits.nesting)); flatten the expression, \(ContextLimits.raise("nesting"))")
        }
        if shape.words > limits.words {
            let words = shape.words == .max ? "more than \(limits.words)" : "\(shape.words)"
            throw ExpressionProblem(kind: .tooLarge, offset: offset,
                                    message: "this grows to \(words) words once macros and slot values are written out (limit words=\(limits.words)); use fewer macro repetitions or a smaller slot, \(ContextLimits.raise("words"))")
        }
    }

    private mutating func parseSequence(endOffset: Int) throws(ExpressionProblem) -> ([ExpressionElement], ExpressionShape) {
        var sequence: [ExpressionElement] = []
        var shape = ExpressionShape()
        while index < lexemes.count {
            let (lexeme, offset) = lexemes[index]
            let element: ExpressionElement
            var part = ExpressionShape()
            switch lexeme {
            case .word(let w):
                element = .word(w); part.words = 1; index += 1
            case .slot(let type, let name):
                element = .slot(type: type, name: name); part = ExpressionShape(words: slotWords(type), depth: 1); index += 1
            case .macro(let name):
                let macro = try resolveMacro(name, offset)
                element = .choice(macro.alternatives); part = macro.shape; part.depth += 1; index += 1
            case .open(let bracket):
                index += 1
                openGroups += 1
                if openGroups > limits.nesting { try check(ExpressionShape(words: 0, depth: openGroups), at: offset) }
                let (alternatives, inner) = try parseGroup(opened: bracket, at: offset, endOffset: endOffset)
                openGroups -= 1
                element = bracket == "[" ? .choice(alternatives) : .optional(alternatives)
                part = inner; part.depth += 1
            case .close, .comma: return (sequence, shape)
            }
            sequence.append(element)
            shape.append(part)
            try check(part, at: offset)
            try check(shape, at: offset)
        }
        return (sequence, shape)
    }

    private mutating func parseGroup(opened: Character, at openOffset: Int, endOffset: Int) throws(ExpressionProblem) -> ([[ExpressionElement]], ExpressionShape) {
        let closer: Character = opened == "[" ? "]" : ")"
        var alternatives: [[ExpressionElement]] = []
        var shape = ExpressionShape()
        while true {
            let altOffset = index < lexemes.count ? lexemes[index].1 : endOffset
            let (alternative, altShape) = try parseSequence(endOffset: endOffset)
            if alternative.isEmpty {
                if index >= lexemes.count {
                    throw ExpressionProblem(kind: .unbalancedBrackets, offset: openOffset, message: "unbalanced brackets: '\(opened)' is never closed; add '\(closer)'")
                }
                throw ExpressionProblem(kind: .emptyExpression, offset: altOffset, message: "empty alternative inside '\(opened)\(closer)'; remove the extra comma or write a word")
            }
            alternatives.append(alternative)
            shape.append(altShape)
            try check(shape, at: openOffset)
            guard index < lexemes.count else {
                throw ExpressionProblem(kind: .unbalancedBrackets, offset: openOffset, message: "unbalanced brackets: '\(opened)' is never closed; add '\(closer)'")
            }
            let (lexeme, offset) = lexemes[index]
            index += 1
            switch lexeme {
            case .comma: continue
            case .close(let c) where c == closer: return (alternatives, shape)
            case .close(let c):
                throw ExpressionProblem(kind: .unbalancedBrackets, offset: offset, message: "unbalanced brackets: '\(opened)' is closed by '\(c)'; use '\(closer)'")
            default: continue
            }
        }
    }
}

extension ExpressionElement {
    /// True when the element can match no words at all.
    var isNullable: Bool {
        switch self {
        case .word, .slot, .number: false
        case .optional: true
        case .choice(let alternatives): alternatives.contains { $0.allSatisfy({ $0.isNullable }) }
        }
    }
}
