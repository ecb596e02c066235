import Foundation
import Testing
@testable import BoraAction

/// The audit trail's hash chain: intact logs verify; deleted, reordered and edited records are
/// found; a partial last line (crash mid-write) is tolerated and cut on reopen; rotation keeps the chain.
@Suite struct AuditChainTests {
    func write(_ dir: String, count: Int, maxBytes: Int = 64 << 20) throws {
        let log = try AuditLog(directory: dir, maxBytes: maxBytes)
        for i in 0..<count { try log.append(["id": "u\(i)", "intent": "lights", "decision": "ran"]) }
    }
    func lines(_ dir: String) -> [String] {
        String(decoding: FileManager.default.contents(atPath: dir + "/audit.jsonl")!, as: UTF8.self)
            .split(separator: "\n").map(String.init)
    }
    func rewrite(_ dir: String, _ lines: [String]) {
        FileManager.default.createFile(atPath: dir + "/audit.jsonl", contents: Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    @Test func intactChainVerifies() throws {
        let dir = tempDir()
        try write(dir, count: 5)
        try write(dir, count: 3)  // reopened: the chain continues
        let v = try AuditLog.verify(directory: dir)
        #expect(v.ok && v.records == 8 && !v.incompleteTail)
        #expect(lines(dir)[0].contains(AuditLog.genesis))
    }

    @Test func tamperingIsDetected() throws {
        let dir = tempDir()
        try write(dir, count: 5)
        let original = lines(dir)
        var deleted = original; deleted.remove(at: 2)
        rewrite(dir, deleted)
        #expect(try AuditLog.verify(directory: dir).problem?.contains("audit.jsonl:3") == true)
        var swapped = original; swapped.swapAt(1, 2)
        rewrite(dir, swapped)
        #expect(try !AuditLog.verify(directory: dir).ok)
        var edited = original; edited[3] = edited[3].replacingOccurrences(of: "\"ran\"", with: "\"refused\"")
        rewrite(dir, edited)
        #expect(try AuditLog.verify(directory: dir).problem?.contains("audit.jsonl:5") == true)
    }

    @Test func partialLastLineIsToleratedAndCut() throws {
        let dir = tempDir()
        try write(dir, count: 4)
        let handle = FileHandle(forWritingAtPath: dir + "/audit.jsonl")!
        handle.seekToEndOfFile(); handle.write(Data("{\"id\":\"u4\",\"inte".utf8)); handle.closeFile()
        let v = try AuditLog.verify(directory: dir)
        #expect(v.ok && v.records == 4 && v.incompleteTail)
        try write(dir, count: 2)  // reopening cuts the partial line
        let after = try AuditLog.verify(directory: dir)
        #expect(after.ok && after.records == 6 && !after.incompleteTail)
    }

    @Test func rotationKeepsTheChain() throws {
        let dir = tempDir()
        try write(dir, count: 20, maxBytes: 400)
        let v = try AuditLog.verify(directory: dir)
        #expect(v.files.count > 2)
        #expect(v.ok && v.records == 20)
    }
}
