// MappedFile (BoraCore) — tested here because GGUF is its main user.

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

@Suite struct MappedFileTests {
    static func tempFile(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bora-mapped-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [MappedFile.AccessHint.normal, .sequential, .random, .willNeed])
    func mapsContents(hint: MappedFile.AccessHint) throws {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = try Self.tempFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MappedFile(path: path, hint: hint)
        #expect(file.count == bytes.count)
        #expect(Array(file.bytes) == bytes)
        #expect(Int(bitPattern: file.base) % 4096 == 0)
    }

    @Test func emptyFileIsAValidEmptyMapping() throws {
        let path = try Self.tempFile([])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MappedFile(path: path)
        #expect(file.count == 0 && file.bytes.isEmpty)
        file.advise(.willNeed)
        #expect(throws: GGUFError.self) { try GGUFFile(mapped: file) }
        #expect(throws: GGUFError.truncated(at: 0, needed: 4, what: "magic")) { try GGUFFile(path: path) }
    }

    @Test func errorsNameTheCallPathAndErrno() {
        #expect { try MappedFile(path: "/nonexistent/bora.gguf") } throws: { error in
            guard case let .open(path, code, message) = error as? MappedFileError else { return false }
            return path == "/nonexistent/bora.gguf" && code == ENOENT && message == "No such file or directory"
        }
        #expect(throws: MappedFileError.notRegularFile(path: "/tmp")) { try MappedFile(path: "/tmp") }
        #expect(throws: GGUFError.io(.notRegularFile(path: "/tmp"))) { try GGUFFile(path: "/tmp") }
        let description = MappedFileError.open(path: "/x.gguf", errno: ENOENT, message: "No such file or directory").description
        #expect(description.contains("/x.gguf") && description.contains("No such file"))
    }

    @Test func tensorViewsOutliveTheFileObject() throws {
        var w = GGUFWriter()
        w.addTensor(name: "t", shape: [4], type: .f32, bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
        let path = try Self.tempFile(w.serialize())
        defer { try? FileManager.default.removeItem(atPath: path) }
        var tensor: GGUFTensor?
        do { tensor = try GGUFFile(path: path).tensors.first }
        #expect(Array(try #require(tensor).bytes) == Array(1...16))
    }
}
