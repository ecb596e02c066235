import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A speech-to-intent context (Rhino-style YAML): intents with their expressions, slot types with
/// their values, and macros. Built-in slot types are `BuiltinSlot.names` (`pv.*`).
public struct Context: Sendable {
    /// One expression of an intent, parsed, with where it was written.
    public struct Expression: Sendable {
        public let text: String
        public let elements: [ExpressionElement]
        public let line: Int
        public let column: Int
    }

    public struct Intent: Sendable {
        public let name: String
        public let expressions: [Expression]
    }

    /// A user slot value: as written (the captured value) and its words.
    public struct SlotValue: Sendable {
        public let written: String
        public let elements: [ExpressionElement]
    }

    /// The file name or label used in error messages.
    public let name: String
    /// Intents in file order (the first intent wins when two intents share a sentence).
    public let intents: [Intent]
    /// User slot types → values, in file order.
    public let slots: [String: [SlotValue]]
    /// Macro names in the file.
    public let macroNames: [String]

    public var expressionCount: Int { intents.reduce(0) { $0 + $1.expressions.count } }

    /// Reads and parses a context file. Throws `.unreadable` when the file cannot be read or is not
    /// a regular file (a FIFO or device would block or never end), `.tooLarge` when it is larger
    /// than `limits.fileBytes` (checked before reading) or breaks another limit.
    public static func load(path: String, limits: ContextLimits = .standard) throws(ContextError) -> Context {
        let text: String
        do throws(TextFileProblem) { text = try readTextFile(path, maxBytes: limits.fileBytes) } catch {
            switch error {
            case .unreadable(let why):
                throw ContextError(.unreadable, file: path, line: 0, column: 0, "cannot read the context file (\(why)); check the path")
            case .notRegularFile:
                throw ContextError(.unreadable, file: path, line: 0, column: 0, "not a regular file; give the path of a context YAML file")
            case .tooLarge:
                throw ContextError(.tooLarge, file: path, line: 0, column: 0,
                                   "the file has more than \(limits.fileBytes) bytes (limit file-bytes=\(limits.fileBytes)); a context this large is not a grammar for speech, \(ContextLimits.raise("file-bytes"))")
            case .notUTF8:
                throw ContextError(.unreadable, file: path, line: 0, column: 0, "the context file is not UTF-8 text; save it as UTF-8")
            }
        }
        return try parse(yaml: text, name: path, limits: limits)
    }

    /// Parses context YAML (`context: {expressions, slots, macros}`), validating every expression.
    /// `name` labels errors. Errors carry 1-based line and column. Throws `.tooLarge` when the
    /// grammar breaks one of `limits` (nesting, words written out, word length).
    public static func parse(yaml: String, name: String, limits: ContextLimits = .standard) throws(ContextError) -> Context {
        var parser = ContextParser(file: name, yaml: yaml, limits: limits)
        return try parser.parse()
    }

    /// The slot value list for a type (user or built-in) as (captured value, canonical words, all spoken forms).
    func slotAlternatives(_ type: String) -> [(value: String, canonical: [ExpressionElement], forms: [[ExpressionElement]])] {
        if let builtin = BuiltinSlot.named(type) {
            return builtin.values.map { v in
                (v.normalized, v.canonical.map { .word($0) }, v.forms.map { $0.map { .word($0) } })
            }
        }
        return (slots[type] ?? []).map { ($0.written, $0.elements, [$0.elements]) }
    }
}

private struct ScalarItem { let text: String; let line: Int; let column: Int }

private struct ContextParser {
    let file: String
    let yaml: String
    let limits: ContextLimits
    var rawMacros: [String: [ScalarItem]] = [:]
    var resolvedMacros: [String: MacroExpansion] = [:]
    var resolving: [String] = []
    var slotTypes: Set<String> = []
    /// Words of every value of each user slot type.
    var slotWords: [String: Int] = [:]

    init(file: String, yaml: String, limits: ContextLimits) { self.file = file; self.yaml = yaml; self.limits = limits }

    /// Words of every spoken form of every value of a slot type (user or built-in).
    static func words(ofSlot type: String, user: [String: Int]) -> Int {
        if let n = user[type] { return n }
        return BuiltinSlot.named(type).map { $0.values.reduce(0) { $0 + $1.forms.reduce(0) { $0 + $1.count } } } ?? 0
    }

    func error(_ kind: ContextError.Kind, _ node: YAMLNode?, _ message: String) -> ContextError {
        ContextError(kind, file: file, line: node?.line ?? 1, column: node?.column ?? 1, message)
    }

