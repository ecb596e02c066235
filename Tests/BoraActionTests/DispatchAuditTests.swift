import BoraAudio
import BoraCore
import BoraIntent
import CBoraAllocCount
import Foundation
import Testing
@testable import BoraAction

/// Writes an executable script that appends each of its arguments on its own line to `out`.
func argvScript(in dir: String, out: String) throws -> String {
    let path = dir + "/print-argv"
    try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '\(out)'; done\n".write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
    return path
}

@Suite struct DispatchTests {
    @Test func slotValuesStayOneArgvElementAndNeverReachAShell() throws {
        let dir = tempDir()
        let out = dir + "/argv.txt"
        let script = try argvScript(in: dir, out: out)
        let evil = "x; rm -rf \(dir)/victim; touch \(dir)/pwned $(touch \(dir)/pwned2) `touch \(dir)/pwned3`"
        FileManager.default.createFile(atPath: dir + "/victim", contents: Data())
        let argv = Dispatcher.substitute(["/bin/sh", script, "--car", "{car}", "{missing}", "lit{car}"], slots: ["car": evil])
        #expect(argv == ["/bin/sh", script, "--car", evil, "", "lit{car}"])
        let r = try Dispatcher.run(argv, timeoutSeconds: 10)
        #expect(r.exitCode == 0 && !r.timedOut)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines == ["--car", Substring(evil), "", "lit{car}", ""])
        #expect(FileManager.default.fileExists(atPath: dir + "/victim"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/pwned"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/pwned2"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/pwned3"))
    }

    @Test func exitCodeIsRecorded() throws {
        let r = try Dispatcher.run(["/bin/sh", "-c", "exit 7"], timeoutSeconds: 10)
        #expect(r.exitCode == 7 && r.signal == nil)
    }

    @Test func timeoutKillsTheProcessGroup() throws {
        let dir = tempDir()
        // The child shell starts a grandchild; both must die with the group.
        let t0 = monotonicSeconds()
        let r = try Dispatcher.run(["/bin/sh", "-c", "sleep 5; touch \(dir)/late"], timeoutSeconds: 0.3)
        let elapsed = monotonicSeconds() - t0
        #expect(r.timedOut && r.signal == SIGKILL && r.exitCode == nil)
        #expect(elapsed < 2)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/late"))
    }

    @Test func missingProgramIsAnError() {
        #expect(throws: DispatchError.self) { try Dispatcher.run(["/nonexistent/bora-no-such-program"], timeoutSeconds: 1) }
    }

    @Test func sendsOneDatagramToAUnixSocket() throws {
        let path = tempDir() + "/s.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(rc == 0)
        try Dispatcher.send(line: "{\"intent\":\"status\"}", toSocket: path)
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "{\"intent\":\"status\"}\n")
        #expect(throws: DispatchError.self) { try Dispatcher.send(line: "x", toSocket: path + ".absent") }
    }
}

