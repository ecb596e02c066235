import BoraCore

/// An acyclic NFA whose edges carry a symbol (word or token id), nothing (ε), or a marker that is
/// ε for matching but records the intent or a slot capture along the path.
struct LabelledGraph: Sendable {
    enum Label: Hashable, Sendable {
        case symbol(Int32)
        case epsilon
        case intent(Int32)
        /// Slot `name` (index into names) took `value` (index into values); the value's words follow.
        case capture(name: Int32, value: Int32)
    }
    struct Edge: Sendable { let label: Label; let target: Int32 }

    var edges: [[Edge]] = [[]]
    var accepting: [Bool] = [false]

    var stateCount: Int { accepting.count }

    mutating func addState() -> Int32 {
        edges.append([]); accepting.append(false)
        return Int32(accepting.count - 1)
    }

    mutating func add(_ from: Int32, _ label: Label, _ to: Int32) {
        edges[Int(from)].append(Edge(label: label, target: to))
    }

    /// Adds a chain of symbols from `from` to `to`, creating intermediate states.
    mutating func addChain(_ from: Int32, _ symbols: [Int32], _ to: Int32) {
        guard !symbols.isEmpty else { add(from, .epsilon, to); return }
        var s = from
        for (i, symbol) in symbols.enumerated() {
            let t = i == symbols.count - 1 ? to : addState()
            add(s, .symbol(symbol), t)
            s = t
        }
    }

    /// States reachable from `state` through non-symbol edges (itself included).
    func closure(_ state: Int32) -> [Int32] {
        var seen: Set<Int32> = [state]
        var stack = [state], out: [Int32] = []
        while let s = stack.popLast() {
            out.append(s)
            for e in edges[Int(s)] where !isSymbol(e.label) && seen.insert(e.target).inserted { stack.append(e.target) }
        }
        return out
    }

    func isSymbol(_ label: Label) -> Bool { if case .symbol = label { true } else { false } }

    /// Matches `symbols` from state 0 to an accepting state; returns the markers of the first
    /// path found (edges tried in insertion order, so earlier intents and alternatives win).
    func firstPath(_ symbols: [Int32]) -> [Label]? {
        var failed = Set<Int>()
        var markers: [Label] = []
        let n = symbols.count
        func search(_ state: Int32, _ position: Int) -> Bool {
            if position == n && accepting[Int(state)] { return true }
            let key = Int(state) * (n + 1) + position
            if failed.contains(key) { return false }
            for edge in edges[Int(state)] {
                switch edge.label {
                case .symbol(let symbol):
                    if position < n && symbols[position] == symbol && search(edge.target, position + 1) { return true }
                case .epsilon:
                    if search(edge.target, position) { return true }
                default:
                    markers.append(edge.label)
                    if search(edge.target, position) { return true }
                    markers.removeLast()
                }
            }
            failed.insert(key)
            return false
        }
        return search(0, 0) ? markers : nil
    }