    mutating func parse() throws(ContextError) -> Context {
        let root: YAMLNode?
        do throws(YAMLError) {
            root = try YAML.parse(yaml)
        } catch {
            throw yamlError(error)
        }
        guard let root, root.mapping != nil else {
            throw error(.structure, root, "a context file is a mapping with one key 'context'; see Models/contexts for examples")
        }
        guard let contextNode = root["context"], let context = contextNode.mapping else {
            throw error(.structure, root, "missing 'context:' mapping at the top; start the file with 'context:'")
        }
        for pair in context where !["expressions", "slots", "macros"].contains(pair.key.string ?? "") {
            throw error(.structure, pair.key, "unknown section '\(pair.key.string ?? "?")' in context; allowed: expressions, slots, macros")
        }
        var slots: [String: [Context.SlotValue]] = [:]
        if let slotsNode = contextNode["slots"] {
            for (key, type, items) in try namedLists(slotsNode, section: "slots") {
                if type.hasPrefix("pv.") { throw error(.structure, key, "slot type '\(type)' uses the reserved prefix 'pv.'; rename it") }
                var values: [Context.SlotValue] = []
                for item in items {
                    var p = try expressionParser(item)
                    let elements: [ExpressionElement]
                    do { elements = try p.parseExpression(endOffset: item.text.count) } catch { throw located(error, item) }
                    guard elements.allSatisfy({ if case .word = $0 { true } else { false } }) else {
                        throw ContextError(.syntax, file: file, line: item.line, column: item.column,
                                           "slot value '\(item.text)' must be plain words (no brackets, slots or macros)")
                    }
                    values.append(Context.SlotValue(written: trimmedBlanks(item.text), elements: Numbers.markNumbers(elements)))
                }
                slots[type] = values
                slotTypes.insert(type)
                slotWords[type] = values.reduce(0) { $0 + $1.elements.count }
            }
        }
        var macroNames: [String] = []
        if let macrosNode = contextNode["macros"] {
            for (_, name, items) in try namedLists(macrosNode, section: "macros") {
                rawMacros[name] = items
                macroNames.append(name)
            }
        }
        guard let expressionsNode = contextNode["expressions"] else {
            throw error(.structure, contextNode, "missing 'expressions:' under context; add intents with their expressions")
        }
        var intents: [Context.Intent] = []
        var total = ExpressionShape()
        for (_, intentName, items) in try namedLists(expressionsNode, section: "expressions") {
            var expressions: [Context.Expression] = []
            for item in items {
                var p = try expressionParser(item)
                var elements: [ExpressionElement]
                do { elements = try p.parseExpression(endOffset: item.text.count) } catch { throw located(error, item) }
                total.append(p.shape)
                if total.words > limits.words {
                    throw ContextError(.tooLarge, file: file, line: item.line, column: item.column,
                                       "with this expression the grammar grows past \(limits.words) words once macros and slot values are written out (limit words=\(limits.words)); use fewer or smaller expressions, \(ContextLimits.raise("words"))")
                }
                if elements.allSatisfy({ $0.isNullable }) {
                    throw ContextError(.onlyOptionals, file: file, line: item.line, column: item.column,
                                       "expression '\(item.text)' can match nothing (only optional parts); make at least one part required")
                }
                elements = Numbers.markNumbers(elements)
                expressions.append(Context.Expression(text: item.text, elements: elements, line: item.line, column: item.column))
            }
            intents.append(Context.Intent(name: intentName, expressions: expressions))
        }
        if intents.isEmpty { throw error(.structure, expressionsNode, "no intents under 'expressions'; add at least one") }
        return Context(name: file, intents: intents, slots: slots, macroNames: macroNames)
    }

    /// A mapping of name → non-empty list of strings, with each string's position.
    func namedLists(_ node: YAMLNode, section: String) throws(ContextError) -> [(YAMLNode, String, [ScalarItem])] {
        guard let mapping = node.mapping else {
            throw error(.structure, node, "'\(section)' must be a mapping of names to lists of strings")
        }
        var out: [(YAMLNode, String, [ScalarItem])] = []
        for pair in mapping {
            let key = pair.key, value = pair.value
            guard let name = key.string, !name.isEmpty else { throw error(.structure, key, "a name in '\(section)' must be a string") }
            guard let sequence = value.sequence else {
                throw error(.structure, value, "'\(name)' in '\(section)' must be a list of strings, e.g. - \"turn on the lights\"")
            }
            var items: [ScalarItem] = []
            for element in sequence {
                guard let text = element.string, let style = element.scalarStyle else {
                    throw error(.structure, element, "each entry of '\(name)' must be a string")
                }
                // A quoted string's text starts one column after its opening quote.
                let quoted = style != .plain
                items.append(ScalarItem(text: text, line: element.line, column: element.column + (quoted ? 1 : 0)))
            }
            if items.isEmpty { throw error(.emptyExpression, key, "'\(name)' in '\(section)' has no entries; add at least one") }
            out.append((key, name, items))
        }
        return out
    }

