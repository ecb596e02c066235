import BoraAudio
import BoraIntent
import Foundation
import Synchronization

/// A stream of 16 kHz mono samples: an ALSA capture or a file fed at real-time pace.
public protocol SampleSource: AnyObject {
    /// Copies up to `output.count` samples, waiting at most `timeoutMs` for some; 0 = none yet.
    func read(into output: UnsafeMutableBufferPointer<Float>, timeoutMs: Int) throws -> Int
    /// True when no more samples will come.
    var isFinished: Bool { get }
}

extension AudioCapture: SampleSource {}

/// A decoded recording served as a stream: at the nominal rate (`realtime`, samples become
/// readable as wall time passes) or as fast as it is read.
public final class FileSource: SampleSource {
    public let samples: [Float]
    public let realtime: Bool
    private var position = 0
    private var startTime: Double?

    public init(samples: [Float], realtime: Bool) { self.samples = samples; self.realtime = realtime }

    public var isFinished: Bool { position >= samples.count }

    public func read(into output: UnsafeMutableBufferPointer<Float>, timeoutMs: Int) throws -> Int {
        var available = samples.count - position
        if realtime {
            let start = startTime ?? monotonicSeconds()
            startTime = start
            var due = Int((monotonicSeconds() - start) * 16000) - position
            if due <= 0 {
                // Sleep until one output buffer is due (bounded by the timeout).
                let waitS = min(Double(output.count) / 16000, Double(timeoutMs) / 1000)
                usleep(UInt32(waitS * 1_000_000))
                due = Int((monotonicSeconds() - start) * 16000) - position
            }
            available = min(available, max(due, 0))
        }
        let n = min(available, output.count)
        if n > 0 {
            samples.withUnsafeBufferPointer { all in
                _ = output.initialize(from: all[position..<position + n])
            }
            position += n
        }
        return n
    }
}

/// Speech to intent for one utterance (the loop's view of `IntentRecognizer`, replaceable in tests).
public protocol UtteranceRecognizer: AnyObject {
    func recognizeUtterance(_ samples: UnsafeBufferPointer<Float>) throws -> Recognition
}

extension IntentRecognizer: UtteranceRecognizer {
    public func recognizeUtterance(_ samples: UnsafeBufferPointer<Float>) throws -> Recognition {
        Recognition(try recognize(samples))
    }
}

/// What `ListenLoop.run` did.
public struct ListenSummary: Sendable {
    public var utterances = 0
    public var actionsRun = 0
    public var samples = 0
    /// Endpoint → action started, ms, for every utterance that ran an action.
    public var actionLatenciesMs: [Double] = []
    public var auditErrors = 0
}

/// The voice-to-action loop: source → frames → VAD/endpointer (audio history kept in a
/// preallocated ring) → recognizer on each utterance → policy → action → audit. Runs until the
/// source finishes or `shouldStop()` returns true; an utterance in flight at a stop is finished
/// (up to 5 s more audio, then closed with silence). Exec actions are waited for on their own
/// threads; `run` returns after all of them have ended and their records are written.
///
/// The per-frame path (read, copy into history, VAD, endpointer) allocates nothing.
public final class ListenLoop: @unchecked Sendable {
    public let segmenter: SpeechSegmenter
    public let recognizer: any UtteranceRecognizer
    public var policy: Policy
    public let audit: AuditLog?
    /// Receives one JSON line per event (`--json`) and the lines of `emit: json` actions.
    public let stdoutLine: @Sendable (String) -> Void
    /// Receives one human status line per utterance.
    public let statusLine: @Sendable (String) -> Void
    /// Also print every utterance event (as JSON) on `stdoutLine`.
    public var jsonEvents = false
    /// Called between frames; returning true starts a clean shutdown.
    public var shouldStop: () -> Bool = { false }
    /// Called between frames; a returned `ActionsFile` replaces the running policy (SIGHUP reload).
    public var pendingReload: () -> ActionsFile? = { nil }

    private let frameSamples: Int
    private let history: UnsafeMutableBufferPointer<Float>   // ring indexed by absolute sample position
    private let utterance: UnsafeMutableBufferPointer<Float>
    private let readBuffer: UnsafeMutableBufferPointer<Float>
    private let frame: UnsafeMutableBufferPointer<Float>
    private var position = 0   // samples pushed through the segmenter
    private var sequence = 0
    private let sessionId: String
    private let waiters = DispatchGroup()
    private let outcome = Mutex(ListenSummary())