@Suite struct AuditTests {
    @Test func recordHasTheFieldsAndClipDecodes() throws {
        let dir = tempDir() + "/audit"
        let log = try AuditLog(directory: dir)
        let samples = (0..<8000).map { Float(sin(Double($0) * 0.1) * 0.3) }
        let clip = try samples.withUnsafeBufferPointer { try log.writeClip(id: "u1", samples: $0) }
        var r = AuditRecord(time: AuditLog.timestamp(), id: "u1",
                            recognition: IntentResult(understood: true, intent: "lights", slots: ["state": "on"], confidence: 0.8765,
                                                     transcript: "turn on the lights", decodeMilliseconds: 120),
                            decision: .executed, reason: "matched", startMs: 1000, audioMs: 500, latencyMs: 130)
        r.action = "lights@2"; r.actionKind = "exec"; r.argv = ["x", "on"]; r.exitCode = 0; r.clip = clip.path; r.clipSHA256 = clip.sha256
        try log.append(record: r)
        try log.append(record: r)
        #expect(log.recordsWritten == 2)
        let lines = try String(contentsOfFile: dir + "/audit.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let o = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(o["id"] as? String == "u1" && o["intent"] as? String == "lights")
        #expect(o["slots"] as? [String: String] == ["state": "on"])
        #expect(o["confidence"] as? Double == 0.877)
        #expect(o["decision"] as? String == "executed" && o["reason"] as? String == "matched")
        #expect(o["exit_code"] as? Int == 0 && o["argv"] as? [String] == ["x", "on"])
        #expect(o["latency_ms"] as? Double == 130 && o["transcript"] as? String == "turn on the lights")
        #expect(o["clip"] as? String == "clips/u1.opus" && (o["time"] as? String)?.hasSuffix("Z") == true)
        let decoded = try AudioDecoder.load(path: dir + "/clips/u1.opus")
        #expect(decoded.samples.count == 8000)
    }

    @Test func unwritableDirectoryIsAnError() {
        #expect(throws: AuditError.self) { try AuditLog(directory: "/proc/bora-audit") }
    }
}

/// A recognizer that reads the utterance length: > 0.8 s is "lights on", shorter is not understood.
final class LengthRecognizer: UtteranceRecognizer {
    var calls = 0
    func recognizeUtterance(_ samples: UnsafeBufferPointer<Float>, grammar: UtteranceGrammar) -> IntentResult {
        calls += 1
        let long = samples.count > 12800
        return IntentResult(understood: long, intent: long ? "lights" : "", slots: long ? ["state": "on", "car": "3; rm -rf /"] : [:],
                           confidence: long ? 0.9 : 0.01, transcript: "len \(samples.count)", decodeMilliseconds: 1)
    }
}

/// Silence (low noise) with tone bursts of the given lengths (seconds), `gap` seconds apart.
func bursts(_ lengths: [Double], gap: Double = 1) -> [Float] {
    var out = [Float](repeating: 0, count: 16000)
    var rng = SystemRandomNumberGenerator()
    for i in out.indices { out[i] = Float.random(in: -0.001...0.001, using: &rng) }
    for l in lengths {
        out += (0..<Int(l * 16000)).map { Float(sin(Double($0) * 2 * .pi * 440 / 16000) * 0.3) }
        out += (0..<Int(gap * 16000)).map { _ in Float.random(in: -0.001...0.001, using: &rng) }
    }
    return out
}

/// Plays back a script of recognitions in order, recording the grammar of every call.
final class ScriptedRecognizer: UtteranceRecognizer {
    var script: [IntentResult]
    var grammars: [UtteranceGrammar] = []
    init(_ script: [IntentResult]) { self.script = script }
    func recognizeUtterance(_ samples: UnsafeBufferPointer<Float>, grammar: UtteranceGrammar) -> IntentResult {
        grammars.append(grammar)
        return script.isEmpty ? IntentResult(understood: false, intent: "", confidence: 0) : script.removeFirst()
    }
}

let lightsOn = IntentResult(understood: true, intent: "lights", slots: ["state": "on", "car": "$(reboot)"], confidence: 0.9, transcript: "lights on")
let saidConfirm = IntentResult(understood: true, intent: ConfirmationContext.confirmIntent, confidence: 0.95, transcript: "Confirm.")
let saidCancel = IntentResult(understood: true, intent: ConfirmationContext.cancelIntent, confidence: 0.95, transcript: "Cancel.")
let mumble = IntentResult(understood: false, intent: "", confidence: 0.01, transcript: "hmm")

/// Runs `samples` through a loop with one confirm-required exec entry; returns the argv lines the
/// action wrote, the audit records, the summary and the recognizer.
func runConfirmLoop(_ samples: [Float], _ script: [IntentResult], timeout: Double = 8,
                    reload: ((ScriptedRecognizer) -> ListenReload?)? = nil) throws -> (argv: String?, records: [[String: Any]], summary: ListenSummary, recognizer: ScriptedRecognizer) {
    let dir = tempDir()
    let out = dir + "/argv.txt"
    let script0 = try argvScript(in: dir, out: out)
    let actions = try ActionsFile.parse(yaml: "actions:\n  - intent: lights\n    confirm: true\n    confirm_timeout_s: \(timeout)\n    exec: [\"/bin/sh\", \"\(script0)\", \"{state}\", \"{car}\"]\n")
    let audit = try AuditLog(directory: dir + "/audit")
    let recognizer = ScriptedRecognizer(script)
    let loop = ListenLoop(segmenter: try SpeechSegmenter(detector: try EnergyVAD()), recognizer: recognizer, actions: actions,
                          audit: audit, stdoutLine: { _ in }, statusLine: { _ in })
    if let reload { loop.pendingReload = { reload(recognizer) } }
    let summary = try loop.run(source: FileSource(samples: samples, pace: nil))
    let lines = try String(contentsOfFile: dir + "/audit/audit.jsonl", encoding: .utf8).split(separator: "\n")
    let records = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    let verification = try AuditLog.verify(directory: dir + "/audit")
    #expect(verification.ok && verification.interruptedActions.isEmpty && verification.records == records.count)
    return (try? String(contentsOfFile: out, encoding: .utf8), records, summary, recognizer)
}

@Suite struct ConfirmationTests {
    @Test func confirmRunsTheActionOnTheAnswer() throws {
        let r = try runConfirmLoop(bursts([1.2, 0.6]), [lightsOn, saidConfirm])
        #expect(r.recognizer.grammars == [.commands, .confirmation])
        #expect(r.argv == "on\n$(reboot)\n")
        // The answer's write-ahead record, then its outcome under the same id.
        #expect(r.records.map { $0["decision"] as? String } == ["awaiting-confirm", "executing", "confirmed"])
        #expect(r.records[1]["confirms"] as? String == r.records[0]["id"] as? String)
        #expect(r.records[1]["id"] as? String == r.records[2]["id"] as? String && r.records[1]["clip_sha256"] != nil)
        #expect(r.records[2]["exit_code"] as? Int == 0 && r.records[2]["intent"] as? String == "lights")
        #expect(r.summary.actionsRun == 1 && r.summary.confirmed == 1 && r.summary.awaitingConfirm == 1)
    }

