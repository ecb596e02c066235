// bora-lite's voice loop and audit commands (both builds; see BoraLite.swift), the library calls
// of the host's `bora listen` and `bora audit`:
//
//   bora-lite listen --context FILE.yaml --actions FILE.yaml [--model NAME|PATH] [--vad-model NAME|PATH]
//                    (--device NAME [--max-seconds S] | --file AUDIO) [--pace realtime|fast|NUMx]
//                    [--target NAME] [--action-user USER] [--audit DIR] [--end-ms MS] [--sensitivity S]
//                    [--beam N] [-t THREADS] [--json]
//   bora-lite actions check --context FILE.yaml ACTIONS.yaml
//   bora-lite audit init DIR
//   bora-lite audit verify DIR [--key KEY | --key-file FILE] [--json]
//
// `listen` runs BoraAction's ListenLoop: VAD and endpointer, speech-to-intent against the context,
// the actions file's policy, exec/emit/socket actions, the audit trail with Opus clips. One status
// line per utterance on stderr, --json events on stdout, the closing summary as `bora listen`'s.
// --target takes the device, threads, ASR model and VAD from Targets/NAME/target.json unless given
// (as `bora listen --target`); --action-user runs exec actions as that user. SIGINT/SIGTERM finish
// the utterance in flight and exit 0; SIGHUP reloads the context and actions
// (a broken pair is reported and the running one kept). Exit codes as the host's: 1 when the audit
// trail could not be written or the device fails, 3 for bad input files.
import BoraAction
import BoraAudio
import BoraCore
import BoraIntent
import BoraModels
import BoraSpeech
import Synchronization
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// `--pace`: realtime (1), fast (nil: as fast as read) or NUMx.
func paceMultiplier(_ text: String) throws(Failure) -> Double? {
    switch text {
    case "realtime": return 1
    case "fast": return nil
    default:
        guard let m = decimal(text.hasSuffix("x") ? String(text.dropLast()) : text), m > 0, m <= 1000 else {
            throw Failure(message: "--pace must be realtime, fast or NUMx (e.g. 8x)", code: 2)
        }
        return m
    }
}

