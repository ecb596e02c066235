import Testing
@testable import BoraCore

private struct SumJob {
    var input: UnsafePointer<Int>
    var count: Int
    var partials: UnsafeMutablePointer<Int>
    var calls: UnsafeMutablePointer<Int>
}

@Test func splitCoversRangeExactlyOnce() {
    for count in [0, 1, 2, 7, 64, 1000, 1537] {
        for threads in 1...5 {
            for granule in [1, 4, 16] {
                var covered = [Int](repeating: 0, count: count)
                var previousEnd = 0
                for i in 0..<threads {
                    let r = ThreadPool.split(count, index: i, threads: threads, granule: granule)
                    #expect(r.lowerBound == previousEnd)
                    if r.lowerBound < count { #expect(r.lowerBound % granule == 0) }
                    previousEnd = r.upperBound
                    for j in r { covered[j] += 1 }
                }
                #expect(previousEnd == count)
                #expect(covered.allSatisfy { $0 == 1 })
            }
        }
    }
}

@Test(arguments: [1, 2, 3, 4])
func poolRunsEveryThreadOncePerRegion(threads: Int) {
    let pool = ThreadPool(threads: threads)
    let n = 10_007
    let input = UnsafeMutablePointer<Int>.allocate(capacity: n)
    defer { input.deallocate() }
    for i in 0..<n { input[i] = i }
    let partials = UnsafeMutablePointer<Int>.allocate(capacity: threads)
    let calls = UnsafeMutablePointer<Int>.allocate(capacity: threads)
    defer { partials.deallocate(); calls.deallocate() }
    calls.initialize(repeating: 0, count: threads)
    var job = SumJob(input: input, count: n, partials: partials, calls: calls)
    let rounds = 2_000
    for _ in 0..<rounds {
        partials.initialize(repeating: 0, count: threads)
        withUnsafeMutablePointer(to: &job) { ptr in
            pool.run({ ctx, index, count in
                let job = ctx!.assumingMemoryBound(to: SumJob.self).pointee
                var s = 0
                for i in ThreadPool.split(job.count, index: index, threads: count) { s += job.input[i] }
                job.partials[index] = s
                job.calls[index] += 1
            }, context: ptr)
        }
        let total = (0..<threads).reduce(0) { $0 + partials[$1] }
        #expect(total == n * (n - 1) / 2)
        if total != n * (n - 1) / 2 { break }
    }
    for i in 0..<threads { #expect(calls[i] == rounds) }
}

private struct ClaimJob {
    var pool: Unmanaged<ThreadPool>
    var count: Int
    var hits: UnsafeMutablePointer<Int>      // per unit: how many threads claimed it
    var claims: UnsafeMutablePointer<Int>    // per thread: chunks claimed
}

@Test(arguments: [1, 2, 3, 4])
func claimHandsOutEveryUnitOnce(threads: Int) {
    let pool = ThreadPool(threads: threads)
    let most = 1000
    let hits = UnsafeMutablePointer<Int>.allocate(capacity: most)
    let claims = UnsafeMutablePointer<Int>.allocate(capacity: threads)
    defer { hits.deallocate(); claims.deallocate() }
    for count in [0, 1, 3, 7, 60, 97, 1000] {
        for _ in 0..<50 {
            hits.initialize(repeating: 0, count: most)
            claims.initialize(repeating: 0, count: threads)
            var job = ClaimJob(pool: Unmanaged.passUnretained(pool), count: count, hits: hits, claims: claims)
            withUnsafeMutablePointer(to: &job) { ptr in
                pool.run({ ctx, index, threads in
                    let job = ctx!.assumingMemoryBound(to: ClaimJob.self).pointee
                    var state = ClaimState()
                    while let r = job.pool._withUnsafeGuaranteedRef({ $0.claim(job.count, index: index, threads: threads, state: &state) }) {
                        precondition(!r.isEmpty && r.lowerBound >= 0 && r.upperBound <= job.count)
                        // distinct threads touch distinct units only if claims never overlap
                        for u in r { job.hits[u] += 1 }
                        job.claims[index] += 1
                    }
                }, context: ptr)
            }
            #expect((0..<count).allSatisfy { hits[$0] == 1 }, "\(threads) threads, \(count) units")
            #expect((count..<most).allSatisfy { hits[$0] == 0 })
            if threads == 1 { #expect(claims[0] == (count > 0 ? 1 : 0)) }
        }
    }
}

@Test func arenaAlignsAndResets() {
    let arena = Arena(capacity: 4096)
    let a = arena.allocate(Float.self, count: 3)
    let b = arena.allocate(UInt8.self, count: 1)
    let c = arena.allocate(Double.self, count: 10)
    for p in [UnsafeRawPointer(a), UnsafeRawPointer(b), UnsafeRawPointer(c)] {
        #expect(Int(bitPattern: p) % Arena.alignment == 0)
    }
    #expect(UnsafeRawPointer(b) - UnsafeRawPointer(a) == 64)
    #expect(arena.used == 128 + 80)
    arena.reset()
    #expect(arena.used == 0)
    #expect(arena.highWater == 208)
    #expect(UnsafeRawPointer(arena.allocate(Float.self, count: 1)) == UnsafeRawPointer(a))
    #expect(Arena.bytesNeeded([1, 64, 65]) == 64 + 64 + 128)
}
