// The catalog's SmolLM2-135M-Instruct Q4_1 GGUF, when it has been fetched.

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

@Suite(.enabled(if: RealModel.path != nil, RealModel.skipReason))
struct RealModelTests {
    @Test func parsesQuickly() throws {
        let path = try #require(RealModel.path)
        let clock = ContinuousClock()
        var file: GGUFFile?
        let parse = try clock.measure { file = try GGUFFile(path: path) }
        let model = try #require(file)
        var tokens: [String]?
        let decode = clock.measure { tokens = model.metadata["tokenizer.ggml.tokens"]?.array?.strings }
        print("real model: parsed \(model.byteCount) bytes, \(model.metadata.count) keys, \(model.tensors.count) tensors in \(parse); decoded \(tokens?.count ?? 0) token strings in \(decode)")

        #expect(model.version == 3)
        #expect(model.architecture == "llama")
        #expect(model.tensors.count == 272)
        #expect(model.metadata["llama.block_count"]?.int == 30)
        #expect(model.metadata["llama.embedding_length"]?.int == 576)
        #expect(model.metadata["llama.rope.freq_base"]?.float != nil)
        #expect(tokens?.count == 49_152)
        #expect(model.metadata["tokenizer.ggml.merges"]?.array?.count == 48_900)
        #expect(model.metadata["tokenizer.ggml.token_type"]?.array?.integers?.count == 49_152)

        let embed = try #require(model.tensor(named: "token_embd.weight"))
        #expect(embed.shape == [576, 49_152])
        #expect(embed.rowLength == 576 && embed.rowCount == 49_152)
        #expect(Set(model.tensors.map(\.type)) == [.q4_1, .f32, .q8_0])
        let total = model.tensors.reduce(0) { $0 + $1.byteCount }
        #expect(model.dataOffset + total <= model.byteCount)
    }

    /// Every section boundary of the header (keys, tensor infos, data start) and a few in the
    /// data section, parsed from the mapping without copying.
    @Test func truncatedAtSectionBoundaries() throws {
        let path = try #require(RealModel.path)
        let mapped = try MappedFile(path: path)
        let headerBytes = try GGUFFile(mapped: mapped).dataOffset
        let layout = GGUFLayout([UInt8](UnsafeRawBufferPointer(rebasing: mapped.bytes[0..<headerBytes])))
        // Every key/value boundary, every 16th tensor-info boundary, the data start, and a few data cuts.
        let header = layout.boundaries.filter { $0 <= headerBytes }
        let cuts = header.enumerated().filter { $0.offset < 40 || $0.offset % 16 == 0 }.map(\.element)
            + [headerBytes - 1, headerBytes, headerBytes + 1, mapped.count / 2, mapped.count - 1]
        for cut in cuts {
            do {
                _ = try GGUFFile(storage: GGUFStorage(mapped: mapped, prefix: cut))
                Issue.record("prefix \(cut) parsed")
            } catch {
                #expect(isTruncationError(error), "prefix \(cut): \(error)")
            }
        }
    }
}
