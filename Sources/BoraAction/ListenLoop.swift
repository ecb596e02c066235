import BoraAudio
import BoraCore
import BoraIntent
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Why `ListenLoop.run` stopped early: the audio source failed, or the audio's rate does not fit
/// the segmenter (or the VAD failed). Bad input like the errors it carries (exit code 3 in the CLI);
/// `description` is theirs.
public enum ListenError: BoraInputError, Equatable {
    case audio(AudioError)
    case vad(VADError)

    public var description: String {
        switch self {
        case let .audio(e): return e.description
        case let .vad(e): return e.description
        }
    }
}

/// A stream of mono samples at `sampleRate`: an ALSA capture or a file fed at real-time pace.
public protocol SampleSource: AnyObject {
    /// The rate, Hz, of the samples `read` gives (`AudioClip.sampleRate` for BoraAudio's sources).
    var sampleRate: Int { get }
    /// Copies up to `output.count` samples, waiting at most `timeoutMs` for some; 0 = none yet.
    func read(into output: UnsafeMutableBufferPointer<Float>, timeoutMs: Int) throws(AudioError) -> Int
    /// True when the source will produce no new samples; `read` may still return buffered ones
    /// (a capture that reached its end), so consumers stop at a `read` of 0 after this is true.
    var isFinished: Bool { get }
    /// Samples lost because the consumer fell behind (0 for sources that wait for it).
    var droppedSamples: Int { get }
}

extension AudioCapture: SampleSource {
    public var droppedSamples: Int { stats.droppedSamples }
}

/// A recording served as a stream: paced (`pace` × the nominal rate: samples become readable as
/// wall time passes; 1 = real time) or, with `pace` nil, as fast as it is read. The samples come
/// from memory (`samples:`) or progressively from a `WAVStream` (flat memory for any length).
/// Never drops: the reader is the clock.
public final class FileSource: SampleSource {
    private enum Backing { case samples([Float]), stream(WAVStream) }
    private let backing: Backing
    public let pace: Double?
    public let sampleRate: Int
    private var position = 0
    private var startTime: Double?

    /// `samples` are at `sampleRate` (default `AudioClip.sampleRate`, what `AudioDecoder` gives).
    /// Precondition: `pace` is nil or > 0.
    public init(samples: [Float], pace: Double?, sampleRate: Int = AudioClip.sampleRate) {
        precondition(pace.map { $0 > 0 } ?? true)
        backing = .samples(samples); self.pace = pace; self.sampleRate = sampleRate
    }

    /// Streams a WAV file. Precondition: `pace` is nil or > 0.
    public init(stream: WAVStream, pace: Double?) {
        precondition(pace.map { $0 > 0 } ?? true)
        backing = .stream(stream); self.pace = pace; sampleRate = stream.sampleRate
    }

    /// `realtime` true is `pace` 1, false is unpaced.
    public convenience init(samples: [Float], realtime: Bool) { self.init(samples: samples, pace: realtime ? 1 : nil) }

    public var isFinished: Bool {
        switch backing {
        case let .samples(all): return position >= all.count
        case let .stream(stream): return stream.isFinished
        }
    }
    public var droppedSamples: Int { 0 }

    public func read(into output: UnsafeMutableBufferPointer<Float>, timeoutMs: Int) throws(AudioError) -> Int {
        var allowed = output.count
        if let pace {
            let start = startTime ?? monotonicSeconds()
            startTime = start
            let rate = Double(sampleRate) * pace
            var due = Int((monotonicSeconds() - start) * rate) - position
            if due <= 0 {
                // Sleep until one output buffer is due (bounded by the timeout).
                let waitS = min(Double(output.count) / rate, Double(timeoutMs) / 1000)
                usleep(UInt32(waitS * 1_000_000))
                due = Int((monotonicSeconds() - start) * rate) - position
            }
            allowed = min(allowed, max(due, 0))
        }
        guard allowed > 0 else { return 0 }
        let n: Int
        switch backing {
        case let .samples(all):
            n = min(allowed, all.count - position)
            if n > 0 {
                all.withUnsafeBufferPointer { src in _ = output.initialize(from: src[position..<position + n]) }
            }
        case let .stream(stream):
            n = try stream.read(into: UnsafeMutableBufferPointer(rebasing: output[0..<allowed]))
        }
        position += n
        return n
    }
}

