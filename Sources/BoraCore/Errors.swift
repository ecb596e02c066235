/// Marks an error caused by bad input (a malformed model file, wrong audio format, a bad
/// context file). The CLI reports these with exit code 3 and the error's one-line description,
/// which says what is wrong, where, and what to do.
public protocol BoraInputError: Error, CustomStringConvertible {}

/// Bora's version, printed by `bora --version`.
public enum BoraVersion {
    public static let string = "0.1.0-dev"
}