    /// Subset construction (markers are ε) followed by minimization (the DFA is acyclic, so equal
    /// states are found bottom-up by their edges). State 0 of the result is the start.
    /// Returns nil when more than `maxStates` subsets appear or `deadline` (`monotonicSeconds()`) passes.
    /// Every pass is iterative: a grammar with a very long sentence needs no deep stack.
    func determinized(maxStates: Int, deadline: Double = .infinity) -> TokenAutomatonParts? {
        var stamp = [Int32](repeating: -1, count: stateCount)
        var stampValue: Int32 = 0
        func closure(of seeds: [Int32]) -> [Int32] {
            stampValue += 1
            var stack = seeds, out: [Int32] = []
            for s in seeds { stamp[Int(s)] = stampValue }
            while let s = stack.popLast() {
                out.append(s)
                for e in edges[Int(s)] where !isSymbol(e.label) && stamp[Int(e.target)] != stampValue {
                    stamp[Int(e.target)] = stampValue; stack.append(e.target)
                }
            }
            return out.sorted()
        }
        var index: [[Int32]: Int32] = [:]
        var subsets: [[Int32]] = []
        var dfaEdges: [[(Int32, Int32)]] = []
        var dfaAccepting: [Bool] = []
        func intern(_ set: [Int32]) -> Int32 {
            if let i = index[set] { return i }
            let i = Int32(subsets.count)
            index[set] = i; subsets.append(set); dfaEdges.append([]); dfaAccepting.append(set.contains { accepting[Int($0)] })
            return i
        }
        _ = intern(closure(of: [0]))
        var next = 0
        while next < subsets.count {
            if subsets.count > maxStates { return nil }
            if next & 1023 == 1023 && monotonicSeconds() > deadline { return nil }
            var moves: [Int32: [Int32]] = [:]
            for s in subsets[next] {
                for e in edges[Int(s)] { if case .symbol(let t) = e.label { moves[t, default: []].append(e.target) } }
            }
            var out: [(Int32, Int32)] = []
            for (token, targets) in moves { out.append((token, intern(closure(of: Array(Set(targets)))))) }
            out.sort { $0.0 < $1.0 }
            dfaEdges[next] = out
            next += 1
        }
        // Minimize: canonical representative per state, computed after its successors (acyclic),
        // in the reverse of a depth-first finishing order kept on an explicit stack.
        var canonical = [Int32](repeating: -1, count: subsets.count)
        var register: [[Int32]: Int32] = [:]
        for s in Self.postOrder(count: subsets.count, successors: { dfaEdges[$0].map { Int($0.1) } }) {
            var key: [Int32] = [dfaAccepting[s] ? 1 : 0]
            for (token, target) in dfaEdges[s] { key.append(token); key.append(canonical[Int(target)]) }
            let c = register[key] ?? Int32(s)
            register[key] = c
            canonical[s] = c
        }
        // Renumber reachable canonical states breadth-first from the start.
        var number: [Int32: Int32] = [canonical[0]: 0]
        var order: [Int32] = [canonical[0]]
        var edgeStart: [Int32] = [0], edgeToken: [Int32] = [], edgeTarget: [Int32] = [], acceptingOut: [Bool] = []
        var k = 0
        while k < order.count {
            let s = order[k]
            acceptingOut.append(dfaAccepting[Int(s)])
            for (token, target) in dfaEdges[Int(s)] {
                let c = canonical[Int(target)]
                let id: Int32
                if let existing = number[c] { id = existing } else {
                    id = Int32(order.count); number[c] = id; order.append(c)
                }
                edgeToken.append(token); edgeTarget.append(id)
            }
            edgeStart.append(Int32(edgeToken.count))
            k += 1
        }
        return TokenAutomatonParts(edgeStart: edgeStart, edgeToken: edgeToken, edgeTarget: edgeTarget,
                                   accepting: acceptingOut, subsetStates: subsets.count)
    }
}

extension LabelledGraph {
    /// The states reachable from state 0 of an acyclic graph, each after all its successors
    /// (depth-first finishing order), computed with an explicit stack.
    static func postOrder(count: Int, successors: (Int) -> [Int]) -> [Int] {
        guard count > 0 else { return [] }
        var done = [Bool](repeating: false, count: count)
        var order: [Int] = []
        order.reserveCapacity(count)
        var stack: [(state: Int, next: [Int], i: Int)] = [(0, successors(0), 0)]
        done[0] = true
        while !stack.isEmpty {
            let top = stack.count - 1
            if stack[top].i < stack[top].next.count {
                let t = stack[top].next[stack[top].i]
                stack[top].i += 1
                if !done[t] { done[t] = true; stack.append((t, successors(t), 0)) }
            } else {
                order.append(stack[top].state)
                stack.removeLast()
            }
        }
        return order
    }
}

struct TokenAutomatonParts {
    let edgeStart: [Int32], edgeToken: [Int32], edgeTarget: [Int32], accepting: [Bool]
    let subsetStates: Int

    /// Number of distinct accepted symbol sequences (saturating; the DFA is acyclic).
    func pathCount() -> (count: UInt64, saturated: Bool) {
        var memo = [UInt64](repeating: 0, count: accepting.count)
        var saturated = false
        let order = LabelledGraph.postOrder(count: accepting.count) { s in
            (Int(edgeStart[s])..<Int(edgeStart[s + 1])).map { Int(edgeTarget[$0]) }
        }
        for s in order {
            var total: UInt64 = accepting[s] ? 1 : 0
            for e in Int(edgeStart[s])..<Int(edgeStart[s + 1]) {
                let (sum, overflow) = total.addingReportingOverflow(memo[Int(edgeTarget[e])])
                if overflow { saturated = true; total = .max } else { total = sum }
            }
            memo[s] = total
        }
        return (memo.isEmpty ? 0 : memo[0], saturated)
    }
}