/// What `ListenLoop.run` did.
public struct ListenSummary: Sendable {
    public var utterances = 0
    public var actionsRun = 0
    /// Actions that waited for a spoken answer, were confirmed, or expired (cancel, timeout, reload, stop).
    public var awaitingConfirm = 0, confirmed = 0, expired = 0
    /// Samples pushed through the loop, at `sampleRate`.
    public var samples = 0
    /// The rate of the audio, Hz (the segmenter's).
    public var sampleRate = AudioClip.sampleRate
    /// Samples the source lost because the loop fell behind (capture ring overflow).
    public var droppedSamples = 0
    /// Endpoint → action started, ms, for every utterance that ran an action.
    public var actionLatenciesMs: [Double] = []
    public var auditErrors = 0
    /// Actions not started because their write-ahead record could not be written.
    public var actionsRefused = 0
}

/// A configuration swapped in between frames (SIGHUP reload): new actions, and a new recognizer
/// when the context changed. Built completely before it is handed over, so a reload is atomic.
public struct ListenReload {
    public var actions: ActionsFile
    public var recognizer: (any UtteranceRecognizer)?
    public init(actions: ActionsFile, recognizer: (any UtteranceRecognizer)?) { self.actions = actions; self.recognizer = recognizer }
}

/// Builds reloads off the loop's thread (SIGHUP): compiling a large context takes seconds, and
/// the loop must keep listening meanwhile. `poll` is called between frames; a request starts
/// `build` on its own thread (a request during a build runs one more build after it), and a
/// finished build is handed over once. `build` returns nil on failure (it reports why itself),
/// so a failed reload leaves the running configuration untouched.
public final class BackgroundReload: @unchecked Sendable {
    private let build: @Sendable () -> ListenReload?
    private struct State {
        var building = false, requestedAgain = false
        var ready: ListenReload?
    }
    private let state = Locked(State())

    public init(build: @escaping @Sendable () -> ListenReload?) { self.build = build }

    /// Starts a build when `requested`; returns a finished reload, once, or nil.
    public func poll(requested: Bool) -> ListenReload? {
        let start = state.withLock { s -> Bool in
            guard requested else { return false }
            if s.building { s.requestedAgain = true; return false }
            s.building = true
            return true
        }
        if start { startBuild() }
        return state.withLock { s in
            defer { s.ready = nil }
            return s.ready
        }
    }

    /// True while a build runs (for tests and status).
    public var isBuilding: Bool { state.withLock { $0.building } }

    /// Runs one build on its own thread (8 MiB of stack: compiling a context recurses); `building`
    /// is already set. A request that came meanwhile starts the next build from that thread.
    private func startBuild() {
        let started = startDetachedThread(stackSize: 8 << 20) { [self] in
            let result = build()
            let again = state.withLock { s -> Bool in
                if let result { s.ready = result }
                if s.requestedAgain { s.requestedAgain = false; return true }
                s.building = false
                return false
            }
            if again { startBuild() }
        }
        if !started { state.withLock { $0.building = false } }
    }
}

/// The voice-to-action loop: source → frames → VAD/endpointer (audio history kept in a
/// preallocated ring) → recognizer on each utterance → policy → action → audit. Runs until the
/// source finishes or `shouldStop()` returns true; an utterance in flight at a stop is finished
/// (up to 5 s more audio, then closed with silence). Exec actions are waited for on their own
/// threads; `run` returns after all of them have ended and their records are written.
///
/// **Confirmation**: an entry with `confirm: true` does not run when matched; the utterance is
/// recorded `awaiting-confirm` and the next utterances are recognized against the built-in
/// yes/no grammar. "confirm" runs the action (`confirmed`); "cancel" expires it (`expired`,
/// reason `cancelled`); no answer within `confirm_timeout_s` of stream time expires it
/// (`timeout`), as do a reload and the end of the run. Anything else heard meanwhile runs nothing.
///
/// Audit decisions are `AuditDecision`s: every action run writes `executing` first (write-ahead),
/// then its outcome (`executed`, `confirmed`, `error`, `interrupted`) under the same id.
///
/// The per-frame path (read, copy into history, VAD, endpointer) allocates nothing.
public final class ListenLoop: @unchecked Sendable {
    public let segmenter: SpeechSegmenter
    public private(set) var recognizer: any UtteranceRecognizer
    public var policy: Policy
    public let audit: AuditLog?
    /// Receives one JSON line per event (`--json`) and the lines of `emit: json` actions.
    public let stdoutLine: @Sendable (String) -> Void
    /// Receives one human status line per utterance.
    public let statusLine: @Sendable (String) -> Void
    /// Also print every utterance event (as JSON) on `stdoutLine`.
    public var jsonEvents = false
    /// The account exec actions run as when their entry names no `user:` (`--action-user`).
    public var defaultActionUser: String?
    /// Called between frames; returning true starts a clean shutdown.
    public var shouldStop: () -> Bool = { false }
    /// Called between frames; a returned reload replaces the running actions (and recognizer).
    public var pendingReload: () -> ListenReload? = { nil }

