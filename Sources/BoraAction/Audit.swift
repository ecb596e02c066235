import BoraAudio
import BoraCore
import BoraModels
import Foundation
import Synchronization

/// The audit directory cannot be created or written.
public struct AuditError: BoraInputError, Equatable {
    public let path: String
    public let message: String
    public init(path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// Append-only audit trail in a directory: `audit.jsonl` (one JSON object per utterance, each
/// written with a single `write` on an `O_APPEND` descriptor and `fsync`'d) and `clips/ID.opus`
/// (the utterance audio, Ogg Opus at 16 kbit/s, written atomically by `OpusFileWriter`).
/// **Hash chain**: every record carries `"prev"`, the sha256 (hex) of the previous record's line
/// (64 zeros for the first record ever), so `verify` detects a deleted, reordered or edited record.
/// A crash mid-write leaves at most a partial last line: `verify` reports the log valid up to the
/// last whole record, and reopening truncates the partial line and continues the chain.
/// **Rotation**: when `audit.jsonl` would exceed `maxBytes` it is renamed to
/// `audit-<UTC time>.jsonl` and a new file continues the chain.
/// Thread-safe: exec actions complete their record from a waiter thread.
public final class AuditLog: Sendable {
    public let directory: String
    public var logPath: String { directory + "/audit.jsonl" }
    public let maxBytes: Int
    private struct State { var fd: Int32; var records = 0; var previous: String; var size: Int }
    private let lock: Mutex<State>

    /// The hash of "no previous record".
    public static let genesis = String(repeating: "0", count: 64)

    /// Opens (creating when needed) `directory`, `directory/clips` and `directory/audit.jsonl`;
    /// a partial last line (a crash mid-write) is cut off and the chain continues from the last
    /// whole record. Rotates at `maxBytes` (default 64 MiB).
    public init(directory: String, maxBytes: Int = 64 << 20) throws(AuditError) {
        self.directory = directory
        self.maxBytes = maxBytes
        do {
            try FileManager.default.createDirectory(atPath: directory + "/clips", withIntermediateDirectories: true)
        } catch {
            throw AuditError(path: directory, "cannot create the audit directory (\(error.localizedDescription)); choose a writable --audit DIR")
        }
        let path = directory + "/audit.jsonl"
        // Continue the chain: from this file's last whole line, else from the newest rotated file.
        var previous = AuditLog.genesis
        var size = 0
        if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
            let bytes = [UInt8](data)
            let end = (bytes.lastIndex(of: 0x0A) ?? -1) + 1  // bytes after `end` are a partial line
            if end < bytes.count && truncate(path, off_t(end)) != 0 {
                throw AuditError(path: path, "cannot cut the partial last record (\(String(cString: strerror(errno)))); check permissions")
            }
            size = end
            if let last = AuditLog.lines(bytes[0..<end]).last { previous = AuditLog.hash(last) }
        } else if let rotated = AuditLog.logFiles(directory).dropLast().last,
                  let data = FileManager.default.contents(atPath: directory + "/" + rotated),
                  let last = AuditLog.lines([UInt8](data)[...]).last {
            previous = AuditLog.hash(last)
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw AuditError(path: path, "cannot open for appending (\(String(cString: strerror(errno)))); check permissions")
        }
        lock = Mutex(State(fd: fd, previous: previous, size: size))
    }

    deinit { _ = lock.withLock { close($0.fd) } }

    /// Records appended since this log was opened.
    public var recordsWritten: Int { lock.withLock { $0.records } }

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
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("audit-") && $0.hasSuffix(".jsonl") }.sorted()
            + (names.contains("audit.jsonl") ? ["audit.jsonl"] : [])
    }

    /// The clip path for an utterance id.
    public func clipPath(id: String) -> String { directory + "/clips/\(id).opus" }

    /// Writes the utterance audio to `clips/ID.opus`; returns the path relative to the directory.
    public func writeClip(id: String, samples: UnsafeBufferPointer<Float>) throws(AudioError) -> String {
        try OpusFileWriter(bitrate: 16000).write(samples, to: clipPath(id: id))
        return "clips/\(id).opus"
    }

    /// Appends one record (a JSON object, keys sorted, plus `"prev"`) as one line and fsyncs it.
    public func append(_ record: [String: Any]) throws(AuditError) {
        try lock.withLock { (state: inout State) throws(AuditError) in
            var chained = record
            chained["prev"] = state.previous
            let data: Data
            do { data = try JSONSerialization.data(withJSONObject: chained, options: [.sortedKeys]) } catch {
                throw AuditError(path: logPath, "record is not JSON-serializable (\(error)); this is a Bora bug")
            }
            var line = [UInt8](data)
            let digest = AuditLog.hash(line)
            line.append(0x0A)
            if state.size > 0 && state.size + line.count > maxBytes {
                // Rotate: the chain continues into the new file through `previous`.
                let stamp = directory + "/audit-" + AuditLog.timestamp().replacingOccurrences(of: ":", with: "")
                var rotated = stamp + ".jsonl", n = 1
                while FileManager.default.fileExists(atPath: rotated) { rotated = stamp + "-\(n).jsonl"; n += 1 }
                close(state.fd)
                guard rename(logPath, rotated) == 0 else {
                    throw AuditError(path: logPath, "cannot rotate (\(String(cString: strerror(errno)))); check permissions")
                }
                let fd = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
                guard fd >= 0 else { throw AuditError(path: logPath, "cannot reopen after rotation (\(String(cString: strerror(errno))))") }
                state.fd = fd
                state.size = 0
            }
            let fd = state.fd
            var off = 0
            while off < line.count {
                let n = line.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw AuditError(path: logPath, "write failed (\(String(cString: strerror(errno)))); check free space")
                }
                off += n
            }
            if fsync(fd) != 0 { throw AuditError(path: logPath, "fsync failed (\(String(cString: strerror(errno))))") }
            state.records += 1
            state.size += line.count
            state.previous = digest
        }
    }

    /// What `verify` found.
    public struct Verification: Sendable, Equatable {
        /// Whole records checked, over all log files.
        public var records = 0
        /// Files checked, in chain order.
        public var files: [String] = []
        /// The first problem ("file:line: …"), nil when the chain is intact.
        public var problem: String?
        /// True when the last file ends in a partial line (a crash during a write); the records
        /// before it are still verified.
        public var incompleteTail = false
        /// Clips named by records but missing on disk.
        public var missingClips: [String] = []
        public var ok: Bool { problem == nil }
    }

    /// Checks the hash chain of every log file in `directory`: each record is JSON with a
    /// `"prev"` equal to the sha256 of the record before it. The first record's `"prev"` is not
    /// checked (64 zeros for a new log; a rotated-away predecessor's hash otherwise).
    public static func verify(directory: String) throws(AuditError) -> Verification {
        var v = Verification()
        let files = logFiles(directory)
        guard !files.isEmpty else { throw AuditError(path: directory, "no audit.jsonl here; pass the --audit DIR of bora listen") }
        var previous: String?
        for (index, name) in files.enumerated() {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw AuditError(path: directory + "/" + name, "cannot read; check permissions")
            }
            v.files.append(name)
            let bytes = [UInt8](data)
            if index == files.count - 1, let lastByte = bytes.last, lastByte != 0x0A { v.incompleteTail = true }
            for (n, line) in lines(bytes[...]).enumerated() {
                let whereAt = "\(name):\(n + 1)"
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let prev = object["prev"] as? String else {
                    v.problem = "\(whereAt): not a JSON record with \"prev\" (edited or corrupted)"
                    return v
                }
                if let expected = previous, prev != expected {
                    v.problem = "\(whereAt): \"prev\" does not match the record before it (a record was deleted, reordered or edited)"
                    return v
                }
                if let clip = object["clip"] as? String, !FileManager.default.fileExists(atPath: directory + "/" + clip) {
                    v.missingClips.append(clip)
                }
                previous = hash(line)
                v.records += 1
            }
        }
        return v
    }

    /// ISO 8601 UTC with milliseconds.
    public static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}

