import BoraCore
import BoraGGUF

/// Token attributes, as llama.cpp's `llama_token_attr` bits.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16
    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    static let lstrip = TokenAttributes(rawValue: 1 << 7)
    static let rstrip = TokenAttributes(rawValue: 1 << 8)

    /// From `tokenizer.ggml.token_type` (llama_token_type: 0 undefined, 1 normal, 2 unknown,
    /// 3 control, 4 user-defined, 5 unused, 6 byte).
    init(tokenType: Int) {
        switch tokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

/// Everything read from `tokenizer.ggml.*`, with llama.cpp's defaults and fix-ups applied
/// (llama-vocab.cpp `llama_vocab::impl::load`).
struct Vocabulary: Sendable {
    enum Kind: Sendable { case bytePairEncoding, sentencePiece }

    var kind: Kind
    var preTokenizer: PreTokenizer?
    /// Token texts at 0 ..< tokenCount, then BPE merge strings that are not tokens.
    var strings: ByteStringTable
    var tokenCount: Int
    var scores: [Float]
    var attributes: [TokenAttributes]
    var merges: [UInt64: BytePairEncoder.Merge] = [:]
    /// Byte-level BPE with merges: the string index of every byte's alphabet character (added to
    /// `strings` after the tokens and merge results, so the encoder shares this table); else empty.
    var symbolOfByte: [Int32] = []

    var bosID: Int32?
    var eosID: Int32?
    var eotID: Int32?
    var eomID: Int32?
    var unknownID: Int32?
    var paddingID: Int32?
    var addBOS: Bool
    var addEOS: Bool
    var addSpacePrefix: Bool
    var endOfGeneration: Set<Int32> = []

    /// `withMerges: false` skips the BPE merge table (decode-only users: ~3× less memory).
    init(metadata: [String: GGUFValue], withMerges: Bool = true) throws(TokenizerError) {
        func string(_ key: String) throws(TokenizerError) -> String? {
            guard let value = metadata[key] else { return nil }
            guard let s = value.string else { throw .wrongType(key: key, expected: "a string") }
            return s
        }
        func bool(_ key: String) throws(TokenizerError) -> Bool? {
            guard let value = metadata[key] else { return nil }
            guard let b = value.bool else { throw .wrongType(key: key, expected: "a bool") }
            return b
        }

        guard let model = try string("tokenizer.ggml.model") else { throw .missingKey("tokenizer.ggml.model") }
        let preName = try string("tokenizer.ggml.pre") ?? ""

        // Defaults per tokenizer type.
        var bos: Int32? = 1, eos: Int32? = 2, unknown: Int32? = 0, padding: Int32? = nil
        switch model {
        case "llama":
            kind = .sentencePiece
            preTokenizer = nil
            addBOS = true
            addSpacePrefix = true
        case "gpt2":
            kind = .bytePairEncoding
            guard let pre = PreTokenizer.named(preName) else { throw .unsupportedPreTokenizer(preName) }
            preTokenizer = pre
            bos = pre.hasNoBOS ? nil : 11
            eos = 11
            unknown = nil
            addBOS = pre.addsBOSByDefault
            addSpacePrefix = false
        default:
            throw .unsupportedModel(model)
        }
        addEOS = false
        if let prefix = try bool("tokenizer.ggml.add_space_prefix") { addSpacePrefix = prefix }

        // Tokens, scores, types.
        guard let tokensValue = metadata["tokenizer.ggml.tokens"] else { throw .missingKey("tokenizer.ggml.tokens") }
        guard let tokenArray = tokensValue.array, tokenArray.elementType == .string else {
            throw .wrongType(key: "tokenizer.ggml.tokens", expected: "an array of strings")
        }
        guard !tokenArray.isEmpty else { throw .emptyVocabulary }
        let n = tokenArray.count
        tokenCount = n

        scores = [Float](repeating: 0, count: n)
        if let value = metadata["tokenizer.ggml.scores"] {
            guard let array = value.array, array.elementType == .float32 || array.elementType == .int32 else {
                throw .wrongType(key: "tokenizer.ggml.scores", expected: "an array of float32 or int32")
            }
            guard array.count >= n else { throw .arrayTooShort(key: "tokenizer.ggml.scores", count: array.count, tokenCount: n) }
            if let floats = array.floats {
                for i in 0 ..< n { scores[i] = floats[i] }
            } else if let ints = array.integers {
                for i in 0 ..< n { scores[i] = Float(ints[i]) }
            }
        }

        attributes = [TokenAttributes](repeating: .normal, count: n)
        if let value = metadata["tokenizer.ggml.token_type"] {
            guard let array = value.array, array.elementType == .int32, let types = array.integers else {
                throw .wrongType(key: "tokenizer.ggml.token_type", expected: "an array of int32")
            }
            guard types.count >= n else { throw .arrayTooShort(key: "tokenizer.ggml.token_type", count: types.count, tokenCount: n) }
            for i in 0 ..< n { attributes[i] = TokenAttributes(tokenType: types[i]) }
        }

        // Tokens, then merge results that are not tokens (a fraction of n), then 256 byte symbols.
        strings = ByteStringTable(minimumCapacity: n * 3 / 2 + 256)
        for i in 0 ..< n {
            // llama.cpp renames empty tokens so every id keeps a distinct text.
            let (index, inserted) = tokenArray.withStringBytes(i) { bytes in
                bytes.isEmpty ? strings.insert(Array("[EMPTY_\(i)]".utf8)) : strings.insert(bytes)
            }
            if !inserted {
                throw .duplicateToken(text: tokenArray[i].string ?? "", firstID: Int(index), secondID: i)
            }
        }

        if kind == .bytePairEncoding && withMerges {
            try loadMerges(metadata)
            // Every byte's alphabet character gets a string index, token or not.
            symbolOfByte = (0 ..< 256).map { strings.insert(ByteLevel.utf8OfByte[$0]).index }
        }

        // Special token ids: a default outside the vocabulary is dropped; a stored id outside it is ignored.
        func id(_ key: String, _ fallback: Int32?) throws(TokenizerError) -> Int32? {
            var result = fallback.flatMap { Int($0) < n ? $0 : nil }
            if let value = metadata[key] {
                guard let stored = value.int else { throw .wrongType(key: key, expected: "an integer") }
                if stored >= 0 && stored < n { result = Int32(stored) }
            }
            return result
        }
        bosID = try id("tokenizer.ggml.bos_token_id", bos)
        eosID = try id("tokenizer.ggml.eos_token_id", eos)
        eotID = try id("tokenizer.ggml.eot_token_id", nil)
        eomID = try id("tokenizer.ggml.eom_token_id", nil)
        unknownID = try id("tokenizer.ggml.unknown_token_id", unknown)
        paddingID = try id("tokenizer.ggml.padding_token_id", padding)
        if let value = try bool("tokenizer.ggml.add_bos_token") { addBOS = value }
        if let value = try bool("tokenizer.ggml.add_eos_token") { addEOS = value }

        applyTextRules(metadata: metadata, preName: preName)
    }

    /// `tokenizer.ggml.merges`: "left right" per rule, rank = position; the first rule for a pair wins.
    private mutating func loadMerges(_ metadata: [String: GGUFValue]) throws(TokenizerError) {
        guard let value = metadata["tokenizer.ggml.merges"] else { throw .missingKey("tokenizer.ggml.merges") }
        guard let rules = value.array, rules.elementType == .string else {
            throw .wrongType(key: "tokenizer.ggml.merges", expected: "an array of strings")
        }
        merges.reserveCapacity(rules.count)
        var joined: [UInt8] = []  // reused for every merge result
        joined.reserveCapacity(64)
        for rank in 0 ..< rules.count {
            let error: TokenizerError? = rules.withStringBytes(rank) { bytes in
                func rule() -> String { String(decoding: bytes, as: UTF8.self) }
                // llama.cpp splits at the first space after the first byte.
                guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20), space + 1 < bytes.count else {
                    return .malformedMerge(index: rank, rule: rule())
                }
                let left = UnsafeBufferPointer(rebasing: bytes[..<space])
                let right = UnsafeBufferPointer(rebasing: bytes[(space + 1)...])
                guard let leftID = strings.find(left), Int(leftID) < tokenCount else {
                    return .mergeReferencesUnknownToken(index: rank, rule: rule(), piece: String(decoding: left, as: UTF8.self))
                }
                guard let rightID = strings.find(right), Int(rightID) < tokenCount else {
                    return .mergeReferencesUnknownToken(index: rank, rule: rule(), piece: String(decoding: right, as: UTF8.self))
                }
                let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
                if merges[key] == nil {
                    joined.removeAll(keepingCapacity: true)
                    joined.append(contentsOf: left)
                    joined.append(contentsOf: right)
                    let result = strings.insert(joined).index
                    merges[key] = BytePairEncoder.Merge(rank: Int32(rank), result: result)
                }
                return nil
            }
            if let error { throw error }
        }
    }

    /// llama.cpp's detection of end-of-turn, FIM and end-of-generation tokens by their text, which
    /// also marks them as control tokens, plus its per-model attribute fix-ups.
    private mutating func applyTextRules(metadata: [String: GGUFValue], preName: String) {
        let n = tokenCount
        let table = strings
        func text(_ i: Int) -> String { String(decoding: table.bytes(i), as: UTF8.self) }
        func ids(of candidates: [String]) -> [Int32] {
            candidates.compactMap { text in strings.find(Array(text.utf8)).flatMap { Int($0) < n ? $0 : nil } }
        }
        func markControl(_ id: Int32) { attributes[Int(id)].insert(.control) }
        // llama.cpp takes the first match in hash-map order; the candidate order here is the
        // listed order, which picks the conventional token when several are present.
        func detect(_ current: Int32?, _ candidates: [String]) -> Int32? {
            if let current { return current }
            guard let found = ids(of: candidates).first else { return nil }
            markControl(found)
            return found
        }
        eotID = detect(eotID, ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                               "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"])
        eomID = detect(eomID, ["<|eom_id|>"])
        _ = detect(nil, ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                         "<|code_prefix|>", "<|prefix|>"])
        _ = detect(nil, ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                         "<|code_suffix|>", "<|suffix|>"])
        _ = detect(nil, ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                         "<|code_middle|>", "<|middle|>"])
        let fimPad = detect(nil, ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"])
        let fimRep = detect(nil, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"])
        let fimSep = detect(nil, ["<|file_sep|>"])

        for i in 0 ..< n where attributes[i].contains(.control) && text(i).hasSubstring("unused") {
            attributes[i].insert(.unused)
        }

        var eog = Set([fimPad, fimRep, fimSep].compactMap { $0 })
        for id in ids(of: ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                           "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                           "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                           "<｜end▁of▁sentence｜>", "[e~["]) {
            eog.insert(id)
            markControl(id)
        }
        for id in ids(of: ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]) {
            attributes[Int(id)] = .userDefined  // gpt-oss: always rendered
        }
        for id in [eosID, eotID, eomID].compactMap({ $0 }) { eog.insert(id) }
        let eogTexts = Set(eog.map { text(Int($0)) })
        if let end = ids(of: ["<|end|>"]).first, eog.contains(end),
           (eogTexts.contains("<|return|>") && eogTexts.contains("<|call|>"))
            || ((eogTexts.contains("<|call|>") || eogTexts.contains("<|calls|>")) && eogTexts.contains("<|flush|>")) {
            eog.remove(end)
            attributes[Int(end)] = .userDefined
        }
        if let s = ids(of: ["</s>"]).first, eog.contains(s),
           eogTexts.contains("<|tool_response>") || eogTexts.contains("<|plamo:eos|>") {
            eog.remove(s)
            attributes[Int(s)] = .normal
        }
        endOfGeneration = eog

        // Per-model strip attributes (llama.cpp keys them on names in the metadata).
        let modelName = (metadata["general.name"]?.string ?? "").lowercased()
        let architecture = metadata["general.architecture"]?.string ?? ""
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: { preName.hasSubstring($0) })
            || ["nomic-bert-moe", "jina-bert-v3"].contains(where: { architecture.hasSubstring($0) }) {
            for id in ids(of: ["<mask>"]) { attributes[Int(id)].insert(.lstrip) }
        } else if modelName.hasSubstring("phi-3") || modelName.hasSubstring("phi3") {
            for i in 0 ..< n where isSpecialForPartition(Int32(i)) { attributes[i].insert(.rstrip) }
            for id in ids(of: ["</s>"]) { attributes[Int(id)].insert(.rstrip) }
            for id in ids(of: ["<unk>", "<s>", "<|endoftext|>"]) { attributes[Int(id)].remove(.rstrip) }
        } else if modelName.hasSubstring("modern-bert") {
            for id in ids(of: ["[MASK]"]) { attributes[Int(id)].insert(.lstrip) }
        }
    }

    /// Tokens matched in raw text before tokenizing (llama.cpp `cache_special_tokens`).
    func isSpecialForPartition(_ id: Int32) -> Bool {
        !attributes[Int(id)].isDisjoint(with: [.control, .userDefined, .unknown])
    }
}