    /// An action waiting for "confirm"/"cancel".
    private struct Pending {
        let id: String
        let entry: ActionEntry
        let recognition: IntentResult
        let deadline: Int   // absolute sample position
    }

    private let frameSamples: Int
    private let sampleRate: Int   // the segmenter's (its detector's)
    private let history: UnsafeMutableBufferPointer<Float>   // ring indexed by absolute sample position
    private let utterance: UnsafeMutableBufferPointer<Float>
    private let readBuffer: UnsafeMutableBufferPointer<Float>
    private let frame: UnsafeMutableBufferPointer<Float>
    private var position = 0   // samples pushed through the segmenter
    private var sequence = 0
    private var pending: Pending?
    private let sessionId: String
    /// Exec actions whose waiter threads have not finished yet.
    private let waiters = Atomic<Int>(0)
    private let outcome = Locked(ListenSummary())
    /// Set when a stop is requested: running exec actions are killed and recorded `interrupted`.
    private let interruptActions = Atomic<Bool>(false)

    public init(segmenter: SpeechSegmenter, recognizer: any UtteranceRecognizer, actions: ActionsFile, audit: AuditLog?,
                stdoutLine: @escaping @Sendable (String) -> Void, statusLine: @escaping @Sendable (String) -> Void) {
        self.segmenter = segmenter
        self.recognizer = recognizer
        policy = Policy(actions: actions)
        self.audit = audit
        self.stdoutLine = stdoutLine
        self.statusLine = statusLine
        frameSamples = segmenter.detector.frameSamples
        sampleRate = segmenter.sampleRate
        let o = segmenter.endpointer.options
        let historySamples = (o.maxUtteranceMs + o.preRollMs + o.startMs + 2000) * o.sampleRate / 1000
        history = .allocate(capacity: historySamples); history.initialize(repeating: 0)
        utterance = .allocate(capacity: historySamples); utterance.initialize(repeating: 0)
        readBuffer = .allocate(capacity: 1024); readBuffer.initialize(repeating: 0)
        frame = .allocate(capacity: frameSamples); frame.initialize(repeating: 0)
        var t = timespec(); clock_gettime(CLOCK_REALTIME, &t)
        // Seconds and milliseconds of the start: two runs into one directory (one after the
        // other: the writer lock forbids two at once) never share an utterance id or a clip name.
        sessionId = zeroPadded(Int(t.tv_sec), width: 10) + zeroPadded(Int(t.tv_nsec) / 1_000_000, width: 3)
    }

    deinit { history.deallocate(); utterance.deallocate(); readBuffer.deallocate(); frame.deallocate() }

