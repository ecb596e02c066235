/// Bora's YAML reader: the subset of YAML its configuration files (contexts, actions) use, with
/// the same behaviour in the host and the Embedded Swift build (no Foundation, no Yams).
///
/// Supported, for one document:
/// - block mappings and block sequences at any consistent indentation (spaces), sequences
///   indented or not under their key, compact forms (`- key: value`, `- - item`);
/// - flow sequences and flow mappings (`[a, "b"]`, `{k: v, k2}`), nested and across lines,
///   with trailing commas and single-pair mappings in sequences (`[k: v]`);
/// - plain, 'single-quoted' (`''` for a quote) and "double-quoted" scalars (all YAML escapes:
///   `\0 \a \b \t \n \v \f \r \e \  \" \/ \\ \N \_ \L \P \xXX \uXXXX \UXXXXXXXX`, escaped line
///   breaks); quoted scalars may span lines (folded as YAML folds them);
/// - comments, blank lines, an optional `---` (a scalar or flow value may follow it on the same
///   line) and `...`, LF, CRLF or CR line ends, a UTF-8 byte order mark.
///
/// Everything else is a `YAMLError` with the 1-based line and column and what to write instead,
/// never a different reading: anchors `&`, aliases `*`, tags `!`, block scalars `|` `>`,
/// complex keys `?` (and `[…]`/`{…}` as keys), directives `%`, merge keys `<<`, a second
/// document, plain (unquoted) scalars continued on the next line, tabs used as indentation,
/// duplicate keys in one mapping (reported at the second one), control characters, and nesting
/// deeper than `maximumDepth`. Scalars are never resolved to numbers or booleans: a plain `yes`
/// or `123` is the text `yes` or `123` with style `.plain` (see `YAMLNode.bool` and `isNull`
/// for the YAML meanings a caller may ask for). Time and memory are linear in the input.
public enum YAML {
    /// The default nesting limit: collections (block or flow) inside one another.
    public static let maximumDepth = 64

    /// Parses `text` as one YAML document.
    /// - Returns: the root node, or nil when the document is empty (only comments, blank lines
    ///   and document markers).
    /// - Throws: `YAMLError` (1-based line and column, what is wrong and what to write instead)
    ///   for malformed YAML, YAML outside the subset above, a duplicate key, or collections nested
    ///   more than `maxDepth` deep.
    public static func parse(_ text: String, maxDepth: Int = maximumDepth) throws(YAMLError) -> YAMLNode? {
        var parser = YAMLParser(Array(text.utf8), maxDepth: maxDepth)
        return try parser.parseDocument()
    }
}

/// How a scalar was written.
public enum YAMLScalarStyle: Sendable, Equatable {
    case plain
    case singleQuoted
    case doubleQuoted
}

/// A key and its value in a mapping.
public struct YAMLPair: Sendable, Equatable {
    public let key: YAMLNode
    public let value: YAMLNode
}

/// One YAML node with where it starts (1-based line and column, counted in Unicode scalars; a
/// quoted scalar starts at its opening quote, a block sequence at its first `-`, a block mapping
/// at its first key, a flow collection at its bracket, an empty value just after its `:` or `-`).
public struct YAMLNode: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        /// The scalar's text (quotes removed, escapes and folding applied) and how it was written.
        /// An empty value (`key:` with nothing after it) is an empty plain scalar.
        case scalar(String, YAMLScalarStyle)
        case sequence([YAMLNode])
        /// Pairs in file order; keys are scalars and unique.
        case mapping([YAMLPair])
    }

    public let content: Content
    public let line: Int
    public let column: Int

    public init(_ content: Content, line: Int, column: Int) {
        self.content = content; self.line = line; self.column = column
    }

    /// The text of a scalar (any style); nil for a sequence or mapping.
    public var string: String? {
        if case let .scalar(text, _) = content { return text }
        return nil
    }

    /// The style of a scalar; nil for a sequence or mapping.
    public var scalarStyle: YAMLScalarStyle? {
        if case let .scalar(_, style) = content { return style }
        return nil
    }

    /// The items of a sequence; nil for anything else.
    public var sequence: [YAMLNode]? {
        if case let .sequence(items) = content { return items }
        return nil
    }

    /// The pairs of a mapping in file order; nil for anything else.
    public var mapping: [YAMLPair]? {
        if case let .mapping(pairs) = content { return pairs }
        return nil
    }

    /// The value of the key whose text is `key` in a mapping; nil when absent or not a mapping.
    public subscript(key: String) -> YAMLNode? {
        guard case let .mapping(pairs) = content else { return nil }
        for pair in pairs where pair.key.string == key { return pair.value }
        return nil
    }

    /// True for a plain scalar YAML reads as null: empty, `~`, `null`, `Null`, `NULL`.
    public var isNull: Bool {
        guard case let .scalar(text, .plain) = content else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// A plain scalar YAML 1.1 reads as a boolean — `true`/`yes`/`on` or `false`/`no`/`off` in
    /// any letter case — as that Bool; nil for anything else (a quoted `"true"` is a string).
    public var bool: Bool? {
        guard case let .scalar(text, .plain) = content else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }
}

