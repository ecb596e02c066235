// BoraAction — actions file, policy, dispatch, audit trail, the listen loop.
import BoraCore
import BoraIntent

/// An actions file that cannot be used, with where (file, 1-based line and column) and what to do.
/// `description` is one line: `FILE:LINE:COLUMN: problem; what to do`.
public struct ActionsError: BoraInputError, Equatable {
    public enum Kind: Sendable, Equatable {
        case unreadable
        case malformedYAML
        /// Valid YAML that is not shaped like an actions file (missing, unknown or wrongly typed key).
        case structure
        /// An entry names an intent the context does not define.
        case unknownIntent(String)
        /// A `when` condition or an `{slot}` substitution names a slot the intent never fills.
        case unknownSlot(String)
    }

    public let kind: Kind
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(_ kind: Kind, file: String, line: Int, column: Int, _ message: String) {
        self.kind = kind; self.file = file; self.line = line; self.column = column; self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// What an entry does when it matches.
public enum ActionTarget: Sendable, Equatable {
    /// Run a program: argv[0] is an absolute path (there is no PATH search); `{slot}` elements are
    /// replaced by the slot value as one whole argv element (never through a shell). It runs fenced
    /// (see `Dispatcher`) with the entry's `environment`, `user` and `group`.
    case exec([String])
    /// Print one JSON line on stdout.
    case emitJSON
    /// Send one JSON line to a Unix socket (datagram, or stream when the socket is a stream socket).
    case socket(String)
    /// Do nothing but record the decision (an entry with no target: an explicit "ignore").
    case none
}

/// One entry of an actions file. Defaults: no conditions, min_confidence 0, no cooldown,
/// timeout 10 s, confirm false, no extra environment, Bora's own user and group.
public struct ActionEntry: Sendable, Equatable {
    public var intent: String
    /// Slot conditions: the recognized slot must equal the value exactly.
    public var when: [String: String]
    public var target: ActionTarget
    public var minConfidence: Float
    public var confirm: Bool
    public var confirmTimeoutSeconds: Double
    public var cooldownSeconds: Double
    public var timeoutSeconds: Double
    /// `env:` — variables added to an exec action's minimal environment (they override the
    /// inherited ones; see `Dispatcher.childEnvironment`). Names match `[A-Za-z_][A-Za-z0-9_]*`.
    public var environment: [String: String]
    /// `user:` — run an exec action as this user (name or numeric uid); nil keeps Bora's.
    public var user: String?
    /// `group:` — run an exec action with this group (name or numeric gid); nil means the user's
    /// primary group when `user` is set, else Bora's.
    public var group: String?
    /// 1-based line and column of the entry in its file (for messages and the audit trail).
    public var line: Int, column: Int

    public init(intent: String, when: [String: String] = [:], target: ActionTarget, minConfidence: Float = 0,
                confirm: Bool = false, confirmTimeoutSeconds: Double = 8, cooldownSeconds: Double = 0,
                timeoutSeconds: Double = 10, environment: [String: String] = [:], user: String? = nil,
                group: String? = nil, line: Int = 0, column: Int = 0) {
        self.intent = intent; self.when = when; self.target = target; self.minConfidence = minConfidence
        self.confirm = confirm; self.confirmTimeoutSeconds = confirmTimeoutSeconds
        self.cooldownSeconds = cooldownSeconds; self.timeoutSeconds = timeoutSeconds
        self.environment = environment; self.user = user; self.group = group
        self.line = line; self.column = column
    }

    /// A short human name: `intent@line`.
    public var name: String { "\(intent)@\(line)" }

    /// Slot names this entry reads: `when` keys and `{slot}` argv elements.
    public var referencedSlots: [String] {
        var names = Array(when.keys)
        if case let .exec(argv) = target { names += argv.compactMap(ActionEntry.placeholder) }
        return names
    }

    /// `{name}` → `name` when the whole element is a placeholder, else nil.
    static func placeholder(_ element: String) -> String? {
        guard element.count > 2, element.hasPrefix("{"), element.hasSuffix("}") else { return nil }
        let inner = element.dropFirst().dropLast()
        guard !inner.contains("{"), !inner.contains("}") else { return nil }
        return String(inner)
    }
}

/// A parsed actions file (see Models/actions/ for examples):
/// ```yaml
/// actions:
///   - intent: lights
///     when: {state: "on"}
///     exec: ["/usr/local/bin/lights", "--car", "{car}", "on"]   # absolute program path
///     env: {LIGHTS_BUS: "can0"}      # added to PATH (+ LANG, LC_ALL, LC_CTYPE, LC_MESSAGES, TZ when set); nothing else is inherited
///     user: lights                   # optional: run as this user (Bora must be root) …
///     group: gpio                    # … and group (default: the user's primary group)
///     min_confidence: 0.7
///     cooldown_s: 0
///     timeout_s: 10
///   - intent: announce
///     emit: json
///   - intent: status
///     socket: /run/bora/events.sock
/// dry_run: false
/// ```
/// The first entry whose intent and conditions match wins. `env`, `user` and `group` apply to
/// `exec` entries only.
public struct ActionsFile: Sendable, Equatable {
    public var entries: [ActionEntry]
    /// Decide and audit, but run nothing.
    public var dryRun: Bool
    public var file: String

    public init(entries: [ActionEntry], dryRun: Bool = false, file: String = "<actions>") {
        self.entries = entries; self.dryRun = dryRun; self.file = file
    }

    /// The largest actions file `load` reads (4 MiB).
    public static let maxFileBytes = 4 << 20

    /// Reads and parses `path` (a regular UTF-8 file of at most `maxFileBytes`). Throws
    /// `ActionsError` with the line and column of the problem.
    public static func load(path: String) throws(ActionsError) -> ActionsFile {
        let text: String
        do throws(TextFileProblem) { text = try readTextFile(path, maxBytes: maxFileBytes) } catch {
            switch error {
            case .unreadable(let why):
                throw ActionsError(.unreadable, file: path, line: 1, column: 1, "cannot read the actions file (\(why)); check the path and permissions")
            case .notRegularFile:
                throw ActionsError(.unreadable, file: path, line: 1, column: 1, "not a regular file; give the path of an actions YAML file")
            case .tooLarge:
                throw ActionsError(.unreadable, file: path, line: 1, column: 1, "the file has more than \(maxFileBytes) bytes; an actions file this large is not a policy a person can review")
            case .notUTF8:
                throw ActionsError(.unreadable, file: path, line: 1, column: 1, "the actions file is not UTF-8; save it as UTF-8")
            }
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses actions YAML text; `file` names it in errors.
    public static func parse(yaml: String, file: String = "<actions>") throws(ActionsError) -> ActionsFile {
        func failKind(_ kind: ActionsError.Kind, _ node: YAMLNode?, _ message: String) -> ActionsError {
            ActionsError(kind, file: file, line: node?.line ?? 1, column: node?.column ?? 1, message)
        }
        func fail(_ node: YAMLNode?, _ message: String) -> ActionsError { failKind(.structure, node, message) }
        let root: YAMLNode?
        do throws(YAMLError) {
            root = try YAML.parse(yaml)
        } catch {
            switch error.kind {
            case .unsupported:
                throw ActionsError(.malformedYAML, file: file, line: error.line, column: error.column, "YAML outside what Bora reads: \(error.message)")
            case .duplicateKey(let name):
                throw ActionsError(.malformedYAML, file: file, line: error.line, column: error.column,
                                   "malformed YAML: the key '\(name)' appears twice in the same mapping; remove or merge one of them")
            case .syntax, .tooDeep:
                throw ActionsError(.malformedYAML, file: file, line: error.line, column: error.column, "malformed YAML: \(error.message)")
            }
        }
        guard let root, let top = root.mapping else {
            throw fail(root, "an actions file is a mapping with the key 'actions' (and optional 'dry_run'); see Models/actions")
        }
        var dryRun = false
        var entries: [ActionEntry] = []
        var sawActions = false
        for pair in top {
            let key = pair.key, value = pair.value
            switch key.string {
            case "dry_run":
                guard let b = value.bool else { throw fail(value, "'dry_run' must be true or false") }
                dryRun = b
            case "actions":
                sawActions = true
                guard let list = value.sequence else { throw fail(value, "'actions' must be a list of entries, each starting with '- intent:'") }
                for item in list { entries.append(try parseEntry(item, fail: failKind)) }
            default:
                throw fail(key, "unknown top-level key '\(key.string ?? "?")'; allowed: actions, dry_run")
            }
        }
        guard sawActions else { throw fail(root, "missing 'actions:' list at the top; add at least one entry") }
        return ActionsFile(entries: entries, dryRun: dryRun, file: file)
    }

    private static func parseEntry(_ node: YAMLNode, fail: (ActionsError.Kind, YAMLNode?, String) -> ActionsError) throws(ActionsError) -> ActionEntry {
        guard let map = node.mapping else { throw fail(.structure, node, "each action is a mapping starting with 'intent:'") }
        let mark = node
        var intent: String?
        var when: [String: String] = [:]
        var targets: [ActionTarget] = []
        // Where the env/user/group keys are (they need an exec target, known only at the end).
        var execOnly: [YAMLNode] = []
        var entry = ActionEntry(intent: "", target: .none, line: mark.line, column: mark.column)
        func number(_ v: YAMLNode, _ key: String, min: Double, max: Double) throws(ActionsError) -> Double {
            // A plain scalar read as a YAML number (`_` separators allowed); a quoted one is text.
            guard v.scalarStyle == .plain, let text = v.string, let x = Double(String(text.filter { $0 != "_" })),
                  x >= min, x <= max else {
                throw fail(.structure, v, "'\(key)' must be a number from \(min) to \(max)")
            }
            return x
        }
        for pair in map {
            let key = pair.key, value = pair.value
            let k = key.string ?? "?"
            switch k {
            case "intent":
                guard let s = value.string, !s.isEmpty else { throw fail(.structure, value, "'intent' must be an intent name") }
                intent = s
            case "when":
                guard let m = value.mapping else { throw fail(.structure, value, "'when' must be a mapping of slot names to values, e.g. {state: \"on\"}") }
                for condition in m {
                    let sk = condition.key, sv = condition.value
                    guard let name = sk.string, let v = sv.string else {
                        throw fail(.structure, sv, "each 'when' condition is slot: value (a scalar); quote values like \"on\"")
                    }
                    when[name] = v
                }
            case "exec":
                guard let seq = value.sequence, !seq.isEmpty else {
                    throw fail(.structure, value, "'exec' must be a non-empty list: [program, arg, \"{slot}\", …] (no shell is used)")
                }
                var argv: [String] = []
                for a in seq {
                    guard let s = a.string, !s.utf8.contains(0) else {
                        throw fail(.structure, a, "each 'exec' element must be a string (without NUL bytes)")
                    }
                    if s.contains("{"), ActionEntry.placeholder(s) == nil, s.contains("}") {
                        throw fail(.structure, a, "slot substitutions must be whole argv elements like \"{car}\", not part of '\(s)'; split the element")
                    }
                    argv.append(s)
                }
                if ActionEntry.placeholder(argv[0]) != nil {
                    throw fail(.structure, seq[0], "the program (first 'exec' element) cannot be a slot value; name the program")
                }
                if !argv[0].hasPrefix("/") {
                    throw fail(.structure, seq[0],
                               "the program must be an absolute path like /usr/bin/logger (no PATH search); write the full path of '\(argv[0])' (see `command -v \(argv[0])`)")
                }
                targets.append(.exec(argv))
            case "emit":
                guard value.string == "json" else { throw fail(.structure, value, "'emit' supports only 'json'") }
                targets.append(.emitJSON)
            case "socket":
                guard let s = value.string, s.hasPrefix("/") else { throw fail(.structure, value, "'socket' must be an absolute path to a Unix socket") }
                guard s.utf8.count < 108 else { throw fail(.structure, value, "'socket' path is longer than 107 bytes; use a shorter path") }
                targets.append(.socket(s))
            case "env":
                guard let m = value.mapping else {
                    throw fail(.structure, value, "'env' must be a mapping of variable names to strings, e.g. {LIGHTS_BUS: \"can0\"}")
                }
                for variable in m {
                    let ek = variable.key, ev = variable.value
                    guard let name = ek.string, Dispatcher.isEnvironmentName(name) else {
                        throw fail(.structure, ek, "'env' names must match [A-Za-z_][A-Za-z0-9_]* (got '\(ek.string ?? "?")')")
                    }
                    guard let v = ev.string else { throw fail(.structure, ev, "'env' value of \(name) must be a string (a scalar)") }
                    guard !v.utf8.contains(0) else { throw fail(.structure, ev, "'env' value of \(name) contains a NUL byte") }
                    entry.environment[name] = v
                }
                execOnly.append(key)
            case "user", "group":
                guard let s = value.string, !s.isEmpty else {
                    throw fail(.structure, value, "'\(k)' must be a non-empty \(k) name or numeric id")
                }
                if k == "user" { entry.user = s } else { entry.group = s }
                execOnly.append(key)
            case "min_confidence": entry.minConfidence = Float(try number(value, k, min: 0, max: 1))
            case "confirm":
                guard let b = value.bool else { throw fail(.structure, value, "'confirm' must be true or false") }
                entry.confirm = b
            case "confirm_timeout_s": entry.confirmTimeoutSeconds = try number(value, k, min: 0.5, max: 3600)
            case "cooldown_s": entry.cooldownSeconds = try number(value, k, min: 0, max: 86_400)
            case "timeout_s": entry.timeoutSeconds = try number(value, k, min: 0.001, max: 86_400)
            default:
                throw fail(.structure, key,
                           "unknown key '\(k)' in action; allowed: intent, when, exec, env, user, group, emit, socket, min_confidence, confirm, confirm_timeout_s, cooldown_s, timeout_s")
            }
        }
        guard let intent else { throw fail(.structure, mark, "action without 'intent:'; name the intent it handles") }
        guard targets.count <= 1 else { throw fail(.structure, mark, "an action has at most one of exec, emit, socket; split it into two entries") }
        if let keyMark = execOnly.first {
            guard case .exec? = targets.first else {
                throw fail(.structure, keyMark, "'env', 'user' and 'group' apply only to 'exec' actions; remove them or add 'exec:'")
            }
        }
        entry.intent = intent
        entry.when = when
        entry.target = targets.first ?? .none
        return entry
    }

    /// Checks every entry against a context: unknown intents and slot names the intent never
    /// fills are errors. Returns all problems (empty when the file is valid).
    public func problems(against context: Context) -> [ActionsError] {
        var slotsByIntent: [String: Set<String>] = [:]
        for intent in context.intents {
            var names = Set<String>()
            for e in intent.expressions { collectSlots(e.elements, into: &names) }
            slotsByIntent[intent.name] = names
        }
        var out: [ActionsError] = []
        for entry in entries {
            guard let slots = slotsByIntent[entry.intent] else {
                let known = context.intents.map { $0.name }.joined(separator: ", ")
                out.append(ActionsError(.unknownIntent(entry.intent), file: file, line: entry.line, column: entry.column,
                                        "unknown intent '\(entry.intent)' (context '\(context.name)' has: \(known))"))
                continue
            }
            for name in entry.referencedSlots.sorted() where !slots.contains(name) {
                out.append(ActionsError(.unknownSlot(name), file: file, line: entry.line, column: entry.column,
                                        "intent '\(entry.intent)' has no slot '\(name)' (it has: \(slots.sorted().joined(separator: ", ")))"))
            }
        }
        return out
    }

    /// Throws the first problem of `problems(against:)`.
    public func validate(against context: Context) throws(ActionsError) {
        if let first = problems(against: context).first { throw first }
    }

    /// The first entry whose intent matches and whose `when` conditions all hold, or nil.
    public func firstMatch(intent: String, slots: [String: String]) -> ActionEntry? {
        entries.first { $0.intent == intent && $0.when.allSatisfy { slots[$0.key] == $0.value } }
    }
}

private func collectSlots(_ elements: [ExpressionElement], into names: inout Set<String>) {
    for e in elements {
        switch e {
        case let .slot(_, name): names.insert(name)
        case let .choice(alts), let .optional(alts): for a in alts { collectSlots(a, into: &names) }
        default: break
        }
    }
}

extension ActionEntry {
    /// The line `actions check` prints for this entry: "intent@line[ when slot=value,…] → target
    /// (policy)".
    public var checkLine: String {
        let cond = when.isEmpty ? "" : " when " + when.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let what: String
        switch target {
        case let .exec(argv): what = "exec " + argv.joined(separator: " ")
        case .emitJSON: what = "emit json"
        case let .socket(p): what = "socket \(p)"
        case .none: what = "nothing"
        }
        var policy: [String] = []
        if minConfidence > 0 { policy.append("min_confidence \(minConfidence)") }
        if cooldownSeconds > 0 { policy.append("cooldown \(cooldownSeconds) s") }
        return "\(name)\(cond) → \(what)\(policy.isEmpty ? "" : " (" + policy.joined(separator: ", ") + ")")"
    }
}
