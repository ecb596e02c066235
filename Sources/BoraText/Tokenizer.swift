// BoraText: tokenizers built from GGUF metadata.
import BoraGGUF

/// A text tokenizer built from a model's `tokenizer.ggml.*` metadata that produces the same token
/// ids as llama.cpp (llama-vocab.cpp): byte-level BPE (`tokenizer.ggml.model = "gpt2"`, with the
/// pre-tokenizer named by `tokenizer.ggml.pre`) and SentencePiece BPE (`"llama"`).
///
/// Immutable after `init` and safe to share between threads. `encode` allocates only its own
/// working buffers (no cache grows with use).
public final class Tokenizer: Sendable {
    public enum Kind: Sendable { case bytePairEncoding, sentencePiece }

    /// Which algorithm `tokenizer.ggml.model` selected.
    public let kind: Kind
    /// `tokenizer.ggml.pre` for BPE ("" when absent, meaning llama.cpp's default); nil for SentencePiece.
    public let preTokenizerName: String?
    /// Number of tokens in `tokenizer.ggml.tokens`.
    public let vocabularySize: Int
    public let bosID: Int32?
    public let eosID: Int32?
    /// End of turn: `tokenizer.ggml.eot_token_id`, else a token named like `<|eot_id|>`, `<|im_end|>`,
    /// `<|endoftext|>` (llama.cpp's list, first listed name that exists).
    public let eotID: Int32?
    public let unknownID: Int32?
    public let paddingID: Int32?
    /// `encode(addSpecial: true)` prepends `bosID` (`tokenizer.ggml.add_bos_token`).
    public let addsBOS: Bool
    /// `encode(addSpecial: true)` appends `eosID` (`tokenizer.ggml.add_eos_token`).
    public let addsEOS: Bool

    let vocabulary: Vocabulary
    let bytePairs: BytePairEncoder?
    let sentencePiece: SentencePieceEncoder?
    /// Tokens matched in raw text before tokenizing, longest text first.
    let specialTokens: [Int32]
    /// What each token renders as with special tokens shown (llama.cpp `token_to_piece(special: true)`).
    let pieces: ByteStringPieces

    public convenience init(gguf: GGUFFile) throws(TokenizerError) {
        try self.init(metadata: gguf.metadata)
    }

    public init(metadata: [String: GGUFValue]) throws(TokenizerError) {
        let vocabulary = try Vocabulary(metadata: metadata)
        self.vocabulary = vocabulary
        vocabularySize = vocabulary.tokenCount
        bosID = vocabulary.bosID
        eosID = vocabulary.eosID
        eotID = vocabulary.eotID
        unknownID = vocabulary.unknownID
        paddingID = vocabulary.paddingID
        addsBOS = vocabulary.addBOS
        addsEOS = vocabulary.addEOS
        let n = vocabulary.tokenCount
        let strings = vocabulary.strings

        func token(_ text: String) -> Int32 {
            guard let id = strings.find(Array(text.utf8)), Int(id) < n else { return -1 }
            return id
        }

        switch vocabulary.kind {
        case .bytePairEncoding:
            kind = .bytePairEncoding
            preTokenizerName = vocabulary.preTokenizer?.name
            // The vocabulary's table already holds the byte symbols: shared, not copied.
            let singleByteToken = (0 ..< 256).map { $0 < 0x80 ? token(String(UnicodeScalar(UInt8($0)))) : -1 }
            bytePairs = BytePairEncoder(strings: strings, tokenCount: n, merges: vocabulary.merges,
                                        symbolOfByte: vocabulary.symbolOfByte, singleByteToken: singleByteToken)
            sentencePiece = nil
        case .sentencePiece:
            kind = .sentencePiece
            preTokenizerName = nil
            let hex = Array("0123456789ABCDEF")
            let byteToken: [Int32] = (0 ..< 256).map { byte in
                let named = token("<0x\(hex[byte >> 4])\(hex[byte & 15])>")
                if named >= 0 { return named }
                if byte < 0x80 {
                    let plain = token(String(UnicodeScalar(UInt8(byte))))
                    if plain >= 0 { return plain }
                }
                return vocabulary.unknownID ?? -1  // llama.cpp throws here; no real vocabulary lacks byte tokens
            }
            sentencePiece = SentencePieceEncoder(strings: strings, tokenCount: n, scores: vocabulary.scores,
                                                 byteToken: byteToken)
            bytePairs = nil
        }

        specialTokens = (0 ..< Int32(n)).filter { vocabulary.isSpecialForPartition($0) }.sorted { a, b in
            let la = strings.byteCount(Int(a)), lb = strings.byteCount(Int(b))
            return la != lb ? la > lb : a < b
        }
        pieces = ByteStringPieces(vocabulary: vocabulary)
    }