/// YAML that cannot be read: where (1-based line and column), what is wrong and what to do.
/// `description` is `LINE:COLUMN: message`.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not valid YAML (an unclosed quote or bracket, bad indentation, a stray character…).
        case syntax
        /// Valid YAML outside Bora's subset; the associated text names the feature
        /// (`anchor`, `alias`, `tag`, `block scalar`, `complex key`, `directive`, `merge key`,
        /// `multiple documents`, `multi-line plain scalar`, `line separator`).
        case unsupported(String)
        /// A mapping has this key twice; the error points at the second occurrence.
        case duplicateKey(String)
        /// Collections nested deeper than the limit (the associated value).
        case tooDeep(Int)
    }

    public let kind: Kind
    public let line: Int
    public let column: Int
    public let message: String

    public init(_ kind: Kind, line: Int, column: Int, _ message: String) {
        self.kind = kind; self.line = line; self.column = column; self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }
}

// MARK: - Parser

private let space: UInt8 = 0x20, tab: UInt8 = 0x09, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
private let hash: UInt8 = 0x23, colon: UInt8 = 0x3A, dash: UInt8 = 0x2D, comma: UInt8 = 0x2C
private let openBracket: UInt8 = 0x5B, closeBracket: UInt8 = 0x5D, openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D
private let singleQuote: UInt8 = 0x27, doubleQuote: UInt8 = 0x22, backslash: UInt8 = 0x5C, dot: UInt8 = 0x2E

/// A recursive-descent reader over the UTF-8 bytes. Every parse function that returns a block
/// node leaves the cursor at the next content (past blank lines and comments) or at the end.
/// Recursion is bounded: each level enters a collection, and `depth` is checked on entry.
private struct YAMLParser {
    let b: [UInt8]
    let maxDepth: Int
    var i = 0
    var line = 1
    var lineStart = 0
    var depth = 0
    /// Set when `skipBlank` passes a comment (a plain scalar cannot continue past one).
    var skippedComment = false
    // Column cache: the column of `cachePos` on the line starting at `cacheLineStart`, so that
    // marks along one long line (a 200,000-item flow sequence) cost linear time in total.
    var cacheLineStart = 0, cachePos = 0, cacheColumn = 1

    init(_ bytes: [UInt8], maxDepth: Int) {
        b = bytes; self.maxDepth = maxDepth
    }

    // MARK: cursor