    public init(segmenter: SpeechSegmenter, recognizer: any UtteranceRecognizer, actions: ActionsFile, audit: AuditLog?,
                stdoutLine: @escaping @Sendable (String) -> Void, statusLine: @escaping @Sendable (String) -> Void) {
        self.segmenter = segmenter
        self.recognizer = recognizer
        policy = Policy(actions: actions)
        self.audit = audit
        self.stdoutLine = stdoutLine
        self.statusLine = statusLine
        frameSamples = segmenter.detector.frameSamples
        let o = segmenter.endpointer.options
        let historySamples = (o.maxUtteranceMs + o.preRollMs + o.startMs + 2000) * o.sampleRate / 1000
        history = .allocate(capacity: historySamples); history.initialize(repeating: 0)
        utterance = .allocate(capacity: historySamples); utterance.initialize(repeating: 0)
        readBuffer = .allocate(capacity: 1024); readBuffer.initialize(repeating: 0)
        frame = .allocate(capacity: frameSamples); frame.initialize(repeating: 0)
        var t = timespec(); clock_gettime(CLOCK_REALTIME, &t)
        sessionId = String(format: "%010d", t.tv_sec)
    }

    deinit { history.deallocate(); utterance.deallocate(); readBuffer.deallocate(); frame.deallocate() }

    /// Runs until the source ends or a stop is requested; returns counts and latencies.
    public func run(source: any SampleSource) throws -> ListenSummary {
        segmenter.reset()
        var filled = 0            // samples in `frame`
        var stopAt: Double?       // a stop was requested at this time
        while true {
            if stopAt == nil, shouldStop() { stopAt = monotonicSeconds() }
            if let s = stopAt, !segmenter.endpointer.isSpeaking || monotonicSeconds() - s > 5 { break }
            if let reload = pendingReload() { policy.replace(actions: reload) }
            if source.isFinished { break }
            let n = try source.read(into: readBuffer, timeoutMs: 100)
            var i = 0
            while i < n {
                let take = min(n - i, frameSamples - filled)
                frame.baseAddress!.advanced(by: filled).update(from: readBuffer.baseAddress!.advanced(by: i), count: take)
                filled += take; i += take
                if filled == frameSamples { try pushFrame(); filled = 0 }
            }
        }
        // Close the stream: pad the partial frame, then feed silence until the utterance ends.
        if filled > 0 {
            frame.baseAddress!.advanced(by: filled).update(repeating: 0, count: frameSamples - filled)
            try pushFrame()
        }
        var guardFrames = 0
        while segmenter.endpointer.isSpeaking && guardFrames < 200 {
            frame.update(repeating: 0)
            try pushFrame()
            guardFrames += 1
        }
        waiters.wait()
        return outcome.withLock { s in s.samples = position; return s }
    }

    /// One frame: into the history ring, through the detector and endpointer. Allocates nothing
    /// unless the frame ends an utterance.
    private func pushFrame() throws {
        let cap = history.count
        for j in 0..<frameSamples { history[(position + j) % cap] = frame[j] }
        position += frameSamples
        let (_, event) = try segmenter.process(frame: UnsafeBufferPointer(frame))
        if case let .speechEnded(segment) = event { handle(segment) }
    }

