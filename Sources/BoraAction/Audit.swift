import BoraAudio
import BoraCore
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
/// Thread-safe: exec actions complete their record from a waiter thread.
public final class AuditLog: Sendable {
    public let directory: String
    public var logPath: String { directory + "/audit.jsonl" }
    private let fd: Int32
    private let lock = Mutex<Int>(0)  // records written

    /// Opens (creating when needed) `directory`, `directory/clips` and `directory/audit.jsonl`.
    public init(directory: String) throws(AuditError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory + "/clips", withIntermediateDirectories: true)
        } catch {
            throw AuditError(path: directory, "cannot create the audit directory (\(error.localizedDescription)); choose a writable --audit DIR")
        }
        let fd = open(directory + "/audit.jsonl", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw AuditError(path: directory + "/audit.jsonl", "cannot open for appending (\(String(cString: strerror(errno)))); check permissions")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Records appended since this log was opened.
    public var recordsWritten: Int { lock.withLock { $0 } }

    /// The clip path for an utterance id.
    public func clipPath(id: String) -> String { directory + "/clips/\(id).opus" }

    /// Writes the utterance audio to `clips/ID.opus`; returns the path relative to the directory.
    public func writeClip(id: String, samples: UnsafeBufferPointer<Float>) throws(AudioError) -> String {
        try OpusFileWriter(bitrate: 16000).write(samples, to: clipPath(id: id))
        return "clips/\(id).opus"
    }

    /// Appends one record (a JSON object, keys sorted) as one line and fsyncs it.
    public func append(_ record: [String: Any]) throws(AuditError) {
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) } catch {
            throw AuditError(path: logPath, "record is not JSON-serializable (\(error)); this is a Bora bug")
        }
        var line = [UInt8](data)
        line.append(0x0A)
        try lock.withLock { (count: inout Int) throws(AuditError) in
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
            count += 1
        }
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
    /// `ran`, `dry-run`, `refused` or `error`.
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
        return o
    }
}

extension AuditLog {
    /// Appends `record.json`.
    public func append(record: AuditRecord) throws(AuditError) { try append(record.json) }
}