    /// Runs until the source ends or a stop is requested; returns counts and latencies. Throws
    /// `.vad(VADError.wrongSampleRate)` before reading when the source's or the recognizer's rate
    /// is not the segmenter's, `.audio` when the source fails.
    public func run(source: any SampleSource) throws(ListenError) -> ListenSummary {
        do throws(VADError) {
            try segmenter.check(sampleRate: source.sampleRate, of: "the audio source")
            try segmenter.check(sampleRate: recognizer.sampleRate, of: "the speech model's audio")
        } catch { throw .vad(error) }
        segmenter.reset()
        var filled = 0            // samples in `frame`
        var stopAt: Double?       // a stop was requested at this time
        while true {
            if stopAt == nil, shouldStop() {
                stopAt = monotonicSeconds()
                interruptActions.store(true, ordering: .relaxed)
            }
            // A stop finishes the utterance in flight for at most 1 s (SIGTERM ends the loop in < 2 s).
            if let s = stopAt, !segmenter.endpointer.isSpeaking || monotonicSeconds() - s > 1 { break }
            if let reload = pendingReload() {
                if let p = pending { expire(p, reason: "reloaded") }
                policy.replace(actions: reload.actions)
                if let r = reload.recognizer { recognizer = r }
            }
            // Finished only once drained: a capture that reached its end (--max-seconds, a file
            // PCM read faster than real time) may still hold seconds of audio in its ring.
            let finished = source.isFinished
            let n: Int
            do throws(AudioError) { n = try source.read(into: readBuffer, timeoutMs: 100) } catch { throw .audio(error) }
            if n == 0 && finished { break }
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
        if let p = pending { expire(p, reason: "stopped") }
        // Actions still running finish on their own, unless a stop arrives meanwhile.
        var polls = 0
        while waiters.load(ordering: .acquiring) > 0 {
            usleep(5_000)
            polls += 1
            if polls % 10 == 0 && shouldStop() { interruptActions.store(true, ordering: .relaxed) }
        }
        let dropped = source.droppedSamples
        return outcome.withLock { s in s.samples = position; s.sampleRate = sampleRate; s.droppedSamples = dropped; return s }
    }

    /// One frame: into the history ring, through the detector and endpointer. Allocates nothing
    /// unless the frame ends an utterance or a confirmation expires.
    private func pushFrame() throws(ListenError) {
        let cap = history.count
        for j in 0..<frameSamples { history[(position + j) % cap] = frame[j] }
        position += frameSamples
        let event: EndpointEvent?
        do throws(VADError) { (_, event) = try segmenter.process(frame: UnsafeBufferPointer(frame)) } catch { throw .vad(error) }
        if case let .speechEnded(segment) = event {
            handle(segment)
        } else if let deadline = pending?.deadline, position > deadline, !segmenter.endpointer.isSpeaking {
            expire(pending!, reason: "timeout")   // per frame only the deadline is read, not the whole entry
        }
    }

    /// One utterance, in the order it happens: copy it out of the history ring, recognize it,
    /// decide (`decide`), write its clip, then either finish its record or run its action (`run`).
    private func handle(_ segment: SpeechSegment) {
        let endpointAt = monotonicSeconds()
        sequence += 1
        let id = "\(sessionId)-\(zeroPadded(sequence, width: 4))"
        let start = max(segment.startSample, position - history.count)
        let count = segment.endSample - start
        for j in 0..<count { utterance[j] = history[(start + j) % history.count] }
        let audio = UnsafeBufferPointer(rebasing: utterance[0..<count])
        let time = AuditLog.timestamp()
        // An answer must start before the deadline; speech that starts later is a new command.
        if let p = pending, segment.startSample > p.deadline { expire(p, reason: "timeout") }

        var recognition = IntentResult(understood: false, intent: "", confidence: 0)
        var failure: String?
        do { recognition = try recognizer.recognizeUtterance(audio, grammar: pending == nil ? .commands : .confirmation) } catch {
            failure = "\(error)"
        }
        var record = AuditRecord(time: time, id: id, recognition: recognition, decision: .error, reason: failure ?? "",
                                 startMs: segment.startMs, audioMs: Double(count) * 1000 / Double(sampleRate), latencyMs: 0)
        let toRun = failure == nil ? decide(&record, id: id) : nil   // a failure is recorded as an error; a pending confirmation keeps waiting
        let auditStart = monotonicSeconds()
        if let audit {
            do {
                let clip = try audit.writeClip(id: id, samples: audio)
                record.clip = clip.path; record.clipSHA256 = clip.sha256
            } catch {
                record.error = "clip: \(error.message)"
            }
        }
        if let (entry, command) = toRun, policy.actions.dryRun {
            if record.decision == .executed { record.decision = .dryRun }
            if case let .exec(argv) = entry.target { record.argv = Dispatcher.substitute(argv, slots: command.slots) }
        }
        guard let (entry, command) = toRun, !policy.actions.dryRun else {   // nothing runs
            record.latencyMs = (monotonicSeconds() - endpointAt) * 1000
            outcome.withLock { $0.utterances += 1 }
            finish(record)
            return
        }
        run(entry, command: command, record: record, endpointAt: endpointAt, auditStart: auditStart)
    }

    /// The decision for one recognized utterance, written into `record`: an answer to a pending
    /// confirmation, or the policy's decision for a new command. Returns the entry to run and the
    /// recognition whose slots it runs with (the confirmed command's for a confirmation), if any.
    private func decide(_ record: inout AuditRecord, id: String) -> (entry: ActionEntry, command: IntentResult)? {
        let recognition = record.recognition
        if let p = pending {
            record.confirms = p.id
            record.describe(p.entry)
            if recognition.understood && recognition.intent == ConfirmationContext.confirmIntent {
                pending = nil
                record.intent = p.recognition.intent; record.slots = p.recognition.slots
                record.decision = .confirmed; record.reason = "confirmed"
                outcome.withLock { $0.confirmed += 1 }
                return (p.entry, p.recognition)
            } else if recognition.understood && recognition.intent == ConfirmationContext.cancelIntent {
                pending = nil
                record.decision = .expired; record.reason = "cancelled"
                outcome.withLock { $0.expired += 1 }
            } else {
                record.decision = .notUnderstood; record.reason = "awaiting confirmation of \(p.id): say confirm or cancel"
            }
            return nil
        }
        let decision = policy.decide(recognition, now: monotonicSeconds())
        record.decision = decision.auditDecision; record.reason = decision.reason
        if let entry = decision.entry { record.describe(entry) }
        guard case let .run(entry) = decision else { return nil }
        guard entry.confirm else { return (entry, recognition) }
        pending = Pending(id: id, entry: entry, recognition: recognition,
                          deadline: position + Int(entry.confirmTimeoutSeconds * Double(sampleRate)))
        record.decision = .awaitingConfirm
        record.reason = "say confirm or cancel within \(formatDouble("%g", entry.confirmTimeoutSeconds)) s"
        if case let .exec(argv) = entry.target { record.argv = Dispatcher.substitute(argv, slots: recognition.slots) }
        outcome.withLock { $0.awaitingConfirm += 1 }
        return nil
    }

    /// Runs `entry` for `command`: the write-ahead `executing` record first (no record on disk, no
    /// action), then the exec/emit/socket target; an exec's outcome is recorded when it exits.
    private func run(_ entry: ActionEntry, command: IntentResult, record initial: AuditRecord, endpointAt: Double, auditStart: Double) {
        var record = initial
        let event = actionEvent(id: record.id, time: record.time, recognition: command)
        switch entry.target {
        case let .exec(argv): record.argv = Dispatcher.substitute(argv, slots: command.slots)
        case .emitJSON, .socket: record.payload = event
        case .none: break
        }
        // Write-ahead: the action starts only once its record is on disk.
        if let audit {
            var ahead = record
            ahead.decision = .executing
            ahead.latencyMs = (monotonicSeconds() - endpointAt) * 1000
            ahead.auditMs = (monotonicSeconds() - auditStart) * 1000
            do { try audit.append(record: ahead) } catch {
                record.decision = .error
                record.reason = "not run: the audit log cannot be written"
                record.error = error.description
                record.latencyMs = (monotonicSeconds() - endpointAt) * 1000
                outcome.withLock { s in s.utterances += 1; s.auditErrors += 1; s.actionsRefused += 1 }
                statusLine("bora: audit: \(error.description) -- action \(entry.name) NOT run; actions are refused until the audit log can be written")
                finish(record, persist: false)
                return
            }
        }
        record.clip = nil; record.clipSHA256 = nil   // named by the executing record
        record.auditMs = (monotonicSeconds() - auditStart) * 1000
        var running: RunningAction?
        var timeout = 0.0
        switch entry.target {
        case .exec:
            do {
                running = try Dispatcher.spawn(record.argv ?? [], environment: entry.environment, user: entry.user ?? defaultActionUser, group: entry.group)
                timeout = entry.timeoutSeconds
            } catch {
                record.decision = .error; record.error = error.description
            }
        case .emitJSON:
            stdoutLine(event)
        case let .socket(path):
            do { try Dispatcher.send(line: event, toSocket: path, timeoutSeconds: min(entry.timeoutSeconds, 1)) } catch {
                record.decision = .error; record.error = error.description
            }
        case .none: break
        }
        record.latencyMs = (monotonicSeconds() - endpointAt) * 1000
        let ran = record.error == nil
        outcome.withLock { s in
            s.utterances += 1
            if ran { s.actionsRun += 1; s.actionLatenciesMs.append(record.latencyMs) }
        }
        if let running {
            let finalRecord = record
            let timeout = timeout
            /// Waits for the action and writes its outcome record.
            let complete: @Sendable () -> Void = { [self] in
                var r = finalRecord
                let result = Dispatcher.wait(running, timeoutSeconds: timeout, shouldInterrupt: { self.interruptActions.load(ordering: .relaxed) })
                r.exitCode = result.exitCode; r.signal = result.signal; r.timedOut = result.timedOut; r.execMs = result.durationMs
                r.output = result.output; r.outputBytes = result.outputBytes; r.outputSHA256 = result.outputSHA256
                r.outputTruncated = result.outputTruncated
                if result.interrupted {
                    r.decision = .interrupted
                    r.reason = "bora was stopped while the action ran; its process group was killed"
                }
                finish(r)
            }
            waiters.add(1, ordering: .acquiringAndReleasing)
            let started = startDetachedThread {
                complete()
                self.waiters.subtract(1, ordering: .acquiringAndReleasing)
            }
            if !started {   // no thread could be created: wait here (the loop stalls meanwhile)
                waiters.subtract(1, ordering: .acquiringAndReleasing)
                complete()
            }
        } else {
            finish(record)
        }
    }

    /// Ends a pending confirmation without running it: one `expired` record (same id as the
    /// utterance that asked, no clip).
    private func expire(_ p: Pending, reason: String) {
        pending = nil
        var record = AuditRecord(time: AuditLog.timestamp(), id: p.id, recognition: p.recognition, decision: .expired,
                                 reason: reason, startMs: Double(position) * 1000 / Double(sampleRate), audioMs: 0, latencyMs: 0)
        record.recognizeMs = 0
        record.confirms = p.id
        record.describe(p.entry)
        outcome.withLock { $0.expired += 1 }
        finish(record)
    }

    /// Appends `record` (unless `persist` is false: the log already failed), prints its status
    /// line and, with `jsonEvents`, its event.
    private func finish(_ record: AuditRecord, persist: Bool = true) {
        if persist, let audit {
            do { try audit.append(record: record) } catch {
                outcome.withLock { $0.auditErrors += 1 }
                statusLine("bora: audit: \(error.description)")
            }
        }
        statusLine(Self.status(record))
        if jsonEvents {
            var event = record.json
            event["event"] = "utterance"
            stdoutLine(JSONValue.object(event).serialized())
        }
    }

    private func actionEvent(id: String, time: String, recognition: IntentResult) -> String {
        let o: JSONValue = ["event": "action", "id": .string(id), "time": .string(time), "intent": .string(recognition.intent),
                            "slots": JSONValue(recognition.slots), "confidence": .double(Double(recognition.confidence)),
                            "transcript": .string(recognition.transcript)]
        return o.serialized()
    }

    /// One human line: `ID  decision  intent {slots} (confidence)  action  [reason/exit]  latency`.
    static func status(_ r: AuditRecord) -> String {
        let slots = r.slots.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let what = r.understood ? "\(r.intent) {\(slots)} (\(formatDouble("%.2f", Double(r.confidence))))" : "not understood (heard \"\(r.transcript)\")"
        var tail = r.reason
        if let code = r.exitCode { tail += ", exit \(code)" }
        if let sig = r.signal { tail += ", signal \(sig)\(r.timedOut ? " (timeout)" : "")" }
        if let e = r.error { tail += ", \(e)" }
        return "\(r.id)  \(r.decision.rawValue)  \(what)  \(r.action ?? "-")  [\(tail)]  \(formatDouble("%.0f", r.latencyMs)) ms"
    }
}
