import BoraIntent
import Foundation
import Testing
@testable import BoraAction

let contextYAML = """
context:
  expressions:
    lights:
      - "turn $state:state the lights (in car $pv.SingleDigitInteger:car)"
    status:
      - "status report"
  slots:
    state: ["on", "off"]
"""

/// One directory per test process for every scratch directory this module's tests make, removed
/// when the process exits, so test runs leave nothing behind in /tmp.
let scratchRoot: String = {
    let root = NSTemporaryDirectory() + "bora-action-tests-\(getpid())"
    try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: scratchRoot) }
    return root
}()

/// A fresh empty directory under `scratchRoot`.
func tempDir() -> String {
    let dir = scratchRoot + "/\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func testContext() throws -> Context {
    let path = tempDir() + "/ctx.yaml"
    try contextYAML.write(toFile: path, atomically: true, encoding: .utf8)
    return try Context.load(path: path)
}

@Suite struct ActionsFileTests {
    @Test func parsesEntriesAndDefaults() throws {
        let a = try ActionsFile.parse(yaml: """
        actions:
          - intent: lights
            when: {state: "on"}
            exec: ["/usr/local/bin/lights", "--car", "{car}", "on"]
            min_confidence: 0.7
            cooldown_s: 3
            timeout_s: 2.5
          - intent: status
            emit: json
          - intent: status
            socket: /run/bora/events.sock
        dry_run: true
        """)
        #expect(a.dryRun)
        #expect(a.entries.count == 3)
        let e = a.entries[0]
        #expect(e.intent == "lights" && e.when == ["state": "on"])
        #expect(e.target == .exec(["/usr/local/bin/lights", "--car", "{car}", "on"]))
        #expect(e.minConfidence == 0.7 && e.cooldownSeconds == 3 && e.timeoutSeconds == 2.5)
        #expect(e.line == 2)
        #expect(a.entries[1].target == .emitJSON && a.entries[1].minConfidence == 0 && a.entries[1].timeoutSeconds == 10)
        #expect(a.entries[2].target == .socket("/run/bora/events.sock"))
        #expect(Set(e.referencedSlots) == ["state", "car"])
    }

    func error(_ yaml: String) -> ActionsError? {
        do { _ = try ActionsFile.parse(yaml: yaml, file: "a.yaml"); return nil } catch { return error }
    }

    @Test func structureErrorsCarryLineAndColumn() throws {
        let unknownKey = error("actions:\n  - intent: x\n    exce: [\"a\"]\n")
        #expect(unknownKey?.kind == .structure)
        #expect(unknownKey?.line == 3 && unknownKey?.column == 5)
        #expect(unknownKey?.description.hasPrefix("a.yaml:3:5: unknown key 'exce'") == true)

        let partial = error("actions:\n  - intent: x\n    exec: [\"/bin/echo\", \"car-{car}\"]\n")
        #expect(partial?.line == 3 && partial?.description.contains("whole argv elements") == true)

        let programSlot = error("actions:\n  - intent: x\n    exec: [\"{prog}\"]\n")
        #expect(programSlot?.kind == .structure)

        let noIntent = error("actions:\n  - emit: json\n")
        #expect(noIntent?.line == 2)

        let two = error("actions:\n  - intent: x\n    emit: json\n    socket: /tmp/s\n")
        #expect(two?.description.contains("at most one") == true)

        let confirm = error("actions:\n  - intent: x\n    confirm: yes please\n")
        #expect(confirm?.kind == .structure && confirm?.line == 3)
        let tooShort = error("actions:\n  - intent: x\n    confirm: true\n    confirm_timeout_s: 0.1\n")
        #expect(tooShort?.line == 4)
        let confirmed = try ActionsFile.parse(yaml: "actions:\n  - intent: x\n    confirm: true\n    confirm_timeout_s: 5\n    emit: json\n")
        #expect(confirmed.entries[0].confirm && confirmed.entries[0].confirmTimeoutSeconds == 5)

        let badNumber = error("actions:\n  - intent: x\n    min_confidence: 2\n")
        #expect(badNumber?.line == 3)

        #expect(error("dry_run: false\n")?.description.contains("missing 'actions:'") == true)
        #expect(error("actions: [\n")?.kind == .malformedYAML)
        #expect(error("- a\n- b\n")?.kind == .structure)
    }

