/// A deterministic automaton over Whisper token ids that constrains decoding: from each state,
/// only the tokens on its edges may follow, and end of text only where the state is accepting.
/// States are numbered 0..<stateCount (start = 0). Edges are stored compressed by state:
/// the edges of state s are `edgeStart[s] ..< edgeStart[s + 1]`, sorted by token, each with one
/// target (determinism: a token appears at most once per state). BoraIntent compiles context
/// grammars into this form; BoraSpeech's constrained search walks it without allocating.
public struct TokenAutomaton: Sendable, Equatable {
    public var edgeStart: [Int32]
    public var edgeToken: [Int32]
    public var edgeTarget: [Int32]
    public var accepting: [Bool]
    /// Per state: the most tokens any path from it takes to an accepting state (end of text
    /// excluded); `Int32.max` when a cycle makes it unbounded, -1 when no accepting state is reachable.
    /// The constrained search bounds what a live hypothesis can still gain with it.
    public private(set) var longestRemaining: [Int32]

    public var stateCount: Int { accepting.count }

    /// Preconditions (checked): edgeStart has stateCount + 1 non-decreasing entries from 0 to
    /// edgeToken.count; tokens are strictly increasing within a state; targets are valid states.
    public init(edgeStart: [Int32], edgeToken: [Int32], edgeTarget: [Int32], accepting: [Bool]) {
        precondition(edgeStart.count == accepting.count + 1 && edgeStart.first == 0
                     && Int(edgeStart.last!) == edgeToken.count && edgeToken.count == edgeTarget.count)
        for s in 0..<accepting.count {
            precondition(edgeStart[s] <= edgeStart[s + 1])
            var previous: Int32 = -1
            for e in Int(edgeStart[s])..<Int(edgeStart[s + 1]) {
                precondition(edgeToken[e] > previous, "tokens of state \(s) must be strictly increasing")
                precondition(edgeTarget[e] >= 0 && Int(edgeTarget[e]) < accepting.count)
                previous = edgeToken[e]
            }
        }
        self.edgeStart = edgeStart; self.edgeToken = edgeToken; self.edgeTarget = edgeTarget; self.accepting = accepting
        longestRemaining = TokenAutomaton.longestPaths(edgeStart: edgeStart, edgeTarget: edgeTarget, accepting: accepting)
    }

    /// Longest path to acceptance per state: iterative depth-first search with a colour per state
    /// (0 new, 1 on the stack, 2 done); a back edge marks everything on the stack unbounded.
    static func longestPaths(edgeStart: [Int32], edgeTarget: [Int32], accepting: [Bool]) -> [Int32] {
        let n = accepting.count
        var result = [Int32](repeating: -1, count: n), colour = [UInt8](repeating: 0, count: n)
        var stack: [(state: Int, edge: Int)] = []
        for root in 0..<n where colour[root] == 0 {
            stack.append((root, Int(edgeStart[root]))); colour[root] = 1
            result[root] = accepting[root] ? 0 : -1
            while let top = stack.last {
                let s = top.state
                if top.edge < Int(edgeStart[s + 1]) {
                    stack[stack.count - 1].edge += 1
                    let t = Int(edgeTarget[top.edge])
                    if colour[t] == 0 {
                        colour[t] = 1; result[t] = accepting[t] ? 0 : -1
                        stack.append((t, Int(edgeStart[t])))
                    } else if colour[t] == 1 {
                        result[s] = .max   // a cycle: any length
                    } else if result[t] >= 0 {
                        result[s] = max(result[s], result[t] == .max ? .max : result[t] + 1)
                    }
                } else {
                    stack.removeLast(); colour[s] = 2
                    if let parent = stack.last?.state, result[s] >= 0 {
                        result[parent] = max(result[parent], result[s] == .max ? .max : result[s] + 1)
                    }
                }
            }
        }
        return result
    }

    /// The state after `token` from `state`, or nil when the token is not allowed there.
    public func next(_ state: Int32, _ token: Int32) -> Int32? {
        var lo = Int(edgeStart[Int(state)]), hi = Int(edgeStart[Int(state) + 1])
        while lo < hi {
            let mid = (lo + hi) / 2
            if edgeToken[mid] < token { lo = mid + 1 } else { hi = mid }
        }
        return lo < Int(edgeStart[Int(state) + 1]) && edgeToken[lo] == token ? edgeTarget[lo] : nil
    }

    /// True when `tokens` is a complete path from the start to an accepting state.
    public func accepts(_ tokens: [Int32]) -> Bool {
        var s: Int32 = 0
        for t in tokens {
            guard let n = next(s, t) else { return false }
            s = n
        }
        return accepting[Int(s)]
    }
}