    @inline(__always) func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0 }
    @inline(__always) var c: UInt8 { at(i) }
    @inline(__always) var atEnd: Bool { i >= b.count }
    @inline(__always) static func isBreak(_ x: UInt8) -> Bool { x == lf || x == cr }
    @inline(__always) static func isBlank(_ x: UInt8) -> Bool { x == space || x == tab }
    /// Space, tab, line break or the end (0 past the end; NUL never reaches here, see `validate`).
    @inline(__always) static func isSeparator(_ x: UInt8) -> Bool { x == space || x == tab || x == lf || x == cr || x == 0 }
    @inline(__always) static func isFlowIndicator(_ x: UInt8) -> Bool {
        x == comma || x == openBracket || x == closeBracket || x == openBrace || x == closeBrace
    }

    /// The indentation of the cursor: its column from the line start (0-based), in bytes, which
    /// equals characters because only spaces, `- ` and `--- ` can precede a block node.
    var indent: Int { i - lineStart }

    /// Consumes one line break (LF, CRLF or CR) at the cursor.
    mutating func consumeBreak() {
        if b[i] == cr && at(i + 1) == lf { i += 2 } else { i += 1 }
        line += 1
        lineStart = i
    }

    /// 1-based (line, column) of byte `p`, which must be on the cursor's line (marks of earlier
    /// lines are taken from the nodes that start there).
    mutating func mark(_ p: Int) -> (line: Int, column: Int) {
        if cacheLineStart != lineStart || p < cachePos {
            cacheLineStart = lineStart; cachePos = lineStart; cacheColumn = 1
        }
        while cachePos < p {
            if b[cachePos] & 0xC0 != 0x80 { cacheColumn += 1 }
            cachePos += 1
        }
        return (line, cacheColumn)
    }

    mutating func node(_ content: YAMLNode.Content, _ m: (line: Int, column: Int)) -> YAMLNode {
        YAMLNode(content, line: m.line, column: m.column)
    }

    mutating func fail(_ kind: YAMLError.Kind, at p: Int, _ message: String) -> YAMLError {
        let m = mark(p)
        return YAMLError(kind, line: m.line, column: m.column, message)
    }

    mutating func syntax(at p: Int, _ message: String) -> YAMLError { fail(.syntax, at: p, message) }

    /// A character shown in a message: printable ASCII as itself, else as U+XXXX.
    func shown(_ p: Int) -> String {
        guard p < b.count else { return "the end of the file" }
        let x = b[p]
        if x >= 0x21 && x < 0x7F { return "'" + String(Unicode.Scalar(x)) + "'" }
        if x == space { return "a space" }
        if Self.isBreak(x) { return "the end of the line" }
        if x == tab { return "a tab" }
        var end = p + 1
        while end < b.count && b[end] & 0xC0 == 0x80 { end += 1 }
        return "'" + String(decoding: b[p..<end], as: UTF8.self) + "'"
    }

    mutating func enter(at p: Int) throws(YAMLError) {
        depth += 1
        if depth > maxDepth {
            throw fail(.tooDeep(maxDepth), at: p,
                       "collections nested more than \(maxDepth) deep (limit \(maxDepth)); flatten the structure")
        }
    }

    // MARK: whole input

    /// Rejects characters YAML does not allow in a stream (control characters other than tab,
    /// LF and CR; DEL; C1 controls; U+FFFE/U+FFFF) and the YAML 1.1 line breaks NEL, LS and PS
    /// that this reader does not treat as line ends. One pass, before parsing.
    mutating func validate() throws(YAMLError) {
        var k = i
        while k < b.count {
            let x = b[k]
            if x < 0x20 || x == 0x7F {
                if x == lf || x == cr {
                    i = k; consumeBreak(); k = i; continue
                }
                if x != tab {
                    throw syntax(at: k, "control character U+00\(hex2(x)) is not allowed in YAML; remove it (write \\x\(hex2(x)) inside double quotes)")
                }
            } else if x == 0xC2, at(k + 1) >= 0x80 && at(k + 1) <= 0x9F {
                if at(k + 1) == 0x85 {
                    throw fail(.unsupported("line separator"), at: k, "the line break NEL (U+0085) is not supported; end lines with LF or CRLF")
                }
                throw syntax(at: k, "control character U+00\(hex2(at(k + 1))) is not allowed in YAML; remove it")
            } else if x == 0xE2, at(k + 1) == 0x80, at(k + 2) == 0xA8 || at(k + 2) == 0xA9 {
                throw fail(.unsupported("line separator"), at: k,
                           "the line separator U+202\(at(k + 2) == 0xA8 ? "8" : "9") is not supported; end lines with LF or CRLF (or write \\L / \\P inside double quotes)")
            } else if x == 0xEF, at(k + 1) == 0xBF, at(k + 2) == 0xBE || at(k + 2) == 0xBF {
                throw syntax(at: k, "the noncharacter U+FFF\(at(k + 2) == 0xBE ? "E" : "F") is not allowed in YAML; remove it")
            }
            k += 1
        }
        i = 0; line = 1; lineStart = 0
        if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { i = 3; lineStart = 3 }
    }

    func hex2(_ x: UInt8) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
        return String(digits[Int(x >> 4)]) + String(digits[Int(x & 15)])
    }

    /// `---` or `...` at the start of a line, followed by a space, a line end or the end.
    func atDocumentMarker(_ marker: UInt8) -> Bool {
        i == lineStart && at(i) == marker && at(i + 1) == marker && at(i + 2) == marker && Self.isSeparator(at(i + 3))
    }

    mutating func parseDocument() throws(YAMLError) -> YAMLNode? {
        try validate()
        try skipBlank()
        if !atEnd && i == lineStart && c == 0x25 {   // %
            throw fail(.unsupported("directive"), at: i, "directives ('%YAML', '%TAG') are not supported; remove the line")
        }
        var root: YAMLNode?
        if atDocumentMarker(dash) {
            i += 3
            skipSpaces()
            if !atEnd && !Self.isBreak(c) && c != hash {
                root = try parseBlockNode(parentIndent: -1, inline: true)
            } else {
                try skipBlank()
            }
        }
        if root == nil && !atEnd && !atDocumentMarker(dash) && !atDocumentMarker(dot) {
            root = try parseBlockNode(parentIndent: -1, inline: false)
        }
        if atEnd { return root }
        if atDocumentMarker(dot) {
            i += 3
            try expectLineEnd(after: "'...'")
            try skipBlank()
            if atEnd { return root }
        }
        if atDocumentMarker(dash) {
            throw fail(.unsupported("multiple documents"), at: i,
                       "a second document ('---') is not supported; one file holds one document, remove the marker or split the file")
        }
        if !atEnd && i == lineStart && c == 0x25 {
            throw fail(.unsupported("directive"), at: i, "directives ('%YAML', '%TAG') are not supported; remove the line")
        }
        throw unexpected(parentIndent: -1, previousPlain: root?.scalarStyle == .plain)
    }

    /// The error for content that does not fit the block structure at the cursor.
    mutating func unexpected(parentIndent: Int, previousPlain: Bool) -> YAMLError {
        if previousPlain && !skippedComment && indent > parentIndent {
            return fail(.unsupported("multi-line plain scalar"), at: i,
                        "this line continues the unquoted value above, which is not supported; write the value on one line or put it in quotes")
        }
        if c == dash && Self.isSeparator(at(i + 1)) {
            return syntax(at: i, "a '- ' item is not expected at this indentation; indent the items of a list equally, under their key")
        }
        return syntax(at: i, "unexpected content at this indentation; indent the keys of one mapping (and the items of one list) equally, deeper than their parent key")
    }

    // MARK: blanks, comments, line ends

    mutating func skipSpaces() {
        while i < b.count && (b[i] == space || b[i] == tab) { i += 1 }
    }

    /// Skips spaces, tabs, comments and line breaks up to the next content. A tab in the
    /// indentation of a line with content is an error (YAML indents with spaces only).
    mutating func skipBlank() throws(YAMLError) {
        while i < b.count {
            let fresh = i == lineStart
            var tabAt = -1
            while i < b.count && (b[i] == space || b[i] == tab) {
                if b[i] == tab && fresh && tabAt < 0 { tabAt = i }
                i += 1
            }
            guard i < b.count else { return }
            if b[i] == hash {
                skippedComment = true
                while i < b.count && !Self.isBreak(b[i]) { i += 1 }
                continue
            }
            if Self.isBreak(b[i]) { consumeBreak(); continue }
            if tabAt >= 0 {
                throw syntax(at: tabAt, "a tab in the indentation; YAML indents with spaces only, replace the tab with spaces")
            }
            return
        }
    }

    /// After a value on a line: only spaces, a comment (after a space) or the line end may
    /// follow. Leaves the cursor before the line end.
    mutating func expectLineEnd(after what: String) throws(YAMLError) {
        let start = i
        skipSpaces()
        if atEnd || Self.isBreak(c) { return }
        if c == hash && i > start {
            skippedComment = true
            while i < b.count && !Self.isBreak(b[i]) { i += 1 }
            return
        }
        if c == colon && Self.isSeparator(at(i + 1)) {
            throw syntax(at: i, "a ':' after \(what) on the same line; a value cannot be a 'key: value' on its key's line (write the nested mapping on the next lines, indented) — quote the text if it contains ': '")
        }
        throw syntax(at: i, "unexpected \(shown(i)) after \(what); put one value per line, quote text that contains quotes or brackets, or start a comment with ' #'")
    }

    // MARK: block context

    /// The block node at the cursor (content). `inline`: it follows `key: ` or `--- ` on the same
    /// line, so it must be a scalar or a flow collection (a block collection cannot start there).
    mutating func parseBlockNode(parentIndent: Int, inline: Bool) throws(YAMLError) -> YAMLNode {
        let start = i, col = indent
        let x = c
        if x == dash && Self.isSeparator(at(i + 1)) {
            if inline {
                throw syntax(at: i, "a '- ' list cannot start on the line of its key; put each '- ' item on its own line below the key, indented")
            }
            return try parseBlockSequence(indent: col)
        }
        if x == openBracket || x == openBrace {
            let collection = try parseFlowCollection()
            skipSpaces()
            if c == colon && Self.isSeparator(at(i + 1)) {
                throw YAMLError(.unsupported("complex key"), line: collection.line, column: collection.column,
                                "a [ ] or { } collection as a mapping key is not supported; use a plain or quoted key")
            }
            try expectLineEnd(after: "the closing \(x == openBracket ? "']'" : "'}'")")
            try skipBlank()
            return collection
        }
        let (scalar, isKey) = try parseBlockScalar(allowKey: !inline)
        if isKey {
            return try parseBlockMapping(indent: col, firstKey: scalar, keyStart: start)
        }
        skippedComment = false
        try expectLineEnd(after: "the value")
        try skipBlank()
        return scalar
    }

    /// A scalar in block context, and whether a `:` (mapping indicator) follows it. On return the
    /// cursor is just past the scalar (past the `:` for a key).
    mutating func parseBlockScalar(allowKey: Bool) throws(YAMLError) -> (YAMLNode, Bool) {
        let scalar: YAMLNode
        let startLine = line
        if c == singleQuote || c == doubleQuote {
            scalar = try parseQuoted()
            let end = i
            skipSpaces()
            if c == colon && Self.isSeparator(at(i + 1)) {
                if line != startLine {
                    throw syntax(at: i, "a key must be on one line; join the quoted key's lines")
                }
            } else {
                i = end
                return (scalar, false)
            }
        } else {
            try checkPlainStart(flow: false)
            scalar = scanPlain(flow: false)
            if !(c == colon && Self.isSeparator(at(i + 1))) { return (scalar, false) }
        }
        // A ':' follows: a key.
        if !allowKey {
            throw syntax(at: i, "a 'key: value' cannot be the value of another key on the same line; write the nested mapping on the next lines, indented — quote the text if it contains ': '")
        }
        i += 1
        return (scalar, true)
    }

    /// Errors for characters that cannot start a plain scalar (YAML indicators), naming the
    /// unsupported feature or what to write.
    mutating func checkPlainStart(flow: Bool) throws(YAMLError) {
        let x = c, next = at(i + 1)
        switch x {
        case 0x26:   // &
            throw fail(.unsupported("anchor"), at: i, "anchors ('&name') are not supported; write the value out where it is used (quote it if '&' is part of the text)")
        case 0x2A:   // *
            throw fail(.unsupported("alias"), at: i, "aliases ('*name') are not supported; write the value out here instead of referring to an anchor (quote it if '*' is part of the text)")
        case 0x21:   // !
            throw fail(.unsupported("tag"), at: i, "tags ('!type') are not supported; remove the tag (quote the value if '!' is part of the text)")
        case 0x7C, 0x3E:   // | >
            throw fail(.unsupported("block scalar"), at: i,
                       "block scalars ('|' and '>') are not supported; write the text as a quoted string (use \\n inside double quotes for line breaks)")
        case 0x3F where flow || Self.isSeparator(next):   // ? (always a key indicator inside [ ] and { } for YAML 1.1 readers)
            throw fail(.unsupported("complex key"), at: i, "complex keys ('? ') are not supported; write 'key: value' with a plain or quoted key")
        case colon where Self.isSeparator(next) || (flow && Self.isFlowIndicator(next)):
            throw syntax(at: i, "a ':' with no key before it; write 'key: value'")
        case colon where flow:
            throw syntax(at: i, "a value inside [ ] or { } cannot start with ':'; put it in quotes")
        case 0x25:   // %
            throw syntax(at: i, "a value cannot start with '%'; put it in quotes")
        case 0x40, 0x60:   // @ `
            throw syntax(at: i, "a value cannot start with '\(x == 0x40 ? "@" : "`")' (reserved in YAML); put it in quotes")
        case comma, closeBracket, closeBrace, openBracket, openBrace:
            throw syntax(at: i, "unexpected \(shown(i)); a value was expected here (put text that starts with it in quotes)")
        case dash where Self.isSeparator(next):
            throw syntax(at: i, "a '- ' list item is not allowed here; write lists inside [ ] in flow style, or on their own lines")
        case hash:
            throw syntax(at: i, "a value was expected, found a comment")
        default:
            if i >= b.count || Self.isBreak(x) { throw syntax(at: i, "a value was expected here") }
        }
    }

    /// A plain scalar from the cursor to the end of its line or the first ': ', ' #' (and in flow
    /// context ',', '[', ']', '{', '}', ':' before an indicator); trailing blanks are not part of it.
    mutating func scanPlain(flow: Bool) -> YAMLNode {
        let start = i
        let m = mark(start)
        var end = i
        while i < b.count {
            let x = b[i]
            if Self.isBreak(x) { break }
            if x == colon {
                let n = at(i + 1)
                if Self.isSeparator(n) || (flow && Self.isFlowIndicator(n)) { break }
            } else if x == hash {
                if i > start && Self.isBlank(b[i - 1]) { break }
            } else if flow && (Self.isFlowIndicator(x) || x == 0x3F) {
                break   // YAML 1.1 readers (PyYAML, libyaml) end a plain scalar at '?' inside [ ] and { }
            }
            i += 1
            if !Self.isBlank(x) { end = i }
        }
        i = end
        return node(.scalar(String(decoding: b[start..<end], as: UTF8.self), .plain), m)
    }

    /// A block mapping whose first key (already read, cursor past its ':') starts at column
    /// `indent`.
    mutating func parseBlockMapping(indent mapIndent: Int, firstKey: YAMLNode, keyStart: Int) throws(YAMLError) -> YAMLNode {
        let m = (firstKey.line, firstKey.column)
        try enter(at: keyStart)
        defer { depth -= 1 }
        var pairs: [YAMLPair] = []
        var seen: [String: Int] = [:]
        var key = firstKey
        var keyAt = keyStart
        while true {
            let name = key.string ?? ""
            if key.scalarStyle == .plain && name == "<<" {
                throw fail(.unsupported("merge key"), at: keyAt, "merge keys ('<<') are not supported; write the keys out in this mapping")
            }
            if let first = seen[name] {
                throw YAMLError(.duplicateKey(name), line: key.line, column: key.column,
                                "the key '\(name)' appears twice in this mapping (first on line \(first)); rename or merge them")
            }
            seen[name] = key.line
            // The value: on this line, on the following more-indented lines, a '- ' list at the
            // key's own indentation, or empty.
            let afterColon = mark(i)   // where YAML marks an empty value
            skipSpaces()
            let value: YAMLNode
            var valueIsPlain = false
            if !atEnd && !Self.isBreak(c) && c != hash {
                value = try parseBlockNode(parentIndent: mapIndent, inline: true)
                valueIsPlain = value.scalarStyle == .plain
            } else {
                try skipBlank()
                let empty = YAMLNode(.scalar("", .plain), line: afterColon.line, column: afterColon.column)
                if atEnd || atDocumentMarker(dash) || atDocumentMarker(dot) {
                    value = empty
                } else if indent > mapIndent {
                    value = try parseBlockNode(parentIndent: mapIndent, inline: false)
                    valueIsPlain = value.scalarStyle == .plain
                } else if indent == mapIndent && c == dash && Self.isSeparator(at(i + 1)) {
                    value = try parseBlockSequence(indent: mapIndent)
                } else {
                    value = empty
                }
            }
            pairs.append(YAMLPair(key: key, value: value))
            // Cursor at the next content.
            if atEnd || atDocumentMarker(dash) || atDocumentMarker(dot) { break }
            if indent < mapIndent { break }
            if indent > mapIndent { throw unexpected(parentIndent: mapIndent, previousPlain: valueIsPlain) }
            // The next key at this indentation.
            keyAt = i
            if c == dash && Self.isSeparator(at(i + 1)) {
                throw syntax(at: i, "a '- ' item where a key of this mapping was expected; indent the list under its key, or write 'key: value'")
            }
            if c == openBracket || c == openBrace {
                throw fail(.unsupported("complex key"), at: i, "a [ ] or { } collection as a mapping key is not supported; use a plain or quoted key")
            }
            let (next, isKey) = try parseBlockScalar(allowKey: true)
            if !isKey {
                throw syntax(at: i, "expected 'key: value' here (a ':' and a space after the key), found \(shown(i)); every line of a mapping is 'key: value'")
            }
            key = next
        }
        return YAMLNode(.mapping(pairs), line: m.0, column: m.1)
    }

    /// A block sequence whose first '-' is at the cursor, column `indent`.
    mutating func parseBlockSequence(indent seqIndent: Int) throws(YAMLError) -> YAMLNode {
        let m = mark(i)
        try enter(at: i)
        defer { depth -= 1 }
        var items: [YAMLNode] = []
        while true {
            // At '-' followed by a separator.
            i += 1
            let afterDash = mark(i)   // where YAML marks an empty item
            skipSpaces()
            let item: YAMLNode
            var itemIsPlain = false
            if !atEnd && !Self.isBreak(c) && c != hash {
                item = try parseBlockNode(parentIndent: seqIndent, inline: false)
                itemIsPlain = item.scalarStyle == .plain
            } else {
                try skipBlank()
                if !atEnd && indent > seqIndent && !atDocumentMarker(dash) && !atDocumentMarker(dot) {
                    item = try parseBlockNode(parentIndent: seqIndent, inline: false)
                    itemIsPlain = item.scalarStyle == .plain
                } else {
                    item = YAMLNode(.scalar("", .plain), line: afterDash.line, column: afterDash.column)
                }
            }
            items.append(item)
            if atEnd || atDocumentMarker(dash) || atDocumentMarker(dot) { break }
            if indent < seqIndent { break }
            if indent > seqIndent { throw unexpected(parentIndent: seqIndent, previousPlain: itemIsPlain) }
            if !(c == dash && Self.isSeparator(at(i + 1))) { break }   // a key of the parent (indentless list) or an error there
        }
        return node(.sequence(items), m)
    }

    // MARK: flow context

    /// Skips blanks, comments and line breaks inside [ ] or { }; the end of the file or a
    /// document marker there means the collection opened at `open` was never closed.
    mutating func skipFlowBlank(open: (line: Int, column: Int), closer: String) throws(YAMLError) {
        try skipBlank()
        if atEnd || atDocumentMarker(dash) || atDocumentMarker(dot) {
            throw syntax(at: i, "the \(closer == "]" ? "[" : "{") opened at line \(open.line), column \(open.column) is not closed; add '\(closer)'")
        }
    }

    /// A flow node at the cursor: a flow collection or a flow scalar.
    mutating func parseFlowNode() throws(YAMLError) -> YAMLNode {
        if c == openBracket || c == openBrace { return try parseFlowCollection() }
        if c == singleQuote || c == doubleQuote { return try parseQuoted() }
        try checkPlainStart(flow: true)
        return scanPlain(flow: true)
    }

    /// `[ … ]` or `{ … }` at the cursor.
    mutating func parseFlowCollection() throws(YAMLError) -> YAMLNode {
        let open = mark(i)
        let isSequence = c == openBracket
        let closer: UInt8 = isSequence ? closeBracket : closeBrace
        let closerText = isSequence ? "]" : "}"
        try enter(at: i)
        defer { depth -= 1 }
        i += 1
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        var seen: [String: Int] = [:]
        while true {
            try skipFlowBlank(open: open, closer: closerText)
            if c == closer { i += 1; break }
            let entryLine = line
            // A key (in a mapping, or a single-pair mapping in a sequence) or a sequence item.
            if !isSequence && (c == openBracket || c == openBrace) {
                throw fail(.unsupported("complex key"), at: i, "a [ ] or { } collection as a mapping key is not supported; use a plain or quoted key")
            }
            let first = try parseFlowNode()
            let firstEndLine = line
            let quoted = first.scalarStyle == .singleQuoted || first.scalarStyle == .doubleQuoted
            skippedComment = false
            try skipFlowBlank(open: open, closer: closerText)
            // A ':' makes `first` a key: after a plain key it was followed by a separator or an
            // indicator (the plain scan stopped there); after a quoted key it may touch it.
            let isPair = c == colon && (quoted || Self.isSeparator(at(i + 1)) || Self.isFlowIndicator(at(i + 1)))
            if isPair {
                guard first.string != nil else {
                    throw YAMLError(.unsupported("complex key"), line: first.line, column: first.column,
                                    "a [ ] or { } collection as a mapping key is not supported; use a plain or quoted key")
                }
                if firstEndLine != entryLine || line != entryLine {
                    throw syntax(at: i, "a key and its ':' must be on one line; join them")
                }
                i += 1
                let afterColon = mark(i)
                try skipFlowBlank(open: open, closer: closerText)
                let value: YAMLNode
                if c == comma || c == closer {
                    value = YAMLNode(.scalar("", .plain), line: afterColon.line, column: afterColon.column)
                } else {
                    value = try parseFlowNode()
                    try skipFlowBlank(open: open, closer: closerText)
                }
                let name = first.string ?? ""
                if first.scalarStyle == .plain && name == "<<" {
                    throw YAMLError(.unsupported("merge key"), line: first.line, column: first.column,
                                    "merge keys ('<<') are not supported; write the keys out in this mapping")
                }
                if isSequence {
                    if depth + 1 > maxDepth {   // the single-pair mapping is one level more
                        throw YAMLError(.tooDeep(maxDepth), line: first.line, column: first.column,
                                        "collections nested more than \(maxDepth) deep (limit \(maxDepth)); flatten the structure")
                    }
                    items.append(YAMLNode(.mapping([YAMLPair(key: first, value: value)]), line: first.line, column: first.column))
                } else {
                    if let earlier = seen[name] {
                        throw YAMLError(.duplicateKey(name), line: first.line, column: first.column,
                                        "the key '\(name)' appears twice in this mapping (first on line \(earlier)); rename or merge them")
                    }
                    seen[name] = first.line
                    pairs.append(YAMLPair(key: first, value: value))
                }
            } else if isSequence {
                items.append(first)
            } else {
                // `{a, b: c}`: a key without a value.
                guard c == comma || c == closer else { throw flowSeparatorError(first: first, entryLine: entryLine, closer: closerText) }
                let name = first.string ?? ""
                if let earlier = seen[name] {
                    throw YAMLError(.duplicateKey(name), line: first.line, column: first.column,
                                    "the key '\(name)' appears twice in this mapping (first on line \(earlier)); rename or merge them")
                }
                seen[name] = first.line
                let here = mark(i)
                pairs.append(YAMLPair(key: first, value: YAMLNode(.scalar("", .plain), line: here.line, column: here.column)))
            }
            if c == comma { i += 1; continue }
            if c == closer { i += 1; break }
            throw flowSeparatorError(first: first, entryLine: entryLine, closer: closerText)
        }
        return isSequence ? node(.sequence(items), open) : node(.mapping(pairs), open)
    }

    mutating func flowSeparatorError(first: YAMLNode, entryLine: Int, closer: String) -> YAMLError {
        if first.scalarStyle == .plain && line != entryLine && !skippedComment && !Self.isFlowIndicator(c) && c != colon && c != hash
            && c != singleQuote && c != doubleQuote {
            return fail(.unsupported("multi-line plain scalar"), at: i,
                        "this line continues the unquoted value above, which is not supported; write the value on one line, put it in quotes, or separate items with ','")
        }
        return syntax(at: i, "expected ',' or '\(closer)' here, found \(shown(i)); separate items with ',' (quote text that contains ',', brackets or ': ')")
    }

    // MARK: quoted scalars

    /// A single- or double-quoted scalar at the cursor (which is on its opening quote). Line
    /// breaks inside fold as YAML folds them: one break is a space, each blank line a "\n";
    /// blanks around breaks are dropped; in double quotes a '\' before a break joins the lines.
    mutating func parseQuoted() throws(YAMLError) -> YAMLNode {
        let quote = c
        let open = mark(i)
        let double = quote == doubleQuote
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw unclosedQuote(open, double) }
            let x = b[i]
            if x == quote {
                if !double && at(i + 1) == singleQuote { out.append(singleQuote); i += 2; continue }
                i += 1
                break
            }
            if double && x == backslash {
                let escapeAt = i
                let e = at(i + 1)
                if Self.isBreak(e) {
                    i += 1
                    consumeBreak()
                    try foldBreaks(&out, open, double, escaped: true)
                    continue
                }
                i += 2
                var scalar: UInt32
                switch e {
                case 0x30: scalar = 0          // 0
                case 0x61: scalar = 0x07       // a
                case 0x62: scalar = 0x08       // b
                case 0x74, tab: scalar = 0x09  // t, TAB
                case 0x6E: scalar = 0x0A       // n
                case 0x76: scalar = 0x0B       // v
                case 0x66: scalar = 0x0C       // f
                case 0x72: scalar = 0x0D       // r
                case 0x65: scalar = 0x1B       // e
                case space: scalar = 0x20
                case doubleQuote: scalar = 0x22
                case 0x2F: scalar = 0x2F       // /
                case backslash: scalar = 0x5C
                case 0x4E: scalar = 0x85       // N
                case 0x5F: scalar = 0xA0       // _
                case 0x4C: scalar = 0x2028     // L
                case 0x50: scalar = 0x2029     // P
                case 0x78, 0x75, 0x55:         // x u U
                    let count = e == 0x78 ? 2 : e == 0x75 ? 4 : 8
                    scalar = 0
                    for _ in 0..<count {
                        guard let d = hexValue(at(i)) else {
                            throw syntax(at: i, "the escape \\\(String(Unicode.Scalar(e))) needs \(count) hex digits; write e.g. \\\(String(Unicode.Scalar(e)))\(String(repeating: "0", count: count - 2))e9")
                        }
                        scalar = scalar << 4 | d
                        i += 1
                    }
                default:
                    throw syntax(at: escapeAt, "unknown escape '\\\(e < 0x80 && e >= 0x20 ? String(Unicode.Scalar(e)) : "…")' in a double-quoted string; write \\\\ for a backslash, or use single quotes")
                }
                guard let u = Unicode.Scalar(scalar) else {
                    throw syntax(at: escapeAt, "the escape is not a Unicode scalar value (a surrogate half or above U+10FFFF); write the character itself or use \\UXXXXXXXX with its code point")
                }
                out.append(contentsOf: String(Character(u)).utf8)
                continue
            }
            if Self.isBlank(x) || Self.isBreak(x) {
                // Blanks: kept unless a line break follows them.
                let blanksStart = i
                while i < b.count && Self.isBlank(b[i]) { i += 1 }
                if i < b.count && Self.isBreak(b[i]) {
                    consumeBreak()
                    try foldBreaks(&out, open, double, escaped: false)
                } else {
                    out.append(contentsOf: b[blanksStart..<i])
                }
                continue
            }
            out.append(x)
            i += 1
        }
        return node(.scalar(String(decoding: out, as: UTF8.self), double ? .doubleQuoted : .singleQuoted), open)
    }

    /// After a line break inside a quoted scalar: skips the next lines' leading blanks, adds "\n"
    /// per blank line, or one space when there was none (nothing after an escaped break).
    mutating func foldBreaks(_ out: inout [UInt8], _ open: (line: Int, column: Int), _ double: Bool, escaped: Bool) throws(YAMLError) {
        var breaks = 0
        while true {
            if atDocumentMarker(dash) || atDocumentMarker(dot) {
                throw syntax(at: i, "a document marker inside the quoted string opened at line \(open.line), column \(open.column); close the string before it")
            }
            while i < b.count && Self.isBlank(b[i]) { i += 1 }
            if i < b.count && Self.isBreak(b[i]) { consumeBreak(); breaks += 1; continue }
            break
        }
        if breaks == 0 && !escaped { out.append(space) }
        for _ in 0..<breaks { out.append(lf) }
        if i >= b.count { throw unclosedQuote(open, double) }
    }

    mutating func unclosedQuote(_ open: (line: Int, column: Int), _ double: Bool) -> YAMLError {
        syntax(at: i, "the \(double ? "double" : "single")-quoted string opened at line \(open.line), column \(open.column) is not closed; add the closing \(double ? "\"" : "'")")
    }

    func hexValue(_ x: UInt8) -> UInt32? {
        switch x {
        case 0x30...0x39: UInt32(x - 0x30)
        case 0x41...0x46: UInt32(x - 0x41 + 10)
        case 0x61...0x66: UInt32(x - 0x61 + 10)
        default: nil
        }
    }
}
