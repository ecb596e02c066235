// Parse limits (issue 29): counts that fit in the file but would cost unbounded work or memory.

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

@Suite struct LimitTests {
    /// A GGUF with no tensors and one metadata key per count, each an array of that many empty
    /// strings, written as a sparse file (the zero bytes are the strings' lengths): no disk used.
    static func stringArrayFile(counts: [Int]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bora-limit-\(getpid())-\(counts).gguf").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(fd) }
        var offset = 0
        func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }; offset += bytes.count }
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        write(Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(0)) + le(UInt64(counts.count)))
        for (i, count) in counts.enumerated() {
            // key "k<i>", type array (9) of strings (8), count; then count zero lengths (a hole)
            let key = Array("k\(i)".utf8)
            write(le(UInt64(key.count)) + key + le(UInt32(9)) + le(UInt32(8)) + le(UInt64(count)))
            offset += 8 * count
        }
        guard ftruncate(fd, off_t(offset)) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    /// The fuzz finding scaled down: one string more than `maxMetadataArrayElements` is refused at
    /// the array's count (before this limit, parsing built an offset per string: 268 M empty
    /// strings took 4.1 GB in `bora inspect`).
    @Test func stringArrayOverTheLimitIsRefusedAtItsCount() throws {
        let path = try Self.stringArrayFile(counts: [GGUFFile.maxMetadataArrayElements + 1])
        defer { unlink(path) }
        #expect(throws: GGUFError.limitExceeded(what: "metadata array length (strings and arrays, all arrays together)",
                                                count: UInt64(GGUFFile.maxMetadataArrayElements + 1),
                                                limit: GGUFFile.maxMetadataArrayElements, at: 42)) {
            try GGUFFile(path: path)
        }
    }

    @Test func stringArrayAtTheLimitParses() throws {
        let path = try Self.stringArrayFile(counts: [1000])
        defer { unlink(path) }
        let file = try GGUFFile(path: path)
        #expect(file.metadata["k0"]?.array?.count == 1000)
    }

    /// The budget is for all arrays together: two arrays of just over half the limit fail at the second.
    @Test func budgetSpansArrays() throws {
        let half = GGUFFile.maxMetadataArrayElements / 2 + 1
        let path = try Self.stringArrayFile(counts: [half, half])
        defer { unlink(path) }
        do {
            _ = try GGUFFile(path: path)
            Issue.record("parsed")
        } catch {
            guard case .limitExceeded(_, let count, let limit, _) = error else { Issue.record("got \(error)"); return }
            #expect(count == UInt64(2 * half) && limit == GGUFFile.maxMetadataArrayElements)
            #expect(error.description.contains("over Bora's limit") && !error.description.contains("\n"))
        }
    }

    @Test func tensorCountOverTheLimitIsRefused() {
        var b = [UInt8]()
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        b += Array("GGUF".utf8); put(UInt32(3)); put(UInt64(GGUFFile.maxTensorCount + 1)); put(UInt64(0))
        b += [UInt8](repeating: 0, count: 24 * (GGUFFile.maxTensorCount + 1))
        #expect(parseAndTouch(b) == .limitExceeded(what: "tensor count", count: UInt64(GGUFFile.maxTensorCount + 1),
                                                   limit: GGUFFile.maxTensorCount, at: 8))
    }
}
