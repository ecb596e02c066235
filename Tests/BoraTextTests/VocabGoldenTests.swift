// Golden tests against llama.cpp's own tokenizer test files (models/ggml-vocab-*.gguf.inp/.out,
// produced by the original Hugging Face tokenizers), fetched by `tools/vocabs`.

import Foundation
import Testing
import BoraGGUF
@testable import BoraText

@Suite struct VocabGoldenTests {
    /// Vocabularies whose every case must pass.
    static let required: Set<String> = ["llama-spm", "llama-bpe", "gpt-2", "qwen2", "starcoder", "refact",
                                        "deepseek-llm", "deepseek-coder", "falcon", "mpt", "command-r", "phi-3", "qwen35"]

    @Test func everySupportedVocabularyMatchesLlamaCpp() throws {
        guard Paths.vocabsPresent else {
            print("VocabGoldenTests skipped: no llama.cpp vocabularies in \(Paths.vocabs); run tools/vocabs")
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: Paths.vocabs)
            .filter { $0.hasPrefix("ggml-vocab-") && $0.hasSuffix(".gguf") }.sorted()
        var checked = Set<String>()
        for file in names {
            let name = String(file.dropFirst("ggml-vocab-".count).dropLast(".gguf".count))
            let path = Paths.vocabs + "/" + file
            guard FileManager.default.fileExists(atPath: path + ".inp") else { continue }
            let tokenizer: Tokenizer
            do {
                tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
            } catch let error as TokenizerError {
                print("vocab \(name): unsupported (\(error))")
                #expect(!Self.required.contains(name), "\(name): \(error)")
                continue
            }
            let goldens = try VocabGoldens(inputPath: path + ".inp", outputPath: path + ".out")
            var passed = 0
            for (input, expected) in goldens.cases {
                let got = tokenizer.encode(input, addSpecial: false, parseSpecial: false)
                if got == expected {
                    passed += 1
                } else if Self.required.contains(name) {
                    Issue.record("\(name): \(String(reflecting: input)) → \(got), expected \(expected)")
                }
            }
            print("vocab \(name): \(passed)/\(goldens.cases.count) passed")
            checked.insert(name)
        }
        for name in Self.required where !checked.contains(name) {
            Issue.record("vocabulary \(name) was not checked (missing from \(Paths.vocabs)?)")
        }
    }
}