    func located(_ problem: ExpressionProblem, _ item: ScalarItem) -> ContextError {
        if let absolute = problem.located { return absolute }
        let text = item.text.count > 60 ? item.text.prefix(57) + "…" : item.text
        return ContextError(problem.kind, file: file, line: item.line, column: item.column + problem.offset,
                            "\(problem.message) (in '\(text)')")
    }

    func expressionParser(_ item: ScalarItem) throws(ContextError) -> ExpressionParser {
        let box = MacroResolver(parser: self)
        do {
            return try ExpressionParser(item.text, limits: limits, slotTypeExists: { type in
                BuiltinSlot.names.contains(type) || box.parser.slotTypes.contains(type)
            }, slotWords: { [slotWords] in ContextParser.words(ofSlot: $0, user: slotWords) },
               resolveMacro: { name, offset throws(ExpressionProblem) in try box.resolve(name, offset: offset) })
        } catch {
            throw located(error, item)
        }
    }

    /// Maps YAML errors (with their positions) to `.malformedYAML` / duplicate names.
    func yamlError(_ e: YAMLError) -> ContextError {
        switch e.kind {
        case .duplicateKey(let name):
            return ContextError(.duplicateName(name), file: file, line: e.line, column: e.column,
                                "'\(name)' is defined twice in the same mapping; intent, slot and macro names must be unique, rename or merge them")
        case .syntax, .tooDeep:
            return ContextError(.malformedYAML, file: file, line: e.line, column: e.column, "malformed YAML: \(e.message)")
        case .unsupported:
            return ContextError(.malformedYAML, file: file, line: e.line, column: e.column, "YAML outside what Bora reads: \(e.message)")
        }
    }
}

/// `text` without leading and trailing spaces and tabs (and other Unicode space separators).
func trimmedBlanks(_ text: String) -> String {
    func blank(_ c: Character) -> Bool {
        c.unicodeScalars.allSatisfy { $0 == "\t" || $0.properties.generalCategory == .spaceSeparator }
    }
    guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
    return String(text[first...last])
}

/// Resolves `@macro` references lazily (macros may use other macros; cycles are errors). Each
/// macro is parsed once and its shape cached, so a chain of macros that double each other is
/// measured in linear time and refused by the words limit before anything is expanded; the
/// chain of macros being resolved is bounded by `limits.nesting` (each level nests one deeper).
private final class MacroResolver {
    var parser: ContextParser
    init(parser: ContextParser) { self.parser = parser }

    func resolve(_ name: String, offset: Int) throws(ExpressionProblem) -> MacroExpansion {
        if let done = parser.resolvedMacros[name] { return done }
        guard let items = parser.rawMacros[name] else {
            let known = parser.rawMacros.keys.sorted().joined(separator: ", ")
            throw ExpressionProblem(kind: .unknownMacro(name), offset: offset,
                                    message: "unknown macro '@\(name)'; define it under context.macros" + (known.isEmpty ? "" : " (defined: \(known))"))
        }
        if parser.resolving.contains(name) {
            throw ExpressionProblem(kind: .macroCycle(name), offset: offset, message: "macro '@\(name)' uses itself; remove the cycle")
        }
        let limits = parser.limits
        if parser.resolving.count >= limits.nesting {
            throw ExpressionProblem(kind: .tooLarge, offset: offset,
                                    message: "macros use macros more than \(limits.nesting) deep (@\(parser.resolving.first ?? name) … @\(name); limit nesting=\(limits.nesting)); flatten the chain, \(ContextLimits.raise("nesting"))")
        }
        parser.resolving.append(name)
        defer { parser.resolving.removeLast() }
        var alternatives: [[ExpressionElement]] = []
        var shape = ExpressionShape()
        for item in items {
            do throws(ExpressionProblem) {
                var p = try ExpressionParser(item.text, limits: limits, slotTypeExists: { [parser] type in
                    BuiltinSlot.names.contains(type) || parser.slotTypes.contains(type)
                }, slotWords: { [slotWords = parser.slotWords] in ContextParser.words(ofSlot: $0, user: slotWords) },
                   resolveMacro: { n, o throws(ExpressionProblem) in try self.resolve(n, offset: o) })
                alternatives.append(try p.parseExpression(endOffset: item.text.count))
                shape.append(p.shape)
                if shape.words > limits.words {
                    throw ExpressionProblem(kind: .tooLarge, offset: 0,
                                            message: "macro '@\(name)' grows to more than \(limits.words) words once its macros and slot values are written out (limit words=\(limits.words)); use fewer repetitions, \(ContextLimits.raise("words"))")
                }
            } catch let problem {
                throw problem.located != nil ? problem
                    : ExpressionProblem(kind: problem.kind, offset: offset, message: problem.message,
                                        located: parser.located(problem, item))
            }
        }
        let expansion = MacroExpansion(alternatives: alternatives, shape: shape)
        parser.resolvedMacros[name] = expansion
        return expansion
    }
}