func listen(_ args: Arguments) throws(Failure) {
    let usage = usageLine("listen")
    guard args.positional.isEmpty, let contextPath = args.values["--context"], let actionsPath = args.values["--actions"] else {
        throw Failure(message: usage, code: 2)
    }
    var board: TargetConfig?
    if let name = args.values["--target"] {
        do { board = try TargetConfig.load(name: name) } catch {
            if case .unknown(let m) = error { throw Failure(message: m, code: 2) }
            throw Failure(message: error.description, code: 1)
        }
    }
    let file = args.values["--file"]
    let device = args.values["--device"] ?? (file == nil ? board?.alsaDevice : nil)
    guard (device == nil) != (file == nil) else { throw Failure(message: "give exactly one of --device NAME or --file AUDIO (or --target NAME for its device)", code: 2) }
    let actionUser = args.values["--action-user"]
    if let actionUser, getpwnam(actionUser) == nil { throw Failure(message: "--action-user: no user named '\(actionUser)'", code: 2) }
    let beam: Int, threads: Int, endMs: Int
    do {
        beam = try args.int("--beam", default: 3, range: 1...16)
        threads = try args.int("-t", default: board?.threads ?? ThreadPool.defaultThreadCount, range: 1...256)
        endMs = try args.int("--end-ms", default: 400, range: 64...5000)
    } catch { throw Failure(message: error.message, code: 2) }
    var sensitivity: Float = 0.5
    if let text = args.values["--sensitivity"] {
        guard let s = decimal(text), s <= 1 else { throw Failure(message: "--sensitivity must be between 0 and 1", code: 2) }
        sensitivity = Float(s)
    }
    var maxSeconds: Double?
    if let text = args.values["--max-seconds"] {
        guard let s = decimal(text), s > 0 else { throw Failure(message: "--max-seconds must be a positive number", code: 2) }
        maxSeconds = s
    }
    // nil: not given (a file then plays at real time, a device at its own clock); .some(nil): fast.
    var pace: Double?? = nil
    if let text = args.values["--pace"] { pace = .some(try paceMultiplier(text)) }
    let json = args.flags.contains("--json")

    // The audit directory first: a second writer fails before any model is loaded.
    var audit: AuditLog?
    if let dir = args.values["--audit"] {
        do { audit = try AuditLog(directory: dir) } catch { throw Failure(message: error.description, code: 3) }
        if let audit, !audit.isSealed {
            emit(2, "\(programName): audit trail \(audit.directory) is not sealed: edits that recompute its hash chain cannot be detected; seal a new directory with `\(programName) audit init DIR`\n")
        }
    }
    let limits = ContextLimits.standard
    let context = try loadContext(contextPath)
    let actions: ActionsFile
    do {
        actions = try ActionsFile.load(path: actionsPath)
        try actions.validate(against: context)
    } catch { throw Failure(message: error.description, code: 3) }
    let kernels = try kernelSet()
    let model = try modelPath(args.values["--model"] ?? board?.asrModel ?? "whisper-tiny.en")
    let energyVAD = board?.vad == "energy" && args.values["--vad-model"] == nil
    let vadModel = energyVAD ? "" : try modelPath(args.values["--vad-model"] ?? "silero-vad")
    let session: WhisperSession
    do { session = try WhisperSession(path: model, kernels: kernels, threads: threads, maxBeam: beam) } catch {
        throw Failure(message: error.description, code: 3)
    }
    let recognizer: CommandRecognizer
    do { recognizer = try CommandRecognizer(session: session, context: context, sensitivity: sensitivity, beam: beam, limits: limits) } catch {
        throw Failure(message: error.description, code: 3)
    }
    var endpointOptions = Endpointer.Options()
    endpointOptions.endMs = endMs
    endpointOptions.maxUtteranceMs = 15_000
    let segmenter: SpeechSegmenter
    do {
        let detector: any VoiceActivityDetector = energyVAD ? try EnergyVAD() : try SileroVAD(path: vadModel, kernels: kernels)
        segmenter = try SpeechSegmenter(detector: detector, options: endpointOptions)
    } catch {
        throw Failure(message: error.description, code: 3)
    }

    let loop = ListenLoop(segmenter: segmenter, recognizer: recognizer, actions: actions, audit: audit,
                          stdoutLine: { emit(1, $0 + "\n") }, statusLine: { emit(2, $0 + "\n") })
    loop.jsonEvents = json
    loop.defaultActionUser = actionUser
    loop.shouldStop = { ListenSignals.stopRequested.load(ordering: .relaxed) }
    let files = ListenConfigFiles(contextPath: contextPath, actionsPath: actionsPath, limits: limits, session: session,
                                  sensitivity: sensitivity, beam: beam,
                                  contextText: ListenConfigFiles.text(of: contextPath, limits: limits) ?? "")
    let reloads = BackgroundReload { files.reload { emit(2, "\(programName): " + $0 + "\n") } }
    loop.pendingReload = { reloads.poll(requested: ListenSignals.reloadRequested.exchange(false, ordering: .relaxed)) }
    ListenSignals.install()

    let source: any SampleSource
    var capture: AudioCapture?
    if let file {
        let clip: AudioClip
        do { clip = try AudioDecoder.load(path: file) } catch { throw Failure(message: error.description, code: 3) }
        source = FileSource(samples: clip.samples, pace: pace ?? 1)
    } else {
        var options = CaptureOptions()
        options.maxSeconds = maxSeconds
        options.pace = pace ?? nil
        options.ringSeconds = 8   // room for a slow recognition while a paced file PCM runs ahead
        if let maxSeconds, case .some(.none) = pace {
            options.ringSeconds = maxSeconds + 1   // --pace fast: a file PCM outruns any consumer; keep it all
        }
        do {
            let c = try AudioCapture(device: device!, options: options)
            try c.start()
            capture = c
            source = c
        } catch { throw Failure(message: error.description, code: error.isInputError ? 3 : 1) }
    }
    let summary: ListenSummary
    do { summary = try loop.run(source: source) } catch { throw Failure(message: error.description, code: 1) }
    capture?.stop()
    let overruns = capture?.stats.overruns ?? 0
    emit(2, "\(programName) listen: " + summary.statusLine(overruns: overruns) + "\n")
    if json { emit(1, summary.jsonEvent(overruns: overruns).serialized() + "\n") }
    if summary.auditErrors > 0 { throw Failure(message: "\(summary.auditErrors) audit write failure(s)", code: 1) }
}

