import Foundation
import Synchronization
import Testing
@testable import BoraAction

/// SIGHUP reloads build on their own thread: the loop's poll never waits for a build, a finished
/// build is handed over exactly once, a failed one hands over nothing, and a request that arrives
/// during a build runs one more build after it.
struct BackgroundReloadTests {
    let actions = try! ActionsFile.parse(yaml: "actions:\n  - intent: x\n    emit: json\n")

    func waitUntil(_ condition: () -> Bool) {
        let until = Date().addingTimeInterval(10)
        while !condition() && Date() < until { usleep(1_000) }
    }

    @Test func buildsOffThePollingThreadAndHandsOverOnce() {
        let gate = Mutex(false), builds = Atomic<Int>(0)
        let actions = self.actions
        let reload = BackgroundReload {
            while !gate.withLock({ $0 }) { usleep(1_000) }   // a build that takes as long as the test wants
            builds.add(1, ordering: .relaxed)
            return ListenReload(actions: actions, recognizer: nil)
        }
        #expect(reload.poll(requested: true) == nil)   // returns at once: the build waits on the gate
        #expect(reload.isBuilding)
        #expect(reload.poll(requested: false) == nil)
        gate.withLock { $0 = true }
        waitUntil { !reload.isBuilding }
        #expect(reload.poll(requested: false)?.actions.entries.count == 1)
        #expect(reload.poll(requested: false) == nil)   // handed over once
        #expect(builds.load(ordering: .relaxed) == 1)
    }

    @Test func aFailedBuildHandsOverNothing() {
        let reload = BackgroundReload { nil }
        _ = reload.poll(requested: true)
        waitUntil { !reload.isBuilding }
        #expect(reload.poll(requested: false) == nil)
    }

    @Test func aRequestDuringABuildRunsOneMoreBuild() {
        let gate = Mutex(false), builds = Atomic<Int>(0)
        let actions = self.actions
        let reload = BackgroundReload {
            while !gate.withLock({ $0 }) { usleep(1_000) }
            let n = builds.add(1, ordering: .relaxed).newValue
            return ListenReload(actions: n == 1 ? ActionsFile(entries: [], dryRun: false) : actions, recognizer: nil)
        }
        _ = reload.poll(requested: true)
        _ = reload.poll(requested: true)   // while the first build runs
        _ = reload.poll(requested: true)   // coalesced with the previous request
        gate.withLock { $0 = true }
        waitUntil { builds.load(ordering: .relaxed) == 2 && !reload.isBuilding }
        #expect(builds.load(ordering: .relaxed) == 2)
        #expect(reload.poll(requested: false)?.actions.entries.count == 1)   // the newest build wins
    }
}
