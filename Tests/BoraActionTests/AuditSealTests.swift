import BoraCore
import Foundation
import Testing
@testable import BoraAction

/// A sealed trail: 12 records (each with a clip) over rotated files, written by `AuditLog`.
private struct SealedTrail {
    let dir: String
    let key: [UInt8]

    static func make(records: Int = 12, maxBytes: Int = 1800) throws -> SealedTrail {
        let dir = tempDir() + "/audit"
        let key = try AuditSeal.initialize(directory: dir)
        let log = try AuditLog(directory: dir, maxBytes: maxBytes)
        for i in 0..<records {
            let samples = (0..<4000).map { Float(sin(Double($0 + i * 97) * 0.05)) * 0.3 }
            let clip = try samples.withUnsafeBufferPointer { try log.writeClip(id: "u\(i)", samples: $0) }
            try log.append(["id": "u\(i)", "intent": "lights", "decision": "executed", "clip": .string(clip.path), "clip_sha256": .string(clip.sha256)])
        }
        return SealedTrail(dir: dir, key: key)
    }

    /// A copy in a fresh directory, to tamper with.
    func copy() throws -> String {
        let to = tempDir() + "/audit"
        try FileManager.default.copyItem(atPath: dir, toPath: to)
        return to
    }
}

private func files(_ dir: String) -> [String] { AuditLog.logFiles(dir) }
private func readLines(_ path: String) -> [String] {
    String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self).split(separator: "\n").map(String.init)
}
private func writeLines(_ path: String, _ lines: [String]) {
    FileManager.default.createFile(atPath: path, contents: Data(lines.map { $0 + "\n" }.joined().utf8))
}
/// Every line of the trail in chain order, with the file it is in.
private func allLines(_ dir: String) -> [(file: String, line: String)] {
    files(dir).flatMap { f in readLines(dir + "/" + f).map { (f, $0) } }
}
private func writeAll(_ dir: String, _ lines: [(file: String, line: String)]) {
    for f in files(dir) { writeLines(dir + "/" + f, lines.filter { $0.file == f }.map(\.line)) }
}
private func sha(_ s: String) -> String { var h = SHA256(); h.update(Array(s.utf8)); return h.finalizeHex() }
/// Recomputes `"prev"` (and `"seq"`) of every line so the plain hash chain is intact again —
/// what a tamperer without the key can do.
private func rechain(_ lines: [(file: String, line: String)]) -> [(file: String, line: String)] {
    var out: [(file: String, line: String)] = []
    var previous = AuditLog.genesis
    for (i, entry) in lines.enumerated() {
        var line = entry.line.replacingOccurrences(of: #""prev":"[0-9a-f]{64}""#, with: "\"prev\":\"\(previous)\"", options: .regularExpression)
        line = line.replacingOccurrences(of: #""seq":[0-9]+"#, with: "\"seq\":\(i)", options: .regularExpression)
        out.append((entry.file, line))
        previous = sha(line)
    }
    return out
}

/// The tamper forms of issue 28 (the 23 tried against the old trail, and more): each one applied
/// to a copy of a sealed trail must fail `verify` with the verification key.
@Suite struct AuditSealTests {
    static let forms: [String] = [
        "edit a middle record", "edit the first record", "edit the last record",
        "delete a middle record", "delete the first record", "delete the first 2 records", "delete the first 3 records",
        "delete the last record", "delete the last 2 records", "delete the last 3 records",
        "swap two records", "duplicate a record", "change whitespace",
        "edit a record and recompute the chain", "delete a record and recompute the chain",
        "edit a record and re-seal everything with the device's current key",
        "append a forged record", "empty the log", "delete the log", "truncate the last line",
        "delete a clip", "replace a clip", "delete a rotated file", "insert a bogus rotated file",
        "delete the sealing state", "replace the sealing state with a new one", "delete everything but the state",
    ]

    @Test func intactSealedTrailVerifies() throws {
        let t = try SealedTrail.make()
        let v = try AuditLog.verify(directory: t.dir, key: t.key)
        #expect(v.ok, "\(v.problem ?? "")")
        #expect(v.sealed && v.sealsChecked && v.records == 12 && v.files.count > 2)
        // Reopening continues chain and seal.
        do {
            let log = try AuditLog(directory: t.dir, maxBytes: 1800)
            try log.append(["id": "u12", "decision": "not-understood"])
        }
        let after = try AuditLog.verify(directory: t.dir, key: t.key)
        #expect(after.ok && after.records == 13)
        // A wrong key is named as such.
        var wrong = t.key; wrong[0] ^= 1
        #expect(try AuditLog.verify(directory: t.dir, key: wrong).problem?.contains("not the given key") == true)
    }

    @Test(arguments: forms) func tamperingIsDetected(form: String) throws {
        let t = try SealedTrail.make()
        let dir = try t.copy()
        var lines = allLines(dir)
        let n = lines.count
        func edit(_ i: Int) { lines[i].line = lines[i].line.replacingOccurrences(of: "\"executed\"", with: "\"rejected-no-action\"") }
        switch form {
        case "edit a middle record": edit(5); writeAll(dir, lines)
        case "edit the first record": edit(0); writeAll(dir, lines)
        case "edit the last record": edit(n - 1); writeAll(dir, lines)
        case "delete a middle record": lines.remove(at: 6); writeAll(dir, lines)
        case "delete the first record": lines.removeFirst(1); writeAll(dir, lines)
        case "delete the first 2 records": lines.removeFirst(2); writeAll(dir, lines)
        case "delete the first 3 records": lines.removeFirst(3); writeAll(dir, lines)
        case "delete the last record": lines.removeLast(1); writeAll(dir, lines)
        case "delete the last 2 records": lines.removeLast(2); writeAll(dir, lines)
        case "delete the last 3 records": lines.removeLast(3); writeAll(dir, lines)
        case "swap two records": lines.swapAt(3, 4); writeAll(dir, lines)
        case "duplicate a record": lines.insert(lines[4], at: 5); writeAll(dir, lines)
        case "change whitespace": lines[2].line = lines[2].line.replacingOccurrences(of: ",", with: ", "); writeAll(dir, lines)
        case "edit a record and recompute the chain": edit(4); writeAll(dir, rechain(lines))
        case "delete a record and recompute the chain": lines.remove(at: 4); writeAll(dir, rechain(lines))
        case "edit a record and re-seal everything with the device's current key":
            edit(4)
            let state = try #require(try AuditSeal.State.read(directory: dir))
            var resealed: [(file: String, line: String)] = []
            var previous = AuditLog.genesis
            for entry in lines {
                var l = entry.line.replacingOccurrences(of: #""prev":"[0-9a-f]{64}""#, with: "\"prev\":\"\(previous)\"", options: .regularExpression)
                let (sealed, _) = try #require(AuditSeal.unseal(Array(l.utf8)))
                l = String(decoding: AuditSeal.sealLine(sealed, key: state.key), as: UTF8.self)
                resealed.append((entry.file, l))
                previous = sha(l)
            }
            writeAll(dir, resealed)
        case "append a forged record":
            let last = lines[n - 1].line
            let forged = "{\"decision\":\"executed\",\"id\":\"forged\",\"prev\":\"\(sha(last))\",\"seq\":\(n),\"seal\":\"\(String(repeating: "ab", count: 32))\"}"
            lines.append(("audit.jsonl", forged)); writeAll(dir, lines)
        case "empty the log": writeLines(dir + "/audit.jsonl", [])
        case "delete the log": for f in files(dir) { unlink(dir + "/" + f) }
        case "truncate the last line":
            let path = dir + "/audit.jsonl"
            let bytes = try #require(FileManager.default.contents(atPath: path))
            FileManager.default.createFile(atPath: path, contents: bytes.prefix(bytes.count - 40))
        case "delete a clip": unlink(dir + "/clips/u3.opus")
        case "replace a clip":
            unlink(dir + "/clips/u3.opus")
            try FileManager.default.copyItem(atPath: dir + "/clips/u4.opus", toPath: dir + "/clips/u3.opus")
        case "delete a rotated file": unlink(dir + "/" + files(dir)[0])
        case "insert a bogus rotated file":
            writeLines(dir + "/audit-0000.jsonl", ["{\"decision\":\"executed\",\"id\":\"bogus\",\"prev\":\"\(AuditLog.genesis)\",\"seq\":0}"])
        case "delete the sealing state": unlink(dir + "/" + AuditSeal.stateFileName)
        case "replace the sealing state with a new one":
            unlink(dir + "/" + AuditSeal.stateFileName)
            let other = tempDir() + "/other"
            _ = try AuditSeal.initialize(directory: other)
            try FileManager.default.copyItem(atPath: other + "/" + AuditSeal.stateFileName, toPath: dir + "/" + AuditSeal.stateFileName)
        case "delete everything but the state":
            for f in files(dir) { unlink(dir + "/" + f) }
            try FileManager.default.removeItem(atPath: dir + "/clips")
        default: Issue.record("unknown form \(form)")
        }
        let v = try AuditLog.verify(directory: dir, key: t.key)
        #expect(!v.ok, "not detected: \(form)")
        // Reopening for writing must not paper over it either (except where the chain still
        // looks whole to a keyless writer: edits inside records are for `verify` to find).
        if ["delete the last record", "delete the last 2 records", "empty the log", "truncate the last line"].contains(form) {
            #expect(throws: AuditError.self) { _ = try AuditLog(directory: dir) }
        }
    }

    /// A crash between a record's fsync and the state's replacement leaves the state one record
    /// behind: verify accepts it (with a note) and reopening completes the key step.
    @Test func crashBetweenRecordAndStateIsRepaired() throws {
        let t = try SealedTrail.make(records: 3, maxBytes: 1 << 20)
        let statePath = t.dir + "/" + AuditSeal.stateFileName
        let before = try #require(FileManager.default.contents(atPath: statePath))
        do { let log = try AuditLog(directory: t.dir); try log.append(["id": "u3", "decision": "executed"]) }
        FileManager.default.createFile(atPath: statePath, contents: before)   // the state write "never happened"
        let v = try AuditLog.verify(directory: t.dir, key: t.key)
        #expect(v.ok && v.stateBehindByOne && v.records == 4)
        do { let log = try AuditLog(directory: t.dir); try log.append(["id": "u4", "decision": "executed"]) }
        let after = try AuditLog.verify(directory: t.dir, key: t.key)
        #expect(after.ok && !after.stateBehindByOne && after.records == 5)
    }

    /// A partial last line from a crash mid-write is allowed, cut on reopen, and never glued.
    @Test func partialLineFromACrashIsCut() throws {
        let t = try SealedTrail.make(records: 3, maxBytes: 1 << 20)
        let handle = try #require(FileHandle(forWritingAtPath: t.dir + "/audit.jsonl"))
        handle.seekToEndOfFile(); handle.write(Data("{\"decision\":\"exec".utf8)); handle.closeFile()
        let v = try AuditLog.verify(directory: t.dir, key: t.key)
        #expect(v.ok && v.incompleteTail)
        do { let log = try AuditLog(directory: t.dir); try log.append(["id": "u3", "decision": "executed"]) }
        let after = try AuditLog.verify(directory: t.dir, key: t.key)
        #expect(after.ok && !after.incompleteTail && after.records == 4)
    }

    @Test func oneWriterPerDirectory() throws {
        let dir = tempDir() + "/audit"
        let first = try AuditLog(directory: dir)
        #expect(throws: AuditError.self) { _ = try AuditLog(directory: dir) }
        do { _ = try AuditLog(directory: dir) } catch { #expect(error.message.contains("pid \(getpid())")) }
        _ = first
    }

    @Test func filesAndDirectoriesArePrivate() throws {
        let old = umask(0)   // the modes must not depend on the umask
        defer { umask(old) }
        let dir = tempDir() + "/audit"
        _ = try AuditSeal.initialize(directory: dir)
        let log = try AuditLog(directory: dir)
        let samples = [Float](repeating: 0.1, count: 1600)
        let clip = try samples.withUnsafeBufferPointer { try log.writeClip(id: "u0", samples: $0) }
        try log.append(["id": "u0", "clip": .string(clip.path), "clip_sha256": .string(clip.sha256)])
        func mode(_ p: String) -> mode_t { var st = stat(); stat(p, &st); return st.st_mode & 0o777 }
        #expect(mode(dir) == 0o700 && mode(dir + "/clips") == 0o700)
        #expect(mode(dir + "/audit.jsonl") == 0o600 && mode(dir + "/clips/u0.opus") == 0o600)
        #expect(mode(dir + "/" + AuditSeal.stateFileName) == 0o600 && mode(dir + "/lock") == 0o600)
    }

    /// A clip is never replaced: a second clip under the same id is an error, the first stays.
    @Test func aClipIsNeverOverwritten() throws {
        let log = try AuditLog(directory: tempDir() + "/audit")
        let first = [Float](repeating: 0.1, count: 1600), second = [Float](repeating: -0.2, count: 3200)
        let clip = try first.withUnsafeBufferPointer { try log.writeClip(id: "u0", samples: $0) }
        #expect(throws: AuditError.self) { _ = try second.withUnsafeBufferPointer { try log.writeClip(id: "u0", samples: $0) } }
        #expect(try SHA256.hexDigest(ofFile: log.clipPath(id: "u0")) == clip.sha256)
    }

    @Test func leftoverTempFilesAreRemovedOnOpen() throws {
        let dir = tempDir() + "/audit"
        do { _ = try AuditLog(directory: dir) }
        FileManager.default.createFile(atPath: dir + "/clips/x.opus.tmp-AbCdEf", contents: Data([1, 2, 3]))
        do { _ = try AuditLog(directory: dir) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/clips/x.opus.tmp-AbCdEf"))
    }

    @Test func initRefusesASealedOrUsedDirectory() throws {
        let dir = tempDir() + "/audit"
        _ = try AuditSeal.initialize(directory: dir)
        #expect(throws: AuditError.self) { _ = try AuditSeal.initialize(directory: dir) }
        let used = tempDir() + "/used"
        do { let log = try AuditLog(directory: used); try log.append(["id": "x"]) }
        #expect(throws: AuditError.self) { _ = try AuditSeal.initialize(directory: used) }
    }
}
