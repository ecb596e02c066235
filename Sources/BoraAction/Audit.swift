import BoraAudio
import BoraCore
import BoraIntent
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// The audit directory cannot be created or written.
public struct AuditError: BoraInputError, Equatable {
    public let path: String
    public let message: String
    public init(path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// Append-only, tamper-evident audit trail in a directory:
///
/// - `audit.jsonl`: one JSON object per line, each written with one `write` on an `O_APPEND`
///   descriptor and `fsync`'d before `append` returns. Every record carries `"seq"` (0, 1, 2, …
///   over the whole trail) and `"prev"`, the sha256 (hex) of the previous record's line (64 zeros
///   before the first), so a deleted, reordered or edited record breaks the chain.
/// - **Sealed** when the directory was prepared with `AuditSeal.initialize` (`bora audit init`):
///   every line also ends in a forward-secure seal (see `AuditSeal`), and the device's key
///   evolves after each record.
/// - `clips/ID.opus`: the utterance audio (Ogg Opus, 16 kbit/s, complexity 5), written to a temp name, fsync'd
///   and renamed before the record that names it; the record carries its sha256 (`clip_sha256`).
/// - `lock`: held (`flock`) for the life of the object, so one process writes a directory.
///
/// Faults: a failed or partial write is cut back off the file before `append` throws, so the
/// next record never glues onto half a line; a crash mid-write leaves at most a partial last line,
/// cut when the log is reopened; leftover temp files are removed then. Files are created 0600 and
/// directories 0700 (0640/0750 and that group with `group`); the state file is always 0600.
/// **Rotation**: when `audit.jsonl` would exceed `maxBytes` it is renamed to
/// `audit-<UTC time>.jsonl` and a new file continues the chain.
/// Thread-safe: exec actions complete their record from a waiter thread.
public final class AuditLog: Sendable {
    public let directory: String
    public var logPath: String { directory + "/audit.jsonl" }
    public let maxBytes: Int
    /// The group that may read the trail (files 0640, directories 0750), or nil (0600/0700).
    public let group: gid_t?
    private struct State {
        var fd: Int32
        var records = 0
        var previous: String
        var size: Int
        var nextSeq: Int
        var seal: AuditSeal.State?
        /// A failed write could not be cut off; cut it before the next append.
        var dirty = false
    }
    private let lock: Locked<State>
    private let lockFD: Int32

    /// The hash of "no previous record".
    public static let genesis = String(repeating: "0", count: 64)

    var fileMode: mode_t { group == nil ? 0o600 : 0o640 }

    /// Opens (creating when needed) `directory`, `directory/clips` and `directory/audit.jsonl`,
    /// takes the directory's writer lock (an `AuditError` naming the other process when it is
    /// held), removes leftover temp files, cuts a partial last line and continues the chain (and
    /// the seal) from the last whole record. Fails when the log and its sealing state disagree.
    public init(directory: String, maxBytes: Int = 64 << 20, group: gid_t? = nil) throws(AuditError) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.group = group
        let dirMode: mode_t = group == nil ? 0o700 : 0o750
        try makeDirectory(directory, mode: dirMode, group: group)
        try makeDirectory(directory + "/clips", mode: dirMode, group: group)
        lockFD = try AuditLog.takeLock(directory)
        do {
            AuditLog.removeLeftovers(directory)
            lock = Locked(try AuditLog.openState(directory: directory, fileMode: group == nil ? 0o600 : 0o640, group: group))
        } catch {
            close(lockFD)
            throw error
        }
    }

    deinit {
        _ = lock.withLock { close($0.fd) }
        close(lockFD)
    }

    /// One writer per directory: `flock` on `DIR/lock`, which holds the writer's pid.
    private static func takeLock(_ directory: String) throws(AuditError) -> Int32 {
        let path = directory + "/lock"
        let fd = posixOpen(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AuditError(path: path, "cannot open the lock file (\(errorText(errno))); check permissions") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let owner = readWholeFile(path).map { String(decoding: $0.filter { $0 > 0x20 }, as: UTF8.self) } ?? "?"
            close(fd)
            throw AuditError(path: directory, "is in use by another bora process (pid \(owner)); one writer per audit directory: stop it or choose another --audit DIR")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return fd
    }

    /// Temp files of interrupted atomic writes (`*.tmp-XXXXXX`) in the directory and in clips/.
    private static func removeLeftovers(_ directory: String) {
        for dir in [directory, directory + "/clips"] {
            for name in directoryEntries(dir) ?? [] where name.hasSubstring(".tmp-") {
                unlink(dir + "/" + name)
            }
        }
    }

    /// Reads the tail of the chain, repairs a partial last line and reconciles the sealing state.
    private static func openState(directory: String, fileMode: mode_t, group: gid_t?) throws(AuditError) -> State {
        let path = directory + "/audit.jsonl"
        var seal = try AuditSeal.State.read(directory: directory)
        var previous = AuditLog.genesis
        var size = 0
        var lastLine: ArraySlice<UInt8>?
        // The newest whole record: audit.jsonl's last line, else the newest rotated file's.
        for name in logFiles(directory).reversed() {
            guard let bytes = readWholeFile(directory + "/" + name) else {
                throw AuditError(path: directory + "/" + name, "cannot read (\(errorText(errno))); check permissions")
            }
            var end = bytes.count
            if name == "audit.jsonl" {
                end = (bytes.lastIndex(of: 0x0A) ?? -1) + 1  // bytes after `end` are a partial line
                if end < bytes.count && truncate(path, off_t(end)) != 0 {
                    throw AuditError(path: path, "cannot cut the partial last record (\(errorText(errno))); check permissions")
                }
                size = end
            }
            if let last = AuditLog.lines(bytes[0..<end]).last { lastLine = last; break }
        }
        var nextSeq = 0
        if let last = lastLine {
            previous = AuditLog.hash(last)
            if let seq = (try? JSONValue.parse(last))?["seq"]?.int {
                nextSeq = seq + 1
            } else {
                // A log written before records carried "seq": count them all once.
                nextSeq = logFiles(directory).reduce(0) { n, name in
                    n + (readWholeFile(directory + "/" + name).map { AuditLog.lines($0[...]).count } ?? 0)
                }
            }
        }
        if var state = seal {
            // The state holds the key of the next record. A crash between a record's fsync and the
            // state's replacement leaves the state one record behind: finish that step now.
            if let last = lastLine, state.nextSeq == nextSeq - 1,
               let (sealed, tag) = AuditSeal.unseal(last), AuditSeal.seal(sealed, key: state.key) == tag {
                state.key = AuditSeal.evolve(state.key)
                state.nextSeq += 1
                try state.write(directory: directory)
                seal = state
            } else if state.nextSeq != nextSeq {
                throw AuditError(path: directory, "the audit log (next record \(nextSeq)) and its sealing state (next record \(state.nextSeq)) disagree: records were removed or the state was replaced. Run `bora audit verify \(directory) --key KEY`, then move the directory aside to start a new trail")
            }
        }
        let fd = posixOpen(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, UInt32(fileMode))
        guard fd >= 0 else {
            throw AuditError(path: path, "cannot open for appending (\(errorText(errno))); check permissions")
        }
        if size == 0 {
            fchmod(fd, fileMode)
            if let group { fchown(fd, uid_t.max, group) }
        }
        return State(fd: fd, previous: previous, size: size, nextSeq: nextSeq, seal: seal)
    }

    /// Records appended since this log was opened.
    public var recordsWritten: Int { lock.withLock { $0.records } }

    /// True when records are sealed (the directory has a sealing state).
    public var isSealed: Bool { lock.withLock { $0.seal != nil } }

    /// sha256 (hex) of one record line (without its newline).
    static func hash<C: Collection<UInt8>>(_ line: C) -> String {
        var h = SHA256()
        h.update(Array(line))
        return h.finalizeHex()
    }

    /// Whole lines (without newlines) of `bytes`; a trailing partial line is not included.
    static func lines(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = [], start = bytes.startIndex
        for i in bytes.indices where bytes[i] == 0x0A {
            out.append(bytes[start..<i])
            start = i + 1
        }
        return out
    }

    /// The log files of `directory` in chain order: rotated `audit-*.jsonl` by name, then `audit.jsonl`.
    static func logFiles(_ directory: String) -> [String] {
        let names = directoryEntries(directory) ?? []
        return names.filter { $0.hasPrefix("audit-") && $0.hasSuffix(".jsonl") }.sorted()
            + (names.contains("audit.jsonl") ? ["audit.jsonl"] : [])
    }

    /// The clip path for an utterance id.
    public func clipPath(id: String) -> String { directory + "/clips/\(id).opus" }

    /// A clip on disk: its path relative to the audit directory and the sha256 of its bytes.
    public struct Clip: Sendable, Equatable {
        public var path: String
        public var sha256: String
    }

    /// Encodes the utterance audio and writes it to `clips/ID.opus` (temp name, fsync, rename,
    /// fsync of clips/). Call before the record that names it.
    public func writeClip(id: String, samples: UnsafeBufferPointer<Float>) throws(AuditError) -> Clip {
        let path = clipPath(id: id)
        do {
            // Complexity 5: half the encoding time of 10 (≈ 9 vs 18 ms of clip work per 3 s
            // utterance, measured with `audit_ms`), which the write-ahead puts before every action.
            let bytes = try OpusFileWriter(bitrate: 16000, complexity: 5).encode(samples)
            var h = SHA256()
            bytes.withUnsafeBytes { h.update($0) }
            try AtomicFile.write(bytes, to: path, mode: fileMode, overwrite: false)   // a clip is never replaced
            if let group { chown(path, uid_t.max, group) }
            syncDirectory(directory + "/clips")
            return Clip(path: "clips/\(id).opus", sha256: h.finalizeHex())
        } catch {
            throw AuditError(path: path, "cannot write the clip (\(error))")
        }
    }

    /// Appends one record (a JSON object, keys sorted, plus `"seq"`, `"prev"` and, when sealed,
    /// `"seal"` last) as one line, fsyncs it and (sealed) evolves the key. Returns the record's seq.
    /// On failure nothing of the record remains in the log and the chain and key are unchanged:
    /// the caller can retry, and must not act as if the record exists.
    @discardableResult
    public func append(_ record: [String: JSONValue]) throws(AuditError) -> Int {
        try lock.withLock { (state: inout State) throws(AuditError) -> Int in
            if state.dirty {
                guard ftruncate(state.fd, off_t(state.size)) == 0 else {
                    throw AuditError(path: logPath, "cannot cut a failed write (\(errorText(errno)))")
                }
                state.dirty = false
            }
            var chained = record
            chained["prev"] = .string(state.previous)
            chained["seq"] = .int(state.nextSeq)
            var line = JSONValue.object(chained).serializedBytes()
            if let seal = state.seal { line = AuditSeal.sealLine(line, key: seal.key) }
            let digest = AuditLog.hash(line)
            line.append(0x0A)
            if state.size > 0 && state.size + line.count > maxBytes { try rotate(&state) }
            let fd = state.fd
            /// Cuts what this append wrote; on failure the next append tries again first.
            func cutBack() { if ftruncate(fd, off_t(state.size)) != 0 { state.dirty = true } }
            do throws(SystemError) { try writeAll(fd, line) } catch {
                cutBack()
                throw AuditError(path: logPath, "write failed (\(error)); check free space")
            }
            if fsync(fd) != 0 {
                let e = errno
                cutBack()
                throw AuditError(path: logPath, "fsync failed (\(errorText(e)))")
            }
            if var seal = state.seal {
                seal.key = AuditSeal.evolve(seal.key)
                seal.nextSeq = state.nextSeq + 1
                do throws(AuditError) { try seal.write(directory: directory) } catch {
                    // The record must not stay without its key step: take it back out.
                    cutBack()
                    fsync(fd)
                    throw error
                }
                state.seal = seal
            }
            state.records += 1
            state.size += line.count
            state.previous = digest
            state.nextSeq += 1
            return state.nextSeq - 1
        }
    }

    /// Renames `audit.jsonl` to `audit-<time>.jsonl` and opens a new one; the chain continues.
    private func rotate(_ state: inout State) throws(AuditError) {
        let stamp = directory + "/audit-" + String(AuditLog.timestamp().filter { $0 != ":" })
        var rotated = stamp + ".jsonl", n = 1
        while fileExists(rotated) { rotated = stamp + "-\(n).jsonl"; n += 1 }
        guard rename(logPath, rotated) == 0 else {
            throw AuditError(path: logPath, "cannot rotate (\(errorText(errno))); check permissions")
        }
        close(state.fd)
        let fd = posixOpen(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, UInt32(fileMode))
        guard fd >= 0 else { throw AuditError(path: logPath, "cannot reopen after rotation (\(errorText(errno)))") }
        fchmod(fd, fileMode)
        if let group { fchown(fd, uid_t.max, group) }
        syncDirectory(directory)
        state.fd = fd
        state.size = 0
    }

    /// Now as ISO 8601 UTC with milliseconds (`2024-05-01T12:34:56.789Z`, `iso8601UTCNow`).
    public static func timestamp() -> String { iso8601UTCNow() }
}

/// What happened to one utterance (or, for `executing`, what is about to happen): the audit
/// record's `decision`. The one list of decision names; the raw values are what `audit.jsonl` holds.
public enum AuditDecision: String, Sendable, CaseIterable {
    /// Written and fsync'd before an action starts (write-ahead); the outcome follows under the same id.
    case executing
    case executed
    case dryRun = "dry-run"
    case awaitingConfirm = "awaiting-confirm"
    case confirmed
    case expired
    /// Bora was stopped while the action ran; its process group was killed.
    case interrupted
    case notUnderstood = "not-understood"
    case rejectedLowConfidence = "rejected-low-confidence"
    case rejectedNoAction = "rejected-no-action"
    case rejectedConditionsUnmatched = "rejected-conditions-unmatched"
    case rejectedCooldown = "rejected-cooldown"
    case error
}

/// One utterance in the audit trail. `json` gives the object written to `audit.jsonl`; absent
/// optionals are left out.
public struct AuditRecord: Sendable, Equatable {
    public var time: String
    public var id: String
    /// The recognizer's result for this utterance, as the policy saw it. For a `confirmed` record
    /// its intent and slots are replaced by those of the command being confirmed.
    public var recognition: IntentResult
    public var transcript: String { get { recognition.transcript } set { recognition.transcript = newValue } }
    public var understood: Bool { recognition.understood }
    public var intent: String { get { recognition.intent } set { recognition.intent = newValue } }
    public var slots: [String: String] { get { recognition.slots } set { recognition.slots = newValue } }
    public var confidence: Float { recognition.confidence }
    /// See `AuditDecision` and `ListenLoop`.
    public var decision: AuditDecision
    /// `Decision.reason`, or the error text.
    public var reason: String
    /// The entry (`intent@line`) the decision is about.
    public var action: String?
    /// `exec`, `emit`, `socket` or `none`.
    public var actionKind: String?
    /// The substituted argv of an exec action.
    public var argv: [String]?
    public var exitCode: Int32?
    public var signal: Int32?
    public var timedOut: Bool = false
    public var execMs: Double?
    public var error: String?
    /// Utterance position in the stream and length, ms.
    public var startMs: Double, audioMs: Double
    /// Audit work before the action started (clip encoded and written, write-ahead record), ms:
    /// in the `executing` record up to its own append, in the outcome including it.
    public var auditMs: Double?
    /// Recognition time (mel + encoder + decoder), ms; 0 for records no recognition produced.
    public var recognizeMs: Double
    /// End of speech detected (endpoint) → action started (or decision made when nothing runs), ms.
    public var latencyMs: Double
    /// The Opus clip, relative to the audit directory, and the sha256 of its bytes.
    public var clip: String?
    public var clipSHA256: String?
    /// An exec action's stdout+stderr: the first `Dispatcher.outputCapBytes` bytes (as UTF-8),
    /// the total byte count, the sha256 of all of it, and whether it was cut.
    public var output: String?
    public var outputBytes: Int?
    public var outputSHA256: String?
    public var outputTruncated = false
    /// The payload sent by an `emit`/`socket` action (the JSON line).
    public var payload: String?
    /// For `confirmed`/`expired` records and answers heard while waiting: the id of the
    /// utterance whose action awaited confirmation.
    public var confirms: String?

    public init(time: String, id: String, recognition: IntentResult, decision: AuditDecision, reason: String,
                startMs: Double, audioMs: Double, latencyMs: Double) {
        self.time = time; self.id = id; self.recognition = recognition
        self.decision = decision; self.reason = reason; self.startMs = startMs; self.audioMs = audioMs
        recognizeMs = recognition.recognizeMilliseconds; self.latencyMs = latencyMs
    }

    public var json: [String: JSONValue] {
        func r(_ x: Double) -> JSONValue { .double((x * 10).rounded() / 10) }
        var o: [String: JSONValue] = [
            "time": .string(time), "id": .string(id), "transcript": .string(transcript), "understood": .bool(understood),
            "intent": .string(intent), "slots": JSONValue(slots), "confidence": .double((Double(confidence) * 1000).rounded() / 1000),
            "decision": .string(decision.rawValue), "reason": .string(reason), "start_ms": r(startMs), "audio_ms": r(audioMs),
            "recognize_ms": r(recognizeMs), "latency_ms": r(latencyMs), "timed_out": .bool(timedOut),
        ]
        if let action { o["action"] = .string(action) }
        if let actionKind { o["action_kind"] = .string(actionKind) }
        if let argv { o["argv"] = JSONValue(argv) }
        if let exitCode { o["exit_code"] = .int(Int(exitCode)) }
        if let signal { o["signal"] = .int(Int(signal)) }
        if let execMs { o["exec_ms"] = r(execMs) }
        if let auditMs { o["audit_ms"] = r(auditMs) }
        if let error { o["error"] = .string(error) }
        if let clip { o["clip"] = .string(clip) }
        if let clipSHA256 { o["clip_sha256"] = .string(clipSHA256) }
        if let output { o["output"] = .string(output) }
        if let outputBytes { o["output_bytes"] = .int(outputBytes); o["output_truncated"] = .bool(outputTruncated) }
        if let outputSHA256 { o["output_sha256"] = .string(outputSHA256) }
        if let payload { o["payload"] = .string(payload) }
        if let confirms { o["confirms"] = .string(confirms) }
        return o
    }

    /// Fills `action` and `actionKind` from the entry the decision is about.
    public mutating func describe(_ entry: ActionEntry) {
        action = entry.name
        switch entry.target {
        case .exec: actionKind = "exec"
        case .emitJSON: actionKind = "emit"
        case .socket: actionKind = "socket"
        case .none: actionKind = "none"
        }
    }
}

extension AuditLog {
    /// Appends `record.json`.
    public func append(record: AuditRecord) throws(AuditError) { try append(record.json) }
}