    @Test func cancelExpiresWithoutRunning() throws {
        let r = try runConfirmLoop(bursts([1.2, 0.6, 1.2]), [lightsOn, saidCancel, mumble])
        #expect(r.argv == nil && r.summary.actionsRun == 0)
        #expect(r.recognizer.grammars == [.commands, .confirmation, .commands])
        #expect(r.records.map { $0["decision"] as? String } == ["awaiting-confirm", "expired", "not-understood"])
        #expect(r.records[1]["reason"] as? String == "cancelled")
    }

    @Test func otherSpeechWhileWaitingRunsNothingAndSilenceExpires() throws {
        // Wait 4 s: a mumble 3 s after the command is no answer; the silence after it passes the
        // deadline; the next command (6.6 s after) is heard against the command grammar again.
        let r = try runConfirmLoop(bursts([1.2, 0.6, 1.2], gap: 3), [lightsOn, mumble, lightsOn], timeout: 4)
        #expect(r.argv == nil && r.summary.actionsRun == 0)
        #expect(r.recognizer.grammars == [.commands, .confirmation, .commands])
        #expect(r.records.map { $0["decision"] as? String } == ["awaiting-confirm", "not-understood", "expired", "awaiting-confirm", "expired"])
        #expect(r.records.map { $0["reason"] as? String }[2] == "timeout")
        #expect(r.records.map { $0["reason"] as? String }[4] == "stopped")
        #expect(r.summary.expired == 2)
    }

