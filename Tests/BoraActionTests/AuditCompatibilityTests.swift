import BoraCore
import BoraIntent
import Foundation
import Testing
@testable import BoraAction

/// The audit trail across the move from Foundation's `JSONSerialization` to `JSONValue`: trails
/// written by the old code still verify and continue, and the new writer's lines are the bytes the
/// old code wrote for the same records (the chain and seals hash raw line bytes, so identity is
/// what lets old and new lines share one trail without a format change).
@Suite struct AuditCompatibilityTests {
    /// The record object exactly as `AuditRecord.json` built it before `JSONValue` (`[String: Any]`).
    static func oldJSON(_ r: AuditRecord) -> [String: Any] {
        func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
        var o: [String: Any] = [
            "time": r.time, "id": r.id, "transcript": r.transcript, "understood": r.understood, "intent": r.intent,
            "slots": r.slots, "confidence": (Double(r.confidence) * 1000).rounded() / 1000, "decision": r.decision.rawValue,
            "reason": r.reason, "start_ms": round1(r.startMs), "audio_ms": round1(r.audioMs), "recognize_ms": round1(r.recognizeMs),
            "latency_ms": round1(r.latencyMs), "timed_out": r.timedOut,
        ]
        if let v = r.action { o["action"] = v }
        if let v = r.actionKind { o["action_kind"] = v }
        if let v = r.argv { o["argv"] = v }
        if let v = r.exitCode { o["exit_code"] = Int(v) }
        if let v = r.signal { o["signal"] = Int(v) }
        if let v = r.execMs { o["exec_ms"] = round1(v) }
        if let v = r.auditMs { o["audit_ms"] = round1(v) }
        if let v = r.error { o["error"] = v }
        if let v = r.clip { o["clip"] = v }
        if let v = r.clipSHA256 { o["clip_sha256"] = v }
        if let v = r.output { o["output"] = v }
        if let v = r.outputBytes { o["output_bytes"] = v; o["output_truncated"] = r.outputTruncated }
        if let v = r.outputSHA256 { o["output_sha256"] = v }
        if let v = r.payload { o["payload"] = v }
        if let v = r.confirms { o["confirms"] = v }
        return o
    }

    /// One line as the old `AuditLog.append` wrote it: prev + seq added, JSONSerialization with
    /// sorted keys, then the seal when `key` is given.
    static func oldLine(_ record: [String: Any], previous: String, seq: Int, key: [UInt8]?) throws -> [UInt8] {
        var chained = record
        chained["prev"] = previous
        chained["seq"] = seq
        var line = [UInt8](try JSONSerialization.data(withJSONObject: chained, options: [.sortedKeys]))
        if let key { line = AuditSeal.sealLine(line, key: key) }
        return line
    }

    /// Records of every kind the listen loop writes, with the awkward values: paths with `/`,
    /// unicode and control characters, shell metacharacters in slots, Float confidences,
    /// fractional and integral latencies, exit codes, signals, captured output.
    static func records() -> [AuditRecord] {
        let time = "2024-05-01T12:34:56.789Z"
        var out: [AuditRecord] = []
        for (i, confidence) in [Float(0.78), 0.9, 0.8765, 0.01, 1, 0.333333].enumerated() {
            let recognition = IntentResult(understood: i != 3, intent: i == 3 ? "" : "lights",
                                           slots: i == 3 ? [:] : ["state": "on", "room": "küche / living", "car": "3; rm -rf / $(reboot)"],
                                           confidence: confidence, transcript: "Turn on the lights — \"now\"\n\t😀 \u{1}",
                                           decodeMilliseconds: 120.25 + Double(i))
            var r = AuditRecord(time: time, id: "1700000000123-000\(i)", recognition: recognition, decision: .executing,
                                reason: i == 3 ? "not-understood" : "matched", startMs: 1000.04 * Double(i), audioMs: 1504.96,
                                latencyMs: [143.2, 12, 0, 99.95, 1e-3, 3012.4][i])
            switch i {
            case 0:
                r.action = "lights@2"; r.actionKind = "exec"; r.argv = ["/usr/bin/lamp", "on", "küche / living"]
                r.clip = "clips/1700000000123-0000.opus"; r.clipSHA256 = String(repeating: "ab", count: 32); r.auditMs = 9.87
            case 1:
                r.decision = .executed; r.action = "lights@2"; r.actionKind = "exec"; r.argv = ["/bin/echo", "x"]
                r.exitCode = 0; r.execMs = 5.5; r.output = "hello/world\n\u{7F}é"; r.outputBytes = 14
                r.outputSHA256 = String(repeating: "0f", count: 32); r.outputTruncated = false; r.auditMs = 10
            case 2:
                r.decision = .interrupted; r.signal = 15; r.timedOut = true; r.error = "spawn: /bin/x: No such file"
                r.reason = "bora was stopped while the action ran; its process group was killed"
            case 3:
                r.decision = .notUnderstood
            case 4:
                r.decision = .executed; r.actionKind = "emit"; r.payload = #"{"confidence":1,"event":"action","slots":{}}"#
            default:
                r.decision = .expired; r.confirms = "1700000000123-0004"; r.reason = "timeout"; r.recognizeMs = 0
            }
            out.append(r)
        }
        return out
    }

