/// Turns generated token ids into text as they arrive without ever splitting a UTF-8 character:
/// each call returns only whole characters and holds back the bytes of a character that a later
/// token completes (byte-level BPE and `<0xXX>` byte tokens often cut emoji and CJK in pieces).
///
/// ```
/// var stream = TextStreamDecoder(tokenizer: tokenizer)
/// for id in generated { print(stream.append(id), terminator: "") }
/// print(stream.flush())
/// ```
public struct TextStreamDecoder: Sendable {
    public let tokenizer: Tokenizer
    /// Render control tokens (`<|im_end|>`, BOS, …) as their text instead of nothing.
    public var rendersControlTokens: Bool
    /// Bytes of an incomplete character at the end of the output so far (at most 3).
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, rendersControlTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.rendersControlTokens = rendersControlTokens
    }

    /// The whole characters that `id` completes (possibly ""). Bytes that can never form a valid
    /// character come out as U+FFFD.
    public mutating func append(_ id: Int32) -> String {
        if !rendersControlTokens && tokenizer.isHiddenByDefault(id) { return "" }
        pending.append(contentsOf: tokenizer.piece(id))
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is held back, as text (an unfinished character becomes U+FFFD); call at the end.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// True when bytes are being held back for an unfinished character.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// Length of the longest prefix that does not end inside a character that may still complete.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        // Find the last lead byte within the final 4 bytes.
        var i = count - 1
        while i >= 0 && i >= count - 4 {
            let byte = bytes[i]
            if byte & 0xC0 != 0x80 {
                let needed: Int
                switch byte {
                case 0xC2 ... 0xDF: needed = 2
                case 0xE0 ... 0xEF: needed = 3
                case 0xF0 ... 0xF4: needed = 4
                default: needed = 1  // ASCII or a byte that never starts a character
                }
                return count - i < needed ? i : count
            }
            i -= 1
        }
        return count  // only continuation bytes: nothing can complete them
    }
}
