import BoraCore

/// A context file that cannot be used, with where (file, 1-based line and column) and what to do.
/// `description` is one line: `FILE:LINE:COLUMN: problem; what to do`.
public struct ContextError: BoraInputError, Equatable {
    public enum Kind: Sendable, Equatable {
        case unreadable
        case malformedYAML
        /// The YAML is valid but not shaped like a context (missing or wrongly typed section).
        case structure
        case unknownSlotType(String)
        case unknownMacro(String)
        case unbalancedBrackets
        case emptyExpression
        case onlyOptionals
        case duplicateName(String)
        case syntax
        case macroCycle(String)
        case tooLarge
    }

    public let kind: Kind
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(_ kind: Kind, file: String, line: Int, column: Int, _ message: String) {
        self.kind = kind; self.file = file; self.line = line; self.column = column; self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}