    @Test func newLinesAreTheOldBytes() throws {
        for (seq, r) in Self.records().enumerated() {
            var chained = r.json
            chained["prev"] = .string(AuditLog.genesis)
            chained["seq"] = .int(seq)
            let new = JSONValue.object(chained).serializedBytes()
            let old = try Self.oldLine(Self.oldJSON(r), previous: AuditLog.genesis, seq: seq, key: nil)
            #expect(new == old, "\(String(decoding: new, as: UTF8.self))\n\(String(decoding: old, as: UTF8.self))")
        }
    }

    /// A trail written by the old code (sealed or not) verifies with the new verifier; the new
    /// `AuditLog` continues it, and its lines are the ones the old code would have written.
    @Test(arguments: [false, true]) func oldTrailsVerifyAndContinue(sealed: Bool) throws {
        let dir = tempDir() + "/audit"
        var key: [UInt8]?
        if sealed { key = try AuditSeal.initialize(directory: dir) } else { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try FileManager.default.createDirectory(atPath: dir + "/clips", withIntermediateDirectories: true)
        let records = Self.records()
        var previous = AuditLog.genesis
        var k = key
        var old: [UInt8] = []
        for (seq, r) in records.prefix(3).enumerated() {
            var o = Self.oldJSON(r)
            o["clip"] = nil; o["clip_sha256"] = nil   // no clip files in this trail
            let line = try Self.oldLine(o, previous: previous, seq: seq, key: k)
            old += line + [0x0A]
            previous = AuditLog.hash(line)
            k = k.map(AuditSeal.evolve)
        }
        FileManager.default.createFile(atPath: dir + "/audit.jsonl", contents: Data(old))
        if var state = try AuditSeal.State.read(directory: dir), let k {
            state.key = k; state.nextSeq = 3
            try state.write(directory: dir)
        }
        var v = try AuditLog.verify(directory: dir, key: key)
        #expect(v.ok && v.records == 3 && v.sealsChecked == sealed, "\(v.problem ?? "")")

        // Continue with the new writer; compute what the old writer would have appended.
        var expected = old
        do {
            let log = try AuditLog(directory: dir)
            for (seq, r) in records.enumerated().dropFirst(3) {
                var stripped = r; stripped.clip = nil; stripped.clipSHA256 = nil
                try log.append(record: stripped)
                let line = try Self.oldLine(Self.oldJSON(stripped), previous: previous, seq: seq, key: k)
                expected += line + [0x0A]
                previous = AuditLog.hash(line)
                k = k.map(AuditSeal.evolve)
            }
        }
        #expect([UInt8](FileManager.default.contents(atPath: dir + "/audit.jsonl")!) == expected)
        v = try AuditLog.verify(directory: dir, key: key)
        #expect(v.ok && v.records == records.count && v.sealsChecked == sealed, "\(v.problem ?? "")")
    }

    @Test func timestampsHaveTheFormatterForm() {
        #expect(iso8601UTC(seconds: 1_700_000_000, nanoseconds: 999_600_000) == "2023-11-14T22:13:21.000Z")
        #expect(iso8601UTC(seconds: 5, nanoseconds: 123_400_000) == "1970-01-01T00:00:05.123Z")
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect(iso8601UTC(seconds: 1_714_566_896, nanoseconds: 789_000_000) == f.string(from: Date(timeIntervalSince1970: 1_714_566_896.789)))
        let now = AuditLog.timestamp()
        #expect(now.utf8.count == 24 && now.hasSuffix("Z") && f.date(from: now) != nil)
    }
}
