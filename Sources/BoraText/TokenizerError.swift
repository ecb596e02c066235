import BoraCore

/// Why a tokenizer could not be built from a model's GGUF metadata. Every case is bad input
/// (the model file), never a bug in the caller.
public enum TokenizerError: BoraInputError, Equatable {
    /// A required key (`tokenizer.ggml.model`, `tokenizer.ggml.tokens`, `tokenizer.ggml.merges`) is absent.
    case missingKey(String)
    /// A key holds a value of the wrong type (`expected` names the GGUF type wanted).
    case wrongType(key: String, expected: String)
    /// `tokenizer.ggml.model` names a tokenizer Bora does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer Bora does not implement.
    case unsupportedPreTokenizer(String)
    /// `tokenizer.ggml.tokens` is empty.
    case emptyVocabulary
    /// A per-token array (`scores`, `token_type`) is shorter than the token list.
    case arrayTooShort(key: String, count: Int, tokenCount: Int)
    /// The same token text appears twice in `tokenizer.ggml.tokens`.
    case duplicateToken(text: String, firstID: Int, secondID: Int)
    /// A merge rule is not two space-separated tokens.
    case malformedMerge(index: Int, rule: String)
    /// A merge rule names a piece that is not in the vocabulary.
    case mergeReferencesUnknownToken(index: Int, rule: String, piece: String)

    public var description: String {
        let fix = "re-convert the model with a current llama.cpp convert_hf_to_gguf.py"
        switch self {
        case let .missingKey(key):
            return "tokenizer: GGUF metadata has no '\(key)'; \(fix)"
        case let .wrongType(key, expected):
            return "tokenizer: GGUF key '\(key)' is not \(expected); \(fix)"
        case let .unsupportedModel(name):
            return "tokenizer: tokenizer.ggml.model '\(name)' is not supported (supported: gpt2, llama); use a llama-family GGUF"
        case let .unsupportedPreTokenizer(name):
            return "tokenizer: tokenizer.ggml.pre '\(name)' is not supported (supported: \(PreTokenizer.supportedNames.joined(separator: ", ")))"
        case .emptyVocabulary:
            return "tokenizer: tokenizer.ggml.tokens is empty; \(fix)"
        case let .arrayTooShort(key, count, tokenCount):
            return "tokenizer: '\(key)' has \(count) entries for \(tokenCount) tokens; \(fix)"
        case let .duplicateToken(text, firstID, secondID):
            return "tokenizer: token \(text.debugQuoted) appears twice (ids \(firstID) and \(secondID)); \(fix)"
        case let .malformedMerge(index, rule):
            return "tokenizer: merge \(index) \(rule.debugQuoted) is not two space-separated pieces; \(fix)"
        case let .mergeReferencesUnknownToken(index, rule, piece):
            return "tokenizer: merge \(index) \(rule.debugQuoted) uses \(piece.debugQuoted), which is not a token; \(fix)"
        }
    }
}
