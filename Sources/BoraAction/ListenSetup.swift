// What both front ends of `listen` (the host `bora` and `bora-lite`) share around the loop: the
// SIGHUP reload of the context and actions files, and the closing summary.
import BoraCore
import BoraIntent
import BoraSpeech
import Synchronization
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// The files a listen loop was started with and how to rebuild its configuration from them.
/// `reload` is what a SIGHUP runs (on BackgroundReload's thread): it builds the whole new
/// configuration first and returns it only when every part is valid; on failure it reports why
/// and returns nil, so the running pair stays. The recognizer is rebuilt only when the context
/// file's text changed.
public final class ListenConfigFiles: @unchecked Sendable {
    public let contextPath: String, actionsPath: String
    public let limits: ContextLimits
    public let session: WhisperSession
    public let sensitivity: Float, beam: Int
    private let runningText: Locked<String>

    /// `contextText` is the text of the context the loop starts with.
    public init(contextPath: String, actionsPath: String, limits: ContextLimits, session: WhisperSession,
                sensitivity: Float, beam: Int, contextText: String) {
        self.contextPath = contextPath; self.actionsPath = actionsPath; self.limits = limits
        self.session = session; self.sensitivity = sensitivity; self.beam = beam
        runningText = Locked(contextText)
    }

    /// The context file's text as `Context.load` reads it (nil when it cannot be read).
    public static func text(of path: String, limits: ContextLimits) -> String? {
        try? readTextFile(path, maxBytes: limits.fileBytes)
    }

    /// Builds the new configuration; `report` gets one line ("reloaded …" or "reload failed, …").
    public func reload(report: (String) -> Void) -> ListenReload? {
        func failed(_ why: String) -> ListenReload? {
            report("reload failed, keeping the running context and actions: \(why)")
            return nil
        }
        guard let text = Self.text(of: contextPath, limits: limits) else {
            return failed("cannot read \(contextPath)")
        }
        let context: Context
        do { context = try Context.load(path: contextPath, limits: limits) } catch { return failed(error.description) }
        let actions: ActionsFile
        do {
            actions = try ActionsFile.load(path: actionsPath)
            try actions.validate(against: context)
        } catch { return failed(error.description) }
        let changed = text != runningText.withLock { $0 }
        var recognizer: CommandRecognizer?
        if changed {
            do {
                recognizer = try CommandRecognizer(session: session, context: context, sensitivity: sensitivity, beam: beam, limits: limits)
            } catch { return failed(error.description) }
        }
        runningText.withLock { $0 = text }
        report("reloaded \(actionsPath) (\(actions.entries.count) actions)" + (changed ? " and \(contextPath) (\(context.intents.count) intents)" : ""))
        return ListenReload(actions: actions, recognizer: recognizer)
    }
}

extension ListenSummary {
    /// The closing status line (without the program name): utterances, actions, audio, latencies,
    /// confirmations, dropped audio and `overruns` of the capture device, audit failures.
    public func statusLine(overruns: Int) -> String {
        var line = "\(utterances) utterance\(utterances == 1 ? "" : "s"), \(actionsRun) action\(actionsRun == 1 ? "" : "s") run, "
            + "\(formatDouble("%.1f", Double(samples) / Double(sampleRate))) s of audio"
        let lat = actionLatenciesMs.sorted()
        if !lat.isEmpty {
            let p = { (q: Double) in lat[min(lat.count - 1, Int((Double(lat.count - 1) * q).rounded()))] }
            line += "; endpoint → action p50 \(formatDouble("%.0f", p(0.5))) ms, p95 \(formatDouble("%.0f", p(0.95))) ms, max \(formatDouble("%.0f", lat.last!)) ms"
        }
        if awaitingConfirm > 0 {
            line += "; \(awaitingConfirm) awaited confirmation (\(confirmed) confirmed, \(expired) expired)"
        }
        line += "; \(droppedSamples) samples dropped, \(overruns) overruns"
        if auditErrors > 0 {
            line += "; \(auditErrors) audit write failure(s), \(actionsRefused) action(s) refused for it"
        }
        return line
    }

    /// The `--json` summary event.
    public func jsonEvent(overruns: Int) -> JSONValue {
        var o: [String: JSONValue] = [
            "event": "summary", "utterances": .int(utterances), "actions_run": .int(actionsRun),
            "awaiting_confirm": .int(awaitingConfirm), "confirmed": .int(confirmed), "expired": .int(expired),
            "audio_s": .double(Double(samples) / Double(sampleRate)), "dropped_samples": .int(droppedSamples),
            "overruns": .int(overruns), "audit_errors": .int(auditErrors), "actions_refused": .int(actionsRefused),
        ]
        let lat = actionLatenciesMs.sorted()
        if !lat.isEmpty { o["action_latency_ms"] = .object(["p50": .double(lat[lat.count / 2]), "max": .double(lat.last!)]) }
        return .object(o)
    }
}

/// The signals a listen front end handles: SIGINT/SIGTERM request a stop, SIGHUP a reload of the
/// context and actions, SIGPIPE is ignored (a socket peer that went away is an action failure, not
/// the end of bora). The handlers only store an atomic flag (async-signal-safe).
public enum ListenSignals {
    /// Set by SIGINT/SIGTERM.
    public static let stopRequested = Atomic<Bool>(false)
    /// Set by SIGHUP; the loop's `pendingReload` exchanges it back to false.
    public static let reloadRequested = Atomic<Bool>(false)

    /// Installs the handlers (process-wide).
    public static func install() {
        signal(SIGINT) { _ in ListenSignals.stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in ListenSignals.stopRequested.store(true, ordering: .relaxed) }
        signal(SIGHUP) { _ in ListenSignals.reloadRequested.store(true, ordering: .relaxed) }
        #if hasFeature(Embedded)
        bora_ignore_signal(SIGPIPE)   // SIG_IGN does not import there
        #else
        signal(SIGPIPE, SIG_IGN)
        #endif
    }
}
