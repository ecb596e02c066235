// The stream decoder never emits part of a UTF-8 character, whatever the token boundaries.

import Foundation
import Testing
import BoraGGUF
@testable import BoraText

@Suite struct TextStreamDecoderTests {
    static let samples = ["🦙 llama", "你好，世界", "👨‍👩‍👧 family", "naïve café ½", "日本語のテキスト🚀✨", "a🦙b你c"]

    /// Feeds `ids` one at a time; every piece must be valid on its own and the whole must equal `text`.
    static func checkStreaming(_ tokenizer: Tokenizer, _ text: String, ids: [Int32]) -> Int {
        var stream = TextStreamDecoder(tokenizer: tokenizer)
        var output = ""
        var heldBack = 0
        for id in ids {
            let piece = stream.append(id)
            if piece.isEmpty { heldBack += 1 }
            #expect(!piece.unicodeScalars.contains("\u{FFFD}"), "broken character in \(String(reflecting: piece))")
            output += piece
        }
        output += stream.flush()
        #expect(output == text)
        return heldBack
    }

    @Test func sentencePieceByteFallback() throws {
        let tokenizer = try Tokenizer(metadata: SyntheticVocab.sentencePiece())
        var heldBack = 0
        for text in Self.samples {
            heldBack += Self.checkStreaming(tokenizer, " " + text, ids: tokenizer.encode(text, addSpecial: false))
        }
        #expect(heldBack > 0)
        // 🦙 = F0 9F A6 99 as four byte tokens: nothing until the last.
        var stream = TextStreamDecoder(tokenizer: tokenizer)
        let pieces = Array("🦙".utf8).map { stream.append(Int32($0) + 3) }
        #expect(pieces == ["", "", "", "🦙"])
    }

    @Test func byteLevelBPE() throws {
        let tokenizer = try Tokenizer(metadata: SyntheticVocab.bytePairs())
        for text in Self.samples {
            _ = Self.checkStreaming(tokenizer, text, ids: tokenizer.encode(text, addSpecial: false))
        }
    }

    @Test func realSmolLM2SplitsEmojiAcrossTokens() throws {
        guard let path = Paths.smolLM2 else {
            print("realSmolLM2SplitsEmojiAcrossTokens skipped: SmolLM2 GGUF absent; run `bora models fetch`")
            return
        }
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
        var heldBack = 0
        for text in Self.samples { heldBack += Self.checkStreaming(tokenizer, text, ids: tokenizer.encode(text)) }
        #expect(heldBack > 0)
    }

    @Test func controlTokensRenderOnlyWhenAsked() throws {
        let tokenizer = try Tokenizer(metadata: SyntheticVocab.bytePairs())
        let end = try #require(tokenizer.id(ofTokenText: "<|im_end|>"))
        var quiet = TextStreamDecoder(tokenizer: tokenizer)
        #expect(quiet.append(end) == "")
        var loud = TextStreamDecoder(tokenizer: tokenizer, rendersControlTokens: true)
        #expect(loud.append(end) == "<|im_end|>")
    }

    @Test func holdsBackOnlyIncompleteTails() {
        let cases: [([UInt8], Int)] = [
            ([], 0), ([0x41], 1), ([0xF0], 0), ([0xF0, 0x9F, 0xA6], 0), ([0xF0, 0x9F, 0xA6, 0x99], 4),
            ([0x41, 0xE4, 0xBD], 1), ([0x41, 0xE4, 0xBD, 0xA0], 4), ([0x80, 0x80], 2), ([0xFF], 1),
            ([0xC3, 0xA9, 0xC3], 2),
        ]
        for (bytes, expected) in cases {
            #expect(TextStreamDecoder.completePrefixLength(bytes) == expected, "\(bytes)")
        }
        // An unfinished character at the end becomes U+FFFD on flush, not silence.
        let tokenizer = try! Tokenizer(metadata: SyntheticVocab.sentencePiece())
        var stream = TextStreamDecoder(tokenizer: tokenizer)
        #expect(stream.append(3 + 0xF0) == "")
        #expect(stream.hasPendingBytes)
        #expect(stream.flush() == "\u{FFFD}")
    }
}
