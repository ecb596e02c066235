// Shared helpers for the BoraText tests: where llama.cpp's vocabularies and the real model live.

import Foundation
import Testing
import BoraGGUF
@testable import BoraText

enum Paths {
    static let environment = ProcessInfo.processInfo.environment
    static let cache = environment["BORA_CACHE"] ?? (NSHomeDirectory() + "/.cache/bora")

    /// llama.cpp's `ggml-vocab-*.gguf` with `.inp`/`.out` pairs, extracted by `tools/vocabs`.
    static let vocabs = cache + "/vocabs"
    static var vocabsPresent: Bool { FileManager.default.fileExists(atPath: vocabs + "/ggml-vocab-llama-spm.gguf") }

    /// Tests/Fixtures/text, found from this source file.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("text")

    /// The real SmolLM2 model from the catalog (`BORA_MODELS` or <cache>/models).
    static let smolLM2: String? = {
        let root = environment["BORA_MODELS"] ?? (cache + "/models")
        let path = root + "/smollm2-135m-instruct/smollm2-135m-instruct.Q4_1.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()
}

/// A golden pair file of llama.cpp's tests/test-tokenizer-0.cpp: inputs separated by
/// "\n__ggml_vocab_test__\n", one output line of space-separated ids per input. Like the C++ test
/// (a std::map), a repeated input counts once and its last output wins.
struct VocabGoldens {
    let cases: [(input: String, expected: [Int32])]

    init(inputPath: String, outputPath: String) throws {
        let raw = try Data(contentsOf: URL(fileURLWithPath: inputPath))
        let separator = Array("\n__ggml_vocab_test__\n".utf8)
        var inputs = [[UInt8]]()
        let bytes = [UInt8](raw)
        var pos = 0
        while pos < bytes.count {
            if let next = Self.find(separator, in: bytes, from: pos) {
                inputs.append(Array(bytes[pos ..< next]))
                pos = next + separator.count
            } else {
                inputs.append(Array(bytes[pos...]))
                break
            }
        }
        let outputText = try String(contentsOfFile: outputPath, encoding: .utf8)
        var lines = outputText.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        guard lines.count == inputs.count else {
            throw GoldenError.mismatch("\(inputs.count) inputs but \(lines.count) outputs in \(outputPath)")
        }
        var byInput = [[UInt8]: [Int32]]()
        var order = [[UInt8]]()
        for (input, line) in zip(inputs, lines) {
            let ids = line.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
            if byInput[input] == nil { order.append(input) }
            byInput[input] = ids
        }
        cases = order.map { (String(decoding: $0, as: UTF8.self), byInput[$0]!) }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && Array(haystack[i ..< i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }
}

enum GoldenError: Error { case mismatch(String) }
