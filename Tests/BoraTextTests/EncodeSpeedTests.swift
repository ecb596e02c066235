// Prints encode throughput on ~10 KB of mixed text. A measurement, not a timing assert; meaningful
// in release: swift test -c release -Xswiftc -enable-testing --filter EncodeSpeedTests

import Foundation
import Testing
import BoraGGUF
@testable import BoraText

@Suite struct EncodeSpeedTests {
    static func text(bytes: Int) -> String {
        let paragraph = """
        The quick brown fox jumps over the lazy dog; it's 12:45 and we've counted 1,234,567 items. \
        Turn on the kitchen lights, set a timer for 15 minutes, then read me the weather in Zürich. \
        Naïve café owners serve crème brûlée — 你好世界 and こんにちは — with emoji 🦙🚀.
            def f(x):\n        return x ** 2  # indented code\n

        """
        var result = ""
        while result.utf8.count < bytes { result += paragraph }
        return result
    }

    @Test func encodeTenKilobytes() throws {
        let text = Self.text(bytes: 10_240)
        var vocabularies: [(String, Tokenizer)] = []
        if let path = Paths.smolLM2 {
            let file = try GGUFFile(path: path)
            let start = ContinuousClock.now
            let tokenizer = try Tokenizer(gguf: file)
            print("load smollm2 tokenizer: \(ContinuousClock.now - start)")
            vocabularies.append(("smollm2", tokenizer))
        }
        if Paths.vocabsPresent {
            for name in ["llama-bpe", "llama-spm", "qwen2"] {
                vocabularies.append((name, try Tokenizer(gguf: GGUFFile(path: Paths.vocabs + "/ggml-vocab-\(name).gguf"))))
            }
        }
        guard !vocabularies.isEmpty else {
            print("encodeTenKilobytes skipped: no vocabularies (SmolLM2 GGUF or tools/vocabs)")
            return
        }
        for (name, tokenizer) in vocabularies {
            var count = tokenizer.encode(text).count  // warm-up
            let repetitions = 5
            let start = ContinuousClock.now
            for _ in 0 ..< repetitions { count = tokenizer.encode(text).count }
            let elapsed = (ContinuousClock.now - start) / repetitions
            let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3
            print(String(format: "encode %@: %d bytes → %d tokens in %.2f ms (%.1f MB/s)",
                         name, text.utf8.count, count, ms, Double(text.utf8.count) / ms / 1e3))
        }
    }
}