/// One utterance in the audit trail. `json` gives the object written to `audit.jsonl`; absent
/// optionals are left out.
public struct AuditRecord: Sendable, Equatable {
    public var time: String
    public var id: String
    public var transcript: String
    public var understood: Bool
    public var intent: String
    public var slots: [String: String]
    public var confidence: Float
    /// `executed`, `dry-run`, `awaiting-confirm`, `confirmed`, `expired`, `not-understood`,
    /// `rejected-low-confidence`, `rejected-no-action`, `rejected-conditions-unmatched`,
    /// `rejected-cooldown` or `error` (see `ListenLoop`).
    public var decision: String
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
    /// Recognition time (mel + encoder + decoder), ms.
    public var recognizeMs: Double
    /// End of speech detected (endpoint) → action started (or decision made when nothing runs), ms.
    public var latencyMs: Double
    /// The Opus clip, relative to the audit directory.
    public var clip: String?
    /// For `confirmed`/`expired` records and answers heard while waiting: the id of the
    /// utterance whose action awaited confirmation.
    public var confirms: String?

    public init(time: String, id: String, recognition: Recognition, decision: String, reason: String,
                startMs: Double, audioMs: Double, latencyMs: Double) {
        self.time = time; self.id = id; transcript = recognition.transcript; understood = recognition.understood
        intent = recognition.intent; slots = recognition.slots; confidence = recognition.confidence
        self.decision = decision; self.reason = reason; self.startMs = startMs; self.audioMs = audioMs
        recognizeMs = recognition.recognizeMs; self.latencyMs = latencyMs
    }

    public var json: [String: Any] {
        func r(_ x: Double) -> Double { (x * 10).rounded() / 10 }
        var o: [String: Any] = [
            "time": time, "id": id, "transcript": transcript, "understood": understood, "intent": intent,
            "slots": slots, "confidence": (Double(confidence) * 1000).rounded() / 1000, "decision": decision,
            "reason": reason, "start_ms": r(startMs), "audio_ms": r(audioMs), "recognize_ms": r(recognizeMs),
            "latency_ms": r(latencyMs), "timed_out": timedOut,
        ]
        if let action { o["action"] = action }
        if let actionKind { o["action_kind"] = actionKind }
        if let argv { o["argv"] = argv }
        if let exitCode { o["exit_code"] = Int(exitCode) }
        if let signal { o["signal"] = Int(signal) }
        if let execMs { o["exec_ms"] = r(execMs) }
        if let error { o["error"] = error }
        if let clip { o["clip"] = clip }
        if let confirms { o["confirms"] = confirms }
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
