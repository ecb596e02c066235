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

/// Parses Rhino-style expression syntax: words, `[a, b]`, `(a, b)`, `$type:name`, `@macro`.
/// Macros are returned as `.choice` of the macro's alternatives via `resolveMacro`.
struct ExpressionParser {
    private enum Lexeme: Equatable {
        case open(Character), close(Character), comma, word(String), slot(String, String), macro(String)
    }

    private var lexemes: [(Lexeme, Int)] = []
    private var index = 0
    private let resolveMacro: (String, Int) throws(ExpressionProblem) -> [[ExpressionElement]]

    init(_ text: String, slotTypeExists: (String) -> Bool,
         resolveMacro: @escaping (String, Int) throws(ExpressionProblem) -> [[ExpressionElement]]) throws(ExpressionProblem) {
        self.resolveMacro = resolveMacro
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
                lexemes.append((.word(word), start))
            }
        }
    }

    /// The whole expression as a sequence; `endOffset` is the string length (for errors at the end).
    mutating func parseExpression(endOffset: Int) throws(ExpressionProblem) -> [ExpressionElement] {
        let sequence = try parseSequence(endOffset: endOffset)
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

    private mutating func parseSequence(endOffset: Int) throws(ExpressionProblem) -> [ExpressionElement] {
        var sequence: [ExpressionElement] = []
        while index < lexemes.count {
            let (lexeme, offset) = lexemes[index]
            switch lexeme {
            case .word(let w): sequence.append(.word(w)); index += 1
            case .slot(let type, let name): sequence.append(.slot(type: type, name: name)); index += 1
            case .macro(let name): sequence.append(.choice(try resolveMacro(name, offset))); index += 1
            case .open(let bracket):
                index += 1
                let alternatives = try parseGroup(opened: bracket, at: offset, endOffset: endOffset)
                sequence.append(bracket == "[" ? .choice(alternatives) : .optional(alternatives))
            case .close, .comma: return sequence
            }
        }
        return sequence
    }

    private mutating func parseGroup(opened: Character, at openOffset: Int, endOffset: Int) throws(ExpressionProblem) -> [[ExpressionElement]] {
        let closer: Character = opened == "[" ? "]" : ")"
        var alternatives: [[ExpressionElement]] = []
        while true {
            let altOffset = index < lexemes.count ? lexemes[index].1 : endOffset
            let alternative = try parseSequence(endOffset: endOffset)
            if alternative.isEmpty {
                if index >= lexemes.count {
                    throw ExpressionProblem(kind: .unbalancedBrackets, offset: openOffset, message: "unbalanced brackets: '\(opened)' is never closed; add '\(closer)'")
                }
                throw ExpressionProblem(kind: .emptyExpression, offset: altOffset, message: "empty alternative inside '\(opened)\(closer)'; remove the extra comma or write a word")
            }
            alternatives.append(alternative)
            guard index < lexemes.count else {
                throw ExpressionProblem(kind: .unbalancedBrackets, offset: openOffset, message: "unbalanced brackets: '\(opened)' is never closed; add '\(closer)'")
            }
            let (lexeme, offset) = lexemes[index]
            index += 1
            switch lexeme {
            case .comma: continue
            case .close(let c) where c == closer: return alternatives
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
        case .choice(let alternatives): alternatives.contains { $0.allSatisfy(\.isNullable) }
        }
    }
}
