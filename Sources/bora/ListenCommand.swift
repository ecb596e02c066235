import ArgumentParser
import BoraAction
import BoraAudio
import BoraCore
import BoraIntent
import BoraModels
import BoraSpeech
import Foundation

/// Writes one line to stdout in a single `write` (lines from several threads never interleave).
@Sendable private func writeLine(_ fd: Int32, _ line: String) {
    try? writeAll(fd, Array((line + "\n").utf8))
}

/// `bora listen`: the always-on voice-to-action loop.
struct ListenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Listen for spoken commands and run the actions they map to (voice-to-action loop).",
        discussion: """
        Audio (an ALSA capture --device, or a recording --file streamed at real-time pace, or as fast as \
        possible with --fast) goes through the VAD and endpointer; each utterance is recognized against \
        the --context grammar, the --actions policy decides (first matching entry wins; not understood, \
        unmatched conditions, low confidence and cooldowns run nothing) and the action runs: exec \
        (posix_spawn, no shell, {slot} as whole argv elements, killed after timeout_s), a JSON line on \
        stdout, or a JSON line to a Unix socket. With --audit DIR every utterance appends one fsync'd \
        JSON line to DIR/audit.jsonl and its audio to DIR/clips/ID.opus; an action starts only after \
        its `executing` record is on disk (if the log cannot be written, actions are refused and \
        the loop says so). Actions get a minimal environment, no inherited descriptors, their output \
        captured into the record. One status line per utterance \
        on stderr; --json prints one event per line on stdout. An entry with confirm: true waits for a \
        spoken "confirm" (runs it) or "cancel" (expires it) within confirm_timeout_s. SIGINT/SIGTERM \
        finish the utterance in flight (at most 1 s more), kill running actions (recorded \
        `interrupted`) and exit 0 within 2 s; SIGHUP reloads the context and the actions file \
        together (if either is broken, the running pair is kept and the reason logged). The last \
        line reports utterances, actions, latencies and dropped audio.
        """)
    /// `--pace`: nil multiplier = as fast as read.
    struct Pace: ExpressibleByArgument {
        let multiplier: Double?
        init?(argument: String) {
            switch argument {
            case "realtime": multiplier = 1
            case "fast": multiplier = nil
            default:
                let digits = argument.hasSuffix("x") ? String(argument.dropLast()) : argument
                guard let m = Double(digits), m > 0, m <= 1000 else { return nil }
                multiplier = m
            }
        }
    }

    @OptionGroup var global: GlobalOptions
    @OptionGroup var audioLimit: AudioLimitOptions
    @OptionGroup var modelCheck: ModelCheckOptions
    @Option(help: "Context file (Rhino-style YAML, see Models/contexts/).") var context: String
    @Option(help: "Actions file (YAML, see Models/actions/).") var actions: String
    @Option(help: "Board defaults from Targets/NAME/target.json (or a path to one): ALSA device, threads, ASR model and VAD; explicit options win.") var target: String?
    @Option(help: "ALSA capture device (default: the --target's).") var device: String?
    @Option(help: "Stream a recording instead of a device (WAV, Ogg Opus).") var file: String?
    @Option(help: ArgumentHelp("Audio pace: realtime, fast (as fast as read) or NUMx (e.g. 8x real time). Default: realtime for --file; for --device the device's own clock (pace a file-backed ALSA PCM with realtime or NUMx).", valueName: "realtime|fast|NUMx"))
    var pace: Pace?
    @Flag(help: "With --file: same as --pace fast.") var fast = false
    @Option(help: "With --device: stop after this many seconds.") var maxSeconds: Double?
    @Option(help: "Whisper GGUF path or catalog name (default: the --target's, else whisper-tiny.en).") var model: String?
    @Option(help: "Audit directory (audit.jsonl, clips/; seal it first with `bora audit init DIR`). One bora listen per directory.") var audit: String?
    @Option(help: "Run exec actions as this user unless their entry names one (bora must be root or hold CAP_SETUID/CAP_SETGID).") var actionUser: String?
    @Option(help: "Group that may read the audit trail (files 0640, directories 0750; default 0600/0700).") var auditGroup: String?
    @Option(help: "Voice activity detector: silero or energy (default: the --target's, else silero).") var vad: VADChoice?
    @Option(help: "Silero model: catalog name or GGUF path.") var vadModel = "silero-vad"
    @Option(help: "Silence that ends an utterance (ms).") var endMs = 400
    @Option(help: "0…1: higher accepts more (fewer misses, more false accepts).") var sensitivity: Float = 0.5
    @Option(help: "Beam width of the grammar search.") var beam = 3
    @Option(name: .short, help: "Threads (default: all cores).") var t: Int?
    @Flag(help: "Print one JSON event per line on stdout.") var json = false
    @OptionGroup var contextLimits: ContextLimitOptions

    func validate() throws {
        guard device == nil || file == nil, device != nil || file != nil || target != nil else {
            throw ValidationError("give exactly one of --device NAME or --file AUDIO (or --target NAME for its device)")
        }
        guard sensitivity >= 0 && sensitivity <= 1 else { throw ValidationError("--sensitivity must be between 0 and 1") }
        guard beam >= 1 && beam <= 16 else { throw ValidationError("--beam must be between 1 and 16") }
        guard endMs >= 64 && endMs <= 5000 else { throw ValidationError("--end-ms must be between 64 and 5000") }
        if let t, t <= 0 || t > 256 { throw ValidationError("-t must be between 1 and 256") }
        if fast && pace != nil { throw ValidationError("give --fast or --pace, not both") }
    }

    func run() throws {
        let log = global.bootstrapLogging()
        let t0 = monotonicSeconds()
        let board: TargetConfig?
        do { board = try target.map { (name) throws(TargetConfigError) in try TargetConfig.load(name: name) } } catch {
            if case .unknown(let m) = error { throw ValidationError(m) }
            throw BoraRuntimeError(error.description)
        }
        let model = self.model ?? board?.asrModel ?? "whisper-tiny.en"
        let t = self.t ?? board?.threads
        let vad = self.vad ?? board.flatMap { VADChoice(rawValue: $0.vad) } ?? .silero
        let device = self.device ?? (file == nil ? board?.alsaDevice : nil)
        if let board { log.info("target \(board.name): device \(device ?? "-"), \(t ?? 0) threads, \(model), VAD \(vad.rawValue)") }
        if let actionUser, getpwnam(actionUser) == nil {
            throw ValidationError("--action-user: no user named '\(actionUser)'")
        }
        // The audit directory first: a second writer fails before any model is loaded.
        var auditGid: gid_t?
        if let auditGroup {
            guard let g = getgrnam(auditGroup) else { throw ValidationError("--audit-group: no group named '\(auditGroup)'") }
            auditGid = g.pointee.gr_gid
        }
        let auditLog = try audit.map { (dir) throws(AuditError) in try AuditLog(directory: dir, group: auditGid) }
        if let auditLog, !auditLog.isSealed {
            log.warning("audit trail \(auditLog.directory) is not sealed: edits that recompute its hash chain cannot be detected; seal a new directory with `bora audit init DIR`")
        }
        let limits = try contextLimits.limits
        let ctx = try Context.load(path: context, limits: limits)
        let actionsFile = try ActionsFile.load(path: actions)
        try actionsFile.validate(against: ctx)
        let session = try loadWhisperSession(model, threads: t, maxBeam: beam, verify: modelCheck.verifyModels)
        let (sensitivity, beam) = (self.sensitivity, self.beam)
        let recognizer = try CommandRecognizer(session: session, context: ctx, sensitivity: sensitivity, beam: beam, limits: limits)
        let detector = try vad.makeDetector(model: vadModel, check: modelCheck)
        var endpointOptions = Endpointer.Options()
        endpointOptions.endMs = endMs
        endpointOptions.maxUtteranceMs = 15_000
        let segmenter = try SpeechSegmenter(detector: detector, options: endpointOptions)
        log.info("loaded \(model), \(context), \(actions) (\(actionsFile.entries.count) actions) in \(Int((monotonicSeconds() - t0) * 1000)) ms")

        let loop = ListenLoop(segmenter: segmenter, recognizer: recognizer, actions: actionsFile, audit: auditLog,
                              stdoutLine: { writeLine(1, $0) }, statusLine: { writeLine(2, $0) })
        loop.jsonEvents = json
        loop.defaultActionUser = actionUser
        loop.shouldStop = { ListenSignals.stopRequested.load(ordering: .relaxed) }
        let files = ListenConfigFiles(contextPath: context, actionsPath: actions, limits: limits, session: session,
                                      sensitivity: sensitivity, beam: beam,
                                      contextText: ListenConfigFiles.text(of: context, limits: limits) ?? "")
        // Reloads compile on their own thread under the same limits; the loop keeps listening.
        let reloads = BackgroundReload { files.reload { writeLine(2, "bora: " + $0) } }
        loop.pendingReload = { reloads.poll(requested: ListenSignals.reloadRequested.exchange(false, ordering: .relaxed)) }
        ListenSignals.install()

        let source: any SampleSource
        var capture: AudioCapture?
        if let file {
            let multiplier = fast ? nil : (pace ?? Pace(argument: "realtime")!).multiplier
            if let stream = try? WAVStream(path: file) {
                source = FileSource(stream: stream, pace: multiplier)   // flat memory for long recordings
            } else {
                source = FileSource(samples: try AudioDecoder.load(path: file, limits: audioLimit.limits).samples, pace: multiplier)
            }
        } else {
            var options = CaptureOptions()
            options.maxSeconds = maxSeconds
            options.pace = pace?.multiplier
            options.ringSeconds = 8   // room for a slow recognition while a paced file PCM runs ahead
            do {
                let c = try AudioCapture(device: device!, options: options)
                try c.start()
                capture = c
                source = c
            } catch {
                if error.isInputError { throw error }
                throw BoraRuntimeError(error.description)
            }
        }
        let summary = try loop.run(source: source)
        capture?.stop()
        let overruns = capture?.stats.overruns ?? 0
        writeLine(2, "bora listen: " + summary.statusLine(overruns: overruns))
        if json { writeLine(1, summary.jsonEvent(overruns: overruns).serialized()) }
        if summary.auditErrors > 0 { throw ExitCode(1) }
    }
}