    @Test func aReloadExpiresThePendingActionAndSwapsTheRecognizer() throws {
        let swapped = ScriptedRecognizer([lightsOn])
        var reloaded = false
        let r = try runConfirmLoop(bursts([1.2, 0.6, 1.2]), [lightsOn, saidConfirm], reload: { first in
            // Right after the first command (awaiting its answer).
            guard first.grammars.count == 1, !reloaded else { return nil }
            reloaded = true
            return ListenReload(actions: try! ActionsFile.parse(yaml: "actions:\n  - intent: lights\n    emit: json\n"), recognizer: swapped)
        })
        #expect(r.records.map { $0["decision"] as? String } == ["awaiting-confirm", "expired", "executing", "executed", "not-understood"])
        #expect(r.records[1]["reason"] as? String == "reloaded")
        #expect(r.recognizer.grammars == [.commands] && swapped.grammars == [.commands, .commands])
        #expect(r.argv == nil)
    }
}

@Suite struct ListenLoopTests {
    @Test func twoUtterancesRunOneActionAndWriteTwoRecords() throws {
        let dir = tempDir()
        let out = dir + "/argv.txt"
        let script = try argvScript(in: dir, out: out)
        let actions = try ActionsFile.parse(yaml: "actions:\n  - intent: lights\n    exec: [\"/bin/sh\", \"\(script)\", \"{state}\", \"{car}\"]\n")
        let audit = try AuditLog(directory: dir + "/audit")
        let segmenter = try SpeechSegmenter(detector: try EnergyVAD())
        let recognizer = LengthRecognizer()
        let loop = ListenLoop(segmenter: segmenter, recognizer: recognizer, actions: actions, audit: audit,
                              stdoutLine: { _ in }, statusLine: { _ in })
        let samples = bursts([1.2, 0.3])
        let summary = try loop.run(source: FileSource(samples: samples, realtime: false))
        #expect(summary.utterances == 2 && summary.actionsRun == 1 && recognizer.calls == 2)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "on\n3; rm -rf /\n")
        let lines = try String(contentsOfFile: dir + "/audit/audit.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)   // executing (write-ahead), executed, not-understood
        let records = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let ran = records.first { $0["decision"] as? String == "executed" }
        let ahead = records.first { $0["decision"] as? String == "executing" }
        #expect(ahead?["id"] as? String == ran?["id"] as? String && ahead?["argv"] as? [String] == ran?["argv"] as? [String])
        let refused = records.first { $0["decision"] as? String == "not-understood" }
        #expect(ran?["exit_code"] as? Int == 0 && ran?["argv"] as? [String] == ["/bin/sh", script, "on", "3; rm -rf /"])
        #expect(refused?["reason"] as? String == "not-understood")
        for r in records where r["decision"] as? String != "executed" {   // the outcome names no clip
            let clip = dir + "/audit/" + (r["clip"] as? String ?? "missing")
            #expect(FileManager.default.fileExists(atPath: clip))
        }
        // The first utterance is the 1.2 s burst plus pre/post-roll.
        let audioMs = ran?["audio_ms"] as? Double ?? 0
        #expect(audioMs > 1200 && audioMs < 1800)
    }

    @Test func stopFinishesTheUtteranceInFlight() throws {
        let segmenter = try SpeechSegmenter(detector: try EnergyVAD())
        let recognizer = LengthRecognizer()
        let actions = try ActionsFile.parse(yaml: "actions:\n  - intent: lights\n    emit: json\n")
        let emitted = LockedLines()
        let loop = ListenLoop(segmenter: segmenter, recognizer: recognizer, actions: actions, audit: nil,
                              stdoutLine: { emitted.append($0) }, statusLine: { _ in })
        // Stop is requested in the middle of the burst: the loop keeps reading until it ends.
        let source = FileSource(samples: bursts([1.5, 1.5]), realtime: false)
        var frames = 0
        loop.shouldStop = { frames += 1; return frames > 30 }   // ~1.9 s into the stream (1024-sample reads), inside the first burst
        let summary = try loop.run(source: source)
        #expect(summary.utterances == 1 && summary.actionsRun == 1)
        #expect(emitted.lines.count == 1 && emitted.lines[0].contains("\"intent\":\"lights\""))
        #expect(summary.samples < 16000 * 7 / 2)   // stopped before the second burst (3.5 s)
    }

    @Test func frameLoopAllocatesNothingOnSilence() throws {
        let segmenter = try SpeechSegmenter(detector: try EnergyVAD())
        let actions = try ActionsFile.parse(yaml: "actions: []\n")
        let loop = ListenLoop(segmenter: segmenter, recognizer: LengthRecognizer(), actions: actions, audit: nil,
                              stdoutLine: { _ in }, statusLine: { _ in })
        let source = FileSource(samples: [Float](repeating: 0.0005, count: 16000 * 10), realtime: false)
        _ = try loop.run(source: FileSource(samples: [Float](repeating: 0.0005, count: 16000), realtime: false))  // warm up
        bora_alloc_count_reset()
        bora_alloc_count_enable_thread(1)
        let summary = try loop.run(source: source)
        bora_alloc_count_enable_thread(0)
        #expect(summary.utterances == 0)
        #expect(bora_alloc_count_supported() != 0)
        #expect(bora_alloc_count_allocations() == 0)
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ s: String) { lock.lock(); storage.append(s); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return storage }
}