    private func handle(_ segment: SpeechSegment) {
        let endpointAt = monotonicSeconds()
        sequence += 1
        let id = "\(sessionId)-\(String(format: "%04d", sequence))"
        let start = max(segment.startSample, position - history.count)
        let count = segment.endSample - start
        for j in 0..<count { utterance[j] = history[(start + j) % history.count] }
        let audio = UnsafeBufferPointer(rebasing: utterance[0..<count])
        let time = AuditLog.timestamp()

        var recognition: Recognition
        var failure: String?
        do { recognition = try recognizer.recognizeUtterance(audio) } catch {
            failure = "\(error)"
            recognition = Recognition(understood: false, intent: "", confidence: 0)
        }
        let decision = policy.decide(recognition, now: monotonicSeconds())
        let dryRun = policy.actions.dryRun
        var record = AuditRecord(time: time, id: id, recognition: recognition,
                                 decision: failure != nil ? "error" : decision.ran ? (dryRun ? "dry-run" : "ran") : "refused",
                                 reason: failure ?? decision.reason, startMs: segment.startMs,
                                 audioMs: Double(count) * 1000 / 16000, latencyMs: 0)
        if let entry = decision.entry {
            record.action = entry.name
            switch entry.target {
            case .exec: record.actionKind = "exec"
            case .emitJSON: record.actionKind = "emit"
            case .socket: record.actionKind = "socket"
            case .none: record.actionKind = "none"
            }
        }
        var pid: pid_t?
        var timeout = 0.0
        var startedAt = 0.0
        if case let .run(entry) = decision, !dryRun {
            let event = actionEvent(id: id, time: time, recognition: recognition)
            switch entry.target {
            case let .exec(argv):
                let args = Dispatcher.substitute(argv, slots: recognition.slots)
                record.argv = args
                startedAt = monotonicSeconds()
                do { pid = try Dispatcher.spawn(args); timeout = entry.timeoutSeconds } catch {
                    record.decision = "error"; record.error = error.description
                }
            case .emitJSON:
                stdoutLine(event)
            case let .socket(path):
                do { try Dispatcher.send(line: event, toSocket: path) } catch {
                    record.decision = "error"; record.error = error.description
                }
            case .none: break
            }
        } else if case let .run(entry) = decision, case let .exec(argv) = entry.target {
            record.argv = Dispatcher.substitute(argv, slots: recognition.slots)
        }
        record.latencyMs = (monotonicSeconds() - endpointAt) * 1000
        let ran = decision.ran && !dryRun && record.error == nil
        if let audit {
            do { record.clip = try audit.writeClip(id: id, samples: audio) } catch {
                record.error = (record.error.map { $0 + "; " } ?? "") + "clip: \(error)"
            }
        }
        outcome.withLock { s in
            s.utterances += 1
            if ran { s.actionsRun += 1; s.actionLatenciesMs.append(record.latencyMs) }
        }
        if let pid {
            let finalRecord = record
            let (timeout, startedAt) = (timeout, startedAt)
            waiters.enter()
            Thread.detachNewThread { [self] in
                var r = finalRecord
                let result = Dispatcher.wait(pid: pid, timeoutSeconds: timeout, startedAt: startedAt)
                r.exitCode = result.exitCode; r.signal = result.signal; r.timedOut = result.timedOut; r.execMs = result.durationMs
                finish(r)
                waiters.leave()
            }
        } else {
            finish(record)
        }
    }

    private func finish(_ record: AuditRecord) {
        if let audit {
            do { try audit.append(record: record) } catch {
                outcome.withLock { $0.auditErrors += 1 }
                statusLine("bora: audit: \(error.description)")
            }
        }
        statusLine(Self.status(record))
        if jsonEvents, let data = try? JSONSerialization.data(withJSONObject: ["event": "utterance"].merging(record.json) { a, _ in a },
                                                              options: [.sortedKeys]) {
            stdoutLine(String(decoding: data, as: UTF8.self))
        }
    }

    private func actionEvent(id: String, time: String, recognition: Recognition) -> String {
        let o: [String: Any] = ["event": "action", "id": id, "time": time, "intent": recognition.intent,
                                "slots": recognition.slots, "confidence": Double(recognition.confidence),
                                "transcript": recognition.transcript]
        guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// One human line: `ID  ran|refused|…  intent {slots} (confidence) — reason/exit, latency`.
    static func status(_ r: AuditRecord) -> String {
        let slots = r.slots.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let what = r.understood ? "\(r.intent) {\(slots)} (\(String(format: "%.2f", r.confidence)))" : "not understood (heard \"\(r.transcript)\")"
        var tail = r.reason
        if let code = r.exitCode { tail += ", exit \(code)" }
        if let sig = r.signal { tail += ", signal \(sig)\(r.timedOut ? " (timeout)" : "")" }
        if let e = r.error { tail += ", \(e)" }
        return "\(r.id)  \(r.decision)  \(what)  \(r.action ?? "-")  [\(tail)]  \(String(format: "%.0f", r.latencyMs)) ms"
    }
}
