import BoraIntent

/// What the policy decided for one utterance. Only `.run` lets anything happen.
public enum Decision: Sendable, Equatable {
    /// Run `entry` (or, in a dry run, record that it would have run).
    case run(ActionEntry)
    /// The recognizer did not understand the utterance (out of context or below its threshold).
    case notUnderstood
    /// Understood, but no entry handles this intent.
    case noAction
    /// Entries exist for the intent but none of their `when` conditions hold.
    case conditionsUnmatched
    /// The first matching entry requires more confidence than the recognizer reported.
    case lowConfidence(ActionEntry)
    /// The first matching entry ran less than `cooldown_s` ago.
    case coolingDown(ActionEntry, remainingSeconds: Double)

    /// True for `.run`.
    public var ran: Bool { if case .run = self { return true } else { return false } }

    /// The audit trail's reason string.
    public var reason: String {
        switch self {
        case .run: return "matched"
        case .notUnderstood: return "not-understood"
        case .noAction: return "no-action-for-intent"
        case .conditionsUnmatched: return "conditions-unmatched"
        case .lowConfidence: return "low-confidence"
        case .coolingDown: return "cooldown"
        }
    }

    /// The audit trail's decision: `.executed` for `.run` (the loop refines it to `.dryRun` or
    /// `.awaitingConfirm`), `.notUnderstood`, or a `rejected…` case.
    public var auditDecision: AuditDecision {
        switch self {
        case .run: return .executed
        case .notUnderstood: return .notUnderstood
        case .noAction: return .rejectedNoAction
        case .conditionsUnmatched: return .rejectedConditionsUnmatched
        case .lowConfidence: return .rejectedLowConfidence
        case .coolingDown: return .rejectedCooldown
        }
    }

    /// The entry the decision is about, if any.
    public var entry: ActionEntry? {
        switch self {
        case let .run(e), let .lowConfidence(e), let .coolingDown(e, _): return e
        default: return nil
        }
    }
}

/// The policy: first matching entry wins; unknown intents, unmatched conditions, confidence
/// below `min_confidence` and cooldowns never run anything. Holds the cooldown clock, so one
/// instance lives as long as the loop (a reload keeps it: cooldowns are per entry index).
public struct Policy: Sendable {
    public private(set) var actions: ActionsFile
    private var lastRun: [Int: Double] = [:]  // entry index → monotonic seconds

    public init(actions: ActionsFile) { self.actions = actions }

    /// Replaces the actions (SIGHUP reload); cooldown clocks are dropped.
    public mutating func replace(actions: ActionsFile) { self.actions = actions; lastRun = [:] }

    /// Decides for one recognition (the recognizer's `IntentResult`, as it flows on to the audit
    /// record) at monotonic time `now` (seconds). A `.run` decision starts that entry's cooldown.
    public mutating func decide(_ result: IntentResult, now: Double) -> Decision {
        guard result.understood else { return .notUnderstood }
        let candidates = actions.entries.indices.filter { actions.entries[$0].intent == result.intent }
        guard !candidates.isEmpty else { return .noAction }
        guard let index = candidates.first(where: { i in actions.entries[i].when.allSatisfy { result.slots[$0.key] == $0.value } }) else {
            return .conditionsUnmatched
        }
        let entry = actions.entries[index]
        if result.confidence < entry.minConfidence { return .lowConfidence(entry) }
        if entry.cooldownSeconds > 0, let last = lastRun[index], now - last < entry.cooldownSeconds {
            return .coolingDown(entry, remainingSeconds: entry.cooldownSeconds - (now - last))
        }
        lastRun[index] = now
        return .run(entry)
    }
}