/// `actions check --context FILE.yaml ACTIONS.yaml`: as `bora actions check`.
func actionsCheck(_ args: Arguments) throws(Failure) {
    guard args.positional.count == 1, let contextPath = args.values["--context"] else {
        throw Failure(message: usageLine("actions"), code: 2)
    }
    let context = try loadContext(contextPath)
    let actions: ActionsFile
    do { actions = try ActionsFile.load(path: args.positional[0]) } catch { throw Failure(message: error.description, code: 3) }
    let problems = actions.problems(against: context)
    if !problems.isEmpty {
        for p in problems.dropLast() { emit(2, "\(programName): \(p.description)\n") }
        throw Failure(message: problems.last!.description, code: 3)
    }
    var out = ""
    for e in actions.entries { out += e.checkLine + "\n" }
    emit(1, out + "ok: \(actions.entries.count) action\(actions.entries.count == 1 ? "" : "s")\(actions.dryRun ? " (dry run)" : "")\n")
}

func auditCommand(_ args: [String]) throws(Failure) {
    let usage = usageLine("audit")
    guard args.count >= 2 else { throw Failure(message: usage, code: 2) }
    let parsed: Arguments
    do { parsed = try Arguments(args[1...], flags: ["--json"]) } catch { throw Failure(message: error.message, code: 2) }
    guard parsed.positional.count == 1 else { throw Failure(message: usage, code: 2) }
    let directory = parsed.positional[0]
    switch args[0] {
    case "init":
        let key: [UInt8]
        do { key = try AuditSeal.initialize(directory: directory) } catch { throw Failure(message: error.description, code: 3) }
        emit(1, Hex.encode(key) + "\n")
        emit(2, "\(programName) audit: sealed \(directory) (key id \(AuditSeal.keyId(key))).\n"
             + "The line above is the verification key. Store it away from this device; it is not kept here\n"
             + "and cannot be shown again. Check the trail with: \(programName) audit verify \(directory) --key KEY\n")
    case "verify":
        var key: [UInt8]?
        do throws(AuditError) {
            if let keyFile = parsed.values["--key-file"] {
                guard let text = try? readTextFile(keyFile, maxBytes: 4096) else {
                    throw AuditError(path: keyFile, "cannot read the key file; check the path")
                }
                key = try AuditLog.parseKey(text, source: keyFile)
            } else if let text = parsed.values["--key"] {
                key = try AuditLog.parseKey(text, source: "--key")
            }
        } catch { throw Failure(message: error.description, code: 3) }
        let v: AuditLog.Verification
        do { v = try AuditLog.verify(directory: directory, key: key) } catch { throw Failure(message: error.description, code: 3) }
        if parsed.flags.contains("--json") {
            emit(1, v.json.serialized(escapingSlashes: false) + "\n")
        } else {
            emit(1, v.reportLines.joined(separator: "\n") + "\n")
        }
        if !v.ok { throw Failure(message: "the audit trail is broken (above)", code: 1) }
    default:
        throw Failure(message: usage, code: 2)
    }
}