    // MARK: - Encoding

    /// Token ids of `text`, as llama.cpp's `llama_tokenize(text, add_special, parse_special)`.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS as the model's metadata asks (`addsBOS`, `addsEOS`).
    ///   - parseSpecial: turn control-token texts in `text` (such as `<|im_start|>`) into their
    ///     ids; when false they are tokenized as plain text. User-defined tokens are always matched.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int32] {
        var utf8 = Array(text.utf8)
        return utf8.withUnsafeMutableBufferPointer { encode(bytes: UnsafeBufferPointer($0), addSpecial: addSpecial,
                                                            parseSpecial: parseSpecial) }
    }

    private enum Fragment {
        case text(start: Int, count: Int)
        case token(Int32)
    }

    private func encode(bytes: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var output = [Int32]()
        output.reserveCapacity(bytes.count / 3 + 4)
        let fragments = bytes.isEmpty ? [] : partition(bytes, parseSpecial: parseSpecial)

        if addSpecial && addsBOS, let bosID { output.append(bosID) }
        switch kind {
        case .sentencePiece:
            let encoder = sentencePiece!
            var previousWasSpecial = true  // a space prefix goes on the first fragment too
            var escaped = [UInt8]()
            for fragment in fragments {
                switch fragment {
                case let .text(start, count):
                    escaped.removeAll(keepingCapacity: true)
                    if vocabulary.addSpacePrefix && previousWasSpecial { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) }
                    for byte in bytes[start ..< start + count] {
                        if byte == 0x20 { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) } else { escaped.append(byte) }
                    }
                    escaped.withUnsafeBufferPointer { encoder.encode($0, output: &output) }
                    previousWasSpecial = false
                case let .token(id):
                    output.append(id)
                    previousWasSpecial = true
                }
            }
        case .bytePairEncoding:
            var scratch = BytePairEncoder.Scratch()
            for fragment in fragments {
                switch fragment {
                case let .text(start, count):
                    encodeBytePairs(UnsafeBufferPointer(rebasing: bytes[start ..< start + count]), &scratch, &output)
                case let .token(id):
                    output.append(id)
                }
            }
        }
        if addSpecial && addsEOS, let eosID { output.append(eosID) }
        return output
    }

    private func encodeBytePairs(_ text: UnsafeBufferPointer<UInt8>, _ scratch: inout BytePairEncoder.Scratch,
                                 _ output: inout [Int32]) {
        let encoder = bytePairs!, preTokenizer = vocabulary.preTokenizer!
        var codepoints = [UInt32]()
        var byteLengths = [UInt8]()
        codepoints.reserveCapacity(text.count)
        byteLengths.reserveCapacity(text.count)
        var decoder = UTF8()
        var iterator = text.makeIterator()
        loop: while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(scalar):
                codepoints.append(scalar.value)
                byteLengths.append(UInt8(UTF8.width(scalar)))
            case .emptyInput: break loop
            case .error:  // cannot happen for text cut from a Swift String at token boundaries
                codepoints.append(0xFFFD)
                byteLengths.append(1)
            }
        }
        let flags = codepoints.map { CodepointFlags.of($0) }
        var byteOffset = 0, codepointOffset = 0
        for length in preTokenizer.split(codepoints, flags) {
            var byteCount = 0
            for i in codepointOffset ..< codepointOffset + length { byteCount += Int(byteLengths[i]) }
            encoder.encode(word: UnsafeBufferPointer(rebasing: text[byteOffset ..< byteOffset + byteCount]),
                           ignoreMerges: preTokenizer.ignoreMerges, scratch: &scratch, output: &output)
            byteOffset += byteCount
            codepointOffset += length
        }
    }

    /// Splits `text` at occurrences of special-token texts, longest tokens first
    /// (llama.cpp `tokenizer_st_partition`).
    private func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(start: 0, count: text.count)]
        let strings = vocabulary.strings
        // Where each byte occurs, built on demand: a needle is only compared where its first byte is,
        // so hundreds of special tokens cost little on text that rarely contains '<' or '['.
        var positionsOfByte = [[Int]?](repeating: nil, count: 256)
        for id in specialTokens {
            let attributes = vocabulary.attributes[Int(id)]
            if !parseSpecial && !attributes.isDisjoint(with: [.control, .unknown]) { continue }
            let needle = strings.bytes(Int(id))
            guard let first = needle.first else { continue }
            if positionsOfByte[Int(first)] == nil {
                positionsOfByte[Int(first)] = text.indices.filter { text[$0] == first }
            }
            let candidates = positionsOfByte[Int(first)]!
            if candidates.isEmpty { continue }
            var next = [Fragment]()
            var changed = false
            for fragment in fragments {
                guard case var .text(start, count) = fragment else { next.append(fragment); continue }
                let end = start + count
                var candidate = Self.firstIndex(in: candidates, atLeast: start)
                while count > 0 {
                    // Leftmost occurrence within start ..< end.
                    var match: Int? = nil
                    while candidate < candidates.count && candidates[candidate] + needle.count <= end {
                        let position = candidates[candidate]
                        candidate += 1
                        if position >= start && text[position ..< position + needle.count].elementsEqual(needle) {
                            match = position
                            break
                        }
                    }
                    guard let match else { break }
                    changed = true
                    var leftCount = match - start
                    if attributes.contains(.lstrip) {
                        while leftCount > 0 && isCSpace(text[start + leftCount - 1]) { leftCount -= 1 }
                    }
                    if leftCount > 0 { next.append(.text(start: start, count: leftCount)) }
                    next.append(.token(id))
                    start = match + needle.count
                    if attributes.contains(.rstrip) {
                        while start < end && isCSpace(text[start]) { start += 1 }
                    }
                    count = end - start
                }
                if count > 0 { next.append(.text(start: start, count: count)) }
            }
            if changed { fragments = next }
        }
        return fragments
    }

    /// Index of the first element of sorted `positions` that is ≥ `value`.
    private static func firstIndex(in positions: [Int], atLeast value: Int) -> Int {
        var low = 0, high = positions.count
        while low < high {
            let mid = (low + high) / 2
            if positions[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    @inline(__always) private func isCSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    // MARK: - Tokens

    /// The vocabulary text of `id` as stored in the model (byte-level or ▁-escaped form);
    /// "" for an id outside the vocabulary.
    public func tokenText(_ id: Int32) -> String {
        guard id >= 0 && Int(id) < vocabularySize else { return "" }
        return String(decoding: vocabulary.strings.bytes(Int(id)), as: UTF8.self)
    }

    /// The raw bytes `id` stands for, special tokens included as their text: byte-level BPE
    /// characters mapped back to bytes, SentencePiece ▁ → space and `<0xXX>` → that byte.
    /// A piece may be part of a UTF-8 character; `TextStreamDecoder` joins them. Empty for an id
    /// outside the vocabulary.
    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0 && Int(id) < vocabularySize else { return [] }
        return Array(pieces.bytes(Int(id)))
    }

    func piece(_ id: Int32) -> ArraySlice<UInt8> {
        guard id >= 0 && Int(id) < vocabularySize else { return [] }
        return pieces.bytes(Int(id))
    }

    /// Control token (BOS, EOS, `<|im_start|>`, …); decoding renders these as nothing by default.
    public func isControl(_ id: Int32) -> Bool {
        guard id >= 0 && Int(id) < vocabularySize else { return false }
        return vocabulary.attributes[Int(id)].contains(.control)
    }

    /// Shown only when special tokens are rendered (control or unknown; llama.cpp's `attr_special`).
    func isHiddenByDefault(_ id: Int32) -> Bool {
        guard id >= 0 && Int(id) < vocabularySize else { return true }
        return !vocabulary.attributes[Int(id)].isDisjoint(with: [.control, .unknown])
    }

    /// Generation should stop at `id` (EOS, end of turn, and llama.cpp's other end-of-generation names).
    public func isEndOfGeneration(_ id: Int32) -> Bool { vocabulary.endOfGeneration.contains(id) }

    /// The id of the token whose text is exactly `text`, if any (for example `"<|im_start|>"`).
    public func id(ofTokenText text: String) -> Int32? {
        guard let id = vocabulary.strings.find(Array(text.utf8)), Int(id) < vocabularySize else { return nil }
        return id
    }

    /// Text of a whole id sequence; invalid UTF-8 becomes U+FFFD. Control tokens are left out
    /// unless `renderSpecial`.
    public func decode(_ ids: [Int32], renderSpecial: Bool = false) -> String {
        var result = [UInt8]()
        for id in ids where renderSpecial || !isHiddenByDefault(id) { result.append(contentsOf: piece(id)) }
        return String(decoding: result, as: UTF8.self)
    }
}

/// Token ids → text only, built from the same `tokenizer.ggml.*` metadata as `Tokenizer` but
/// without the encoder's tables (a fraction of the memory). Renders exactly as `Tokenizer.decode`:
/// byte-level/SentencePiece pieces concatenated, control and unknown tokens hidden, invalid UTF-8
/// repaired with U+FFFD.
public struct TokenDecoder: Sendable {
    public let vocabularySize: Int
    private let pieces: ByteStringPieces
    private let hidden: [Bool]

    public init(gguf: GGUFFile) throws(TokenizerError) { try self.init(metadata: gguf.metadata) }

    public init(metadata: [String: GGUFValue]) throws(TokenizerError) {
        let vocabulary = try Vocabulary(metadata: metadata, withMerges: false)
        vocabularySize = vocabulary.tokenCount
        pieces = ByteStringPieces(vocabulary: vocabulary)
        hidden = (0..<vocabulary.tokenCount).map { !vocabulary.attributes[$0].isDisjoint(with: [.control, .unknown]) }
    }

    /// The bytes token `id` renders as (empty for ids outside the vocabulary).
    public func bytes(of id: Int32) -> ArraySlice<UInt8> {
        guard id >= 0 && Int(id) < vocabularySize else { return [] }
        return pieces.bytes(Int(id))
    }

    /// Text of `ids`; control/unknown tokens render as nothing unless `renderSpecial`.
    public func decode(_ ids: [Int32], renderSpecial: Bool = false) -> String {
        var result = [UInt8]()
        for id in ids where id >= 0 && Int(id) < vocabularySize && (renderSpecial || !hidden[Int(id)]) {
            result.append(contentsOf: pieces.bytes(Int(id)))
        }
        return String(decoding: result, as: UTF8.self)
    }
}

/// Rendered bytes of every token, in one buffer.
struct ByteStringPieces: Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int32] = [0]

    init(vocabulary: Vocabulary) {
        let strings = vocabulary.strings
        starts.reserveCapacity(vocabulary.tokenCount + 1)
        for id in 0 ..< vocabulary.tokenCount {
            let text = strings.bytes(id)
            let attributes = vocabulary.attributes[id]
            if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) {
                storage.append(contentsOf: text)
            } else if attributes.contains(.normal) {
                switch vocabulary.kind {
                case .sentencePiece: storage.append(contentsOf: Self.unescapeSpaces(text))
                case .bytePairEncoding: text.withUnsafeBufferPointer { ByteLevel.decode($0, into: &storage) }
                }
            } else if attributes.contains(.byte) {
                // "<0xXX>"
                let hex = Array(text)
                if hex.count == 6, let byte = UInt8(String(decoding: hex[3 ..< 5], as: UTF8.self), radix: 16) {
                    storage.append(byte)
                }
            }
            starts.append(Int32(storage.count))
        }
    }

    func bytes(_ id: Int) -> ArraySlice<UInt8> { storage[Int(starts[id]) ..< Int(starts[id + 1])] }

    /// U+2581 (E2 96 81) → space.
    static func unescapeSpaces(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == 0xE2 && i + 2 < text.endIndex && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
                result.append(0x20)
                i += 3
            } else {
                result.append(text[i])
                i += 1
            }
        }
        return result
    }
}
