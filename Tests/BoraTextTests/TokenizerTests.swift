// Unit tests on in-memory vocabularies: algorithms, special tokens, typed errors.

import Foundation
import Testing
import BoraGGUF
@testable import BoraText

@Suite struct TokenizerTests {
    @Test func sentencePieceMergesByScoreAndFallsBackToBytes() throws {
        let tokenizer = try Tokenizer(metadata: SyntheticVocab.sentencePiece())
        #expect(tokenizer.kind == .sentencePiece)
        #expect(tokenizer.addsBOS && tokenizer.bosID == 1 && tokenizer.eosID == 2 && tokenizer.unknownID == 0)
        let hello = try #require(tokenizer.id(ofTokenText: "▁hello"))
        #expect(tokenizer.encode("hello", addSpecial: false) == [hello])
        #expect(tokenizer.encode("hello") == [1, hello])
        // "🦙" has no piece: four <0xXX> byte tokens (ids 3 + byte).
        let llama = Array("🦙".utf8).map { Int32($0) + 3 }
        #expect(tokenizer.encode("🦙", addSpecial: false) == [tokenizer.id(ofTokenText: "▁")!] + llama)
        #expect(tokenizer.bytes(of: hello) == Array(" hello".utf8))
        #expect(tokenizer.bytes(of: 3 + 0x41) == [0x41])
        #expect(tokenizer.decode(tokenizer.encode("hello 🦙 你")) == " hello 🦙 你")
    }

    @Test func sentencePieceSpacePrefixFollowsMetadata() throws {
        var metadata = SyntheticVocab.sentencePiece()
        metadata["tokenizer.ggml.add_space_prefix"] = .bool(false)
        metadata["tokenizer.ggml.add_bos_token"] = .bool(false)
        let tokenizer = try Tokenizer(metadata: metadata)
        let h = try #require(tokenizer.id(ofTokenText: "h"))
        let el = try #require(tokenizer.id(ofTokenText: "el"))
        let lo = try #require(tokenizer.id(ofTokenText: "lo"))
        // Without the prefix "hello" cannot use "▁hello": h + el + lo (by score order).
        #expect(tokenizer.encode("hello") == [h, el, lo])
    }

    @Test func bytePairsMergeByRank() throws {
        let tokenizer = try Tokenizer(metadata: SyntheticVocab.bytePairs())
        let ids = { (text: String) in try #require(tokenizer.id(ofTokenText: text)) }
        // " hello" → Ġhel + lo (Ġ h, then e l, then Ġh el, then l o).
        #expect(tokenizer.encode(" hello", addSpecial: false) == [try ids("Ġhel"), try ids("lo")])
        #expect(tokenizer.decode(tokenizer.encode(" hello wörld 🦙")) == " hello wörld 🦙")
        #expect(tokenizer.bytes(of: try ids("Ġhel")) == Array(" hel".utf8))
    }

    @Test func controlTokensAreSplitOnlyWhenParsingSpecial() throws {
        let tokenizer = try Tokenizer(metadata: SyntheticVocab.bytePairs())
        let end = try #require(tokenizer.id(ofTokenText: "<|im_end|>"))
        #expect(tokenizer.isControl(end))
        #expect(tokenizer.eotID == end)
        #expect(tokenizer.isEndOfGeneration(end))
        #expect(tokenizer.encode("a<|im_end|>b", parseSpecial: true) ==
                tokenizer.encode("a", addSpecial: false) + [end] + tokenizer.encode("b", addSpecial: false))
        #expect(!tokenizer.encode("a<|im_end|>b", parseSpecial: false).contains(end))
        #expect(tokenizer.encode("<|im_end|><|im_end|>", parseSpecial: true) == [end, end])
        #expect(tokenizer.encode("<|im_end|<|im_end|>", parseSpecial: true).last == end)
        #expect(tokenizer.encode("<|im_end|<|im_end|>", parseSpecial: true).filter { $0 == end }.count == 1)
        #expect(tokenizer.decode([end]) == "")
        #expect(tokenizer.decode([end], renderSpecial: true) == "<|im_end|>")
    }