    @Test func envUserGroupKeys() throws {
        let a = try ActionsFile.parse(yaml: """
        actions:
          - intent: lights
            exec: ["/usr/bin/logger", "{state}"]
            env: {LIGHTS_BUS: "can0", _x1: 7, PATH: /opt/lights/bin}
            user: nobody
            group: 65534
          - intent: status
            exec: ["/bin/true"]
        """)
        #expect(a.entries[0].environment == ["LIGHTS_BUS": "can0", "_x1": "7", "PATH": "/opt/lights/bin"])
        #expect(a.entries[0].user == "nobody" && a.entries[0].group == "65534")
        #expect(a.entries[1].environment.isEmpty && a.entries[1].user == nil && a.entries[1].group == nil)
        // Existing call sites keep compiling: the new fields default.
        #expect(ActionEntry(intent: "x", target: .none, line: 3).environment.isEmpty)

        let badName = error("actions:\n  - intent: x\n    exec: [\"/bin/true\"]\n    env: {1BAD: x}\n")
        #expect(badName?.kind == .structure && badName?.line == 4 && badName?.column == 11)
        #expect(badName?.description.contains("[A-Za-z_][A-Za-z0-9_]*") == true)
        #expect(error("actions:\n  - intent: x\n    exec: [\"/bin/true\"]\n    env: {A-B: x}\n")?.line == 4)
        #expect(error("actions:\n  - intent: x\n    exec: [\"/bin/true\"]\n    env: [A]\n")?.line == 4)
        let listValue = error("actions:\n  - intent: x\n    exec: [\"/bin/true\"]\n    env:\n      A: [1]\n")
        #expect(listValue?.line == 5 && listValue?.column == 10)
        let emptyUser = error("actions:\n  - intent: x\n    exec: [\"/bin/true\"]\n    user: \"\"\n")
        #expect(emptyUser?.line == 4 && emptyUser?.description.contains("non-empty") == true)
        #expect(error("actions:\n  - intent: x\n    exec: [\"/bin/true\"]\n    group: [a]\n")?.line == 4)
        let notExec = error("actions:\n  - intent: x\n    emit: json\n    user: nobody\n")
        #expect(notExec?.line == 4 && notExec?.column == 5 && notExec?.description.contains("only to 'exec'") == true)
        #expect(error("actions:\n  - intent: x\n    env: {A: b}\n")?.line == 3)
    }

    @Test func programMustBeAnAbsolutePath() throws {
        let bare = error("actions:\n  - intent: x\n    exec: [\"logger\", \"hi\"]\n")
        #expect(bare?.kind == .structure && bare?.line == 3 && bare?.column == 12)
        #expect(bare?.description.hasPrefix("a.yaml:3:12: the program must be an absolute path like /usr/bin/logger (no PATH search)") == true)
        #expect(bare?.description.contains("'logger'") == true)
        let relative = error("actions:\n  - intent: x\n    exec:\n      - ./bin/run\n")
        #expect(relative?.line == 4 && relative?.column == 9)
        #expect(try ActionsFile.parse(yaml: "actions:\n  - intent: x\n    exec: [\"/usr/bin/logger\"]\n").entries[0].target == .exec(["/usr/bin/logger"]))
    }

    @Test func validatesAgainstContext() throws {
        let ctx = try testContext()
        let good = try ActionsFile.parse(yaml: "actions:\n  - intent: lights\n    when: {state: \"on\"}\n    exec: [\"/usr/bin/x\", \"{car}\"]\n  - intent: status\n    emit: json\n")
        #expect(good.problems(against: ctx).isEmpty)

        let bad = try ActionsFile.parse(yaml: """
        actions:
          - intent: lihgts
            emit: json
          - intent: lights
            when: {colour: red}
            exec: ["/usr/bin/x", "{room}"]
        """, file: "bad.yaml")
        let problems = bad.problems(against: ctx)
        #expect(problems.map(\.kind) == [.unknownIntent("lihgts"), .unknownSlot("colour"), .unknownSlot("room")])
        #expect(problems[0].line == 2 && problems[1].line == 4)
        #expect(throws: ActionsError.self) { try bad.validate(against: ctx) }
    }
}

@Suite struct PolicyTests {
    let actions = try! ActionsFile.parse(yaml: """
    actions:
      - intent: lights
        when: {state: "on"}
        exec: ["/usr/bin/on"]
        min_confidence: 0.8
        cooldown_s: 5
      - intent: lights
        when: {state: "off"}
        exec: ["/usr/bin/off"]
    """)

    func rec(_ intent: String, _ slots: [String: String], _ confidence: Float, understood: Bool = true) -> IntentResult {
        IntentResult(understood: understood, intent: intent, slots: slots, confidence: confidence)
    }

    @Test func decisions() {
        var p = Policy(actions: actions)
        #expect(p.decide(rec("", [:], 0.01, understood: false), now: 0) == .notUnderstood)
        #expect(p.decide(rec("status", [:], 1), now: 0) == .noAction)
        #expect(p.decide(rec("lights", ["state": "dim"], 1), now: 0) == .conditionsUnmatched)
        #expect(p.decide(rec("lights", ["state": "on"], 0.79), now: 0).reason == "low-confidence")
        // First matching entry wins, and running it starts its cooldown.
        let first = p.decide(rec("lights", ["state": "on"], 0.9), now: 10)
        #expect(first.ran && first.entry?.target == .exec(["/usr/bin/on"]))
        let cooling = p.decide(rec("lights", ["state": "on"], 0.9), now: 12)
        guard case let .coolingDown(_, remaining) = cooling else { Issue.record("expected cooldown, got \(cooling)"); return }
        #expect(abs(remaining - 3) < 1e-9)
        // Another entry has its own clock; the cooldown ends after cooldown_s.
        #expect(p.decide(rec("lights", ["state": "off"], 0.1), now: 12).entry?.target == .exec(["/usr/bin/off"]))
        #expect(p.decide(rec("lights", ["state": "on"], 0.9), now: 15.01).ran)
    }
}
