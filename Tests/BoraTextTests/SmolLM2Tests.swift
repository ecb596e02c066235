// SmolLM2 (tokenizer.ggml.pre = "smollm") against goldens from Hugging Face `tokenizers`, an
// implementation independent of llama.cpp and of BoraText (Tests/Fixtures/text/make_goldens.py).

import Foundation
import Testing
import BoraGGUF
@testable import BoraText

@Suite struct SmolLM2Tests {
    struct Case: Decodable {
        let text: String
        let ids: [Int32]
        let ids_parse_special: [Int32]
    }
    struct Goldens: Decodable {
        let model: String
        let cases: [Case]
    }

    static func load() throws -> (Tokenizer, Goldens)? {
        guard let path = Paths.smolLM2 else {
            print("SmolLM2Tests skipped: SmolLM2 GGUF absent; run `bora models fetch` (BORA_MODELS or ~/.cache/bora/models)")
            return nil
        }
        let data = try Data(contentsOf: Paths.fixtures.appendingPathComponent("smollm2_goldens.json"))
        return (try Tokenizer(gguf: GGUFFile(path: path)), try JSONDecoder().decode(Goldens.self, from: data))
    }

    @Test func metadata() throws {
        guard let (tokenizer, _) = try Self.load() else { return }
        #expect(tokenizer.kind == .bytePairEncoding)
        #expect(tokenizer.preTokenizerName == "smollm")
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.bosID == 1)
        #expect(tokenizer.eosID == 2)
        #expect(tokenizer.eotID == 2)  // <|im_end|>
        #expect(tokenizer.addsBOS == false)
        #expect(tokenizer.tokenText(1) == "<|im_start|>")
        #expect(tokenizer.isControl(1) && tokenizer.isControl(2) && !tokenizer.isControl(19556))
        #expect(tokenizer.isEndOfGeneration(2) && tokenizer.isEndOfGeneration(0) && !tokenizer.isEndOfGeneration(1))
        #expect(tokenizer.id(ofTokenText: "<|im_start|>") == 1)
    }

    @Test func matchesHuggingFaceTokenizers() throws {
        guard let (tokenizer, goldens) = try Self.load() else { return }
        var passed = 0
        for golden in goldens.cases {
            let plain = tokenizer.encode(golden.text, addSpecial: true, parseSpecial: false)
            let parsed = tokenizer.encode(golden.text, addSpecial: true, parseSpecial: true)
            #expect(plain == golden.ids, "\(String(reflecting: golden.text))")
            #expect(parsed == golden.ids_parse_special, "parseSpecial: \(String(reflecting: golden.text))")
            #expect(tokenizer.decode(plain) == golden.text)
            if plain == golden.ids && parsed == golden.ids_parse_special { passed += 1 }
        }
        print("SmolLM2 goldens (HF tokenizers): \(passed)/\(goldens.cases.count) passed")
    }

    @Test func chatPromptRoundTrip() throws {
        guard let (tokenizer, _) = try Self.load() else { return }
        let prompt = "<|im_start|>user\nTurn on the lights<|im_end|>\n<|im_start|>assistant\n"
        let ids = tokenizer.encode(prompt, parseSpecial: true)
        #expect(ids.first == 1)
        #expect(ids.filter { $0 == 2 }.count == 1)
        #expect(tokenizer.decode(ids, renderSpecial: true) == prompt)
        #expect(tokenizer.decode(ids) == "user\nTurn on the lights\nassistant\n")
    }
}