    @Test func outOfRangeIdsAreHarmless() throws {
        let tokenizer = try Tokenizer(metadata: SyntheticVocab.bytePairs())
        #expect(tokenizer.bytes(of: -1).isEmpty)
        #expect(tokenizer.bytes(of: Int32(tokenizer.vocabularySize)).isEmpty)
        #expect(tokenizer.tokenText(1_000_000) == "")
        #expect(!tokenizer.isControl(-5))
    }

    static let damaged: [(String, TokenizerError)] = [
        ("missing model", .missingKey("tokenizer.ggml.model")),
        ("unsupported model", .unsupportedModel("bert")),
        ("unsupported pre", .unsupportedPreTokenizer("tekken")),
        ("missing tokens", .missingKey("tokenizer.ggml.tokens")),
        ("tokens not strings", .wrongType(key: "tokenizer.ggml.tokens", expected: "an array of strings")),
        ("empty tokens", .emptyVocabulary),
        ("missing merges", .missingKey("tokenizer.ggml.merges")),
        ("merge without space", .malformedMerge(index: 0, rule: "Ġh")),
        ("merge of unknown piece", .mergeReferencesUnknownToken(index: 1, rule: "zz q", piece: "zz")),
        ("short token types", .arrayTooShort(key: "tokenizer.ggml.token_type", count: 2, tokenCount: 261)),
        ("bool as string", .wrongType(key: "tokenizer.ggml.add_bos_token", expected: "a bool")),
        ("duplicate token", .duplicateToken(text: "a", firstID: 0, secondID: 2)),
    ]

    static func damage(_ name: String, _ m: inout [String: GGUFValue]) {
        switch name {
        case "missing model": m["tokenizer.ggml.model"] = nil
        case "unsupported model": m["tokenizer.ggml.model"] = .string("bert")
        case "unsupported pre": m["tokenizer.ggml.pre"] = .string("tekken")
        case "missing tokens": m["tokenizer.ggml.tokens"] = nil
        case "tokens not strings": m["tokenizer.ggml.tokens"] = .array(GGUFArray(int32s: [1]))
        case "empty tokens": m["tokenizer.ggml.tokens"] = .array(GGUFArray(strings: []))
        case "missing merges": m["tokenizer.ggml.merges"] = nil
        case "merge without space": m["tokenizer.ggml.merges"] = .array(GGUFArray(strings: ["Ġh"]))
        case "merge of unknown piece": m["tokenizer.ggml.merges"] = .array(GGUFArray(strings: ["Ġ h", "zz q"]))
        case "short token types": m["tokenizer.ggml.token_type"] = .array(GGUFArray(int32s: [1, 1]))
        case "bool as string": m["tokenizer.ggml.add_bos_token"] = .string("yes")
        case "duplicate token":
            m["tokenizer.ggml.tokens"] = .array(GGUFArray(strings: ["a", "b", "a"]))
            m["tokenizer.ggml.token_type"] = nil
            m["tokenizer.ggml.merges"] = .array(GGUFArray(strings: []))
        default: Issue.record("unknown damage \(name)")
        }
    }

    @Test(arguments: damaged)
    func malformedMetadataThrowsTypedErrors(name: String, expected: TokenizerError) throws {
        var metadata = SyntheticVocab.bytePairs()
        Self.damage(name, &metadata)
        #expect(throws: expected) { try Tokenizer(metadata: metadata) }
        #expect(!expected.description.isEmpty)
    }

    @Test func everySupportedPreTokenizerLoads() throws {
        for name in PreTokenizer.supportedNames {
            #expect(throws: Never.self) { try Tokenizer(metadata: SyntheticVocab.bytePairs(pre: name)) }
        }
    }
}
