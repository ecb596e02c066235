// Tiny vocabularies built in memory, so unit tests need no model files.

import BoraGGUF
@testable import BoraText

enum SyntheticVocab {
    /// A SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, and a few pieces with scores.
    static func sentencePiece(pieces: [(String, Float)] = [("▁", -1), ("▁h", -2), ("el", -3), ("lo", -4),
                                                            ("▁hel", -5), ("▁hello", -1.5), ("你", -6)]) -> [String: GGUFValue] {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types: [Int32] = [2, 3, 3]
        var scores: [Float] = [0, 0, 0]
        for byte in 0 ..< 256 {
            tokens.append(String(format: "<0x%02X>", byte))
            types.append(6)
            scores.append(0)
        }
        for letter in "abcdefghijklmnopqrstuvwxyz" {
            tokens.append(String(letter))
            types.append(1)
            scores.append(-10)
        }
        for (text, score) in pieces {
            tokens.append(text)
            types.append(1)
            scores.append(score)
        }
        return [
            "tokenizer.ggml.model": .string("llama"),
            "tokenizer.ggml.tokens": .array(GGUFArray(strings: tokens)),
            "tokenizer.ggml.scores": .array(GGUFArray(float32s: scores)),
            "tokenizer.ggml.token_type": .array(GGUFArray(int32s: types)),
        ]
    }

    /// A byte-level BPE vocabulary: the 256 alphabet characters, "Ġh", "el", "Ġhel", "lo", and
    /// "<|im_end|>" as a control token.
    static func bytePairs(pre: String = "gpt-2", merges: [String] = ["Ġ h", "e l", "Ġh el", "l o"]) -> [String: GGUFValue] {
        var tokens = ByteLevel.codepointOfByte.map { String(Unicode.Scalar($0)!) }
        tokens += ["Ġh", "el", "Ġhel", "lo", "<|im_end|>"]
        var types = [Int32](repeating: 1, count: tokens.count)
        types[types.count - 1] = 3
        return [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string(pre),
            "tokenizer.ggml.tokens": .array(GGUFArray(strings: tokens)),
            "tokenizer.ggml.merges": .array(GGUFArray(strings: merges)),
            "tokenizer.ggml.token_type": .array(GGUFArray(int32s: types)),
            "tokenizer.ggml.bos_token_id": .uint32(UInt32(tokens.count - 1)),
            "tokenizer.ggml.eos_token_id": .uint32(UInt32(tokens.count - 1)),
        ]
    }
}
