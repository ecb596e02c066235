/// Bounds on what a context file may ask of the parser and compiler, so that no context — however
/// written — exhausts the stack, the memory or the patience of a board. Every limit breached is a
/// `ContextError` with kind `.tooLarge`, the file position, the limit's name and how to raise it
/// (`--context-limit NAME=VALUE` on the CLI). The defaults sit far above every shipped context
/// (the largest, train_cabin.yaml, has nesting 4, about 2,000 words written out and compiles in
/// 0.2 s) and well below what would crash or take minutes.
public struct ContextLimits: Sendable, Equatable {
    /// The context file itself, in bytes (checked before it is read).
    public var fileBytes = 4 << 20
    /// Brackets, slots and macros nested inside one another, counted through macro references.
    public var nesting = 32
    /// Words in the whole grammar with every macro, slot value and alternative written out once
    /// (`[a, b] c` is 3; a macro used twice counts twice; a slot of 100 values used once, 100+).
    public var words = 100_000
    /// Characters in one word.
    public var wordLength = 64
    /// Token-automaton states before minimization (subset construction).
    public var states = 4_000_000
    /// Seconds the token-automaton compilation may take.
    public var seconds = 60.0

    public init() {}

    /// The defaults.
    public static let standard = ContextLimits()

    /// The limit names accepted by `setting(_:)`, in help order.
    public static let names = ["file-bytes", "nesting", "words", "word-length", "states", "seconds"]

    /// Applies one `NAME=VALUE` override (VALUE a positive integer; `seconds` may be fractional).
    /// Throws a one-line message naming the accepted names when the text is not one of them.
    public mutating func apply(_ setting: String) throws(ContextLimitSyntaxError) {
        let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ContextLimitSyntaxError(setting) }
        let (name, value) = (parts[0], parts[1])
        if name == "seconds" {
            guard let s = Double(value), s > 0, s.isFinite else { throw ContextLimitSyntaxError(setting) }
            seconds = s
            return
        }
        guard let n = Int(value), n > 0 else { throw ContextLimitSyntaxError(setting) }
        switch name {
        case "file-bytes": fileBytes = n
        case "nesting": nesting = n
        case "words": words = n
        case "word-length": wordLength = n
        case "states": states = n
        default: throw ContextLimitSyntaxError(setting)
        }
    }

    /// The override hint appended to every limit error.
    static func raise(_ name: String) -> String { "or raise the limit with --context-limit \(name)=N" }
}

/// A `--context-limit` value that is not `NAME=VALUE` with a known name and a positive number.
public struct ContextLimitSyntaxError: Error, CustomStringConvertible {
    public let text: String
    init(_ text: String) { self.text = text }
    public var description: String {
        "--context-limit '\(text)': write NAME=VALUE with a positive number; names: \(ContextLimits.names.joined(separator: ", "))"
    }
}
