#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The work a `ThreadPool` runs: called once per thread with `(context, threadIndex, threadCount)`.
/// A C-convention function cannot capture, so a parallel region allocates nothing: its inputs
/// travel through `context` (usually a pointer to a stack struct).
public typealias ParallelBody = @convention(c) (UnsafeMutableRawPointer?, Int, Int) -> Void

/// A persistent pool of pthreads for data-parallel loops (matrix rows split across workers).
///
/// `run` hands the same body to every thread — the calling thread is thread 0 — and returns
/// when all have finished. Workers spin briefly for the next job (decode steps come in quick
/// succession), then park on a condition variable so an idle pool costs no CPU.
/// Contract: `run` is not reentrant and must be called from one thread at a time; it performs
/// no heap allocation. Threads are joined in `deinit`.
public final class ThreadPool: @unchecked Sendable {
    /// Threads that execute a parallel region, including the caller.
    public let threadCount: Int

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// The next unclaimed unit of the running region's shared range (`claim`).
    private let cursor = Atomic<Int>(0)
    private var body: ParallelBody?
    private var context: UnsafeMutableRawPointer?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var threads: [pthread_t] = []

    /// Spin iterations before a waiting worker parks (~100 µs): longer than the serial gaps between
    /// a forward pass's parallel regions, so workers rarely pay a futex wake-up mid-token.
    private static let spinLimit = 200_000

    /// Starts `threads - 1` workers (at least one thread: the caller).
    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for index in 1..<threadCount {
            let start = WorkerStart(pool: self, index: index)
            let box = Unmanaged.passRetained(start).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, box)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            self.threads.append(thread)
        }
    }

    /// The number of threads to use by default: online CPUs, overridable by `BORA_THREADS`.
    public static var defaultThreadCount: Int {
        if let s = getenv("BORA_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(&mutex)
        generation.wrappingAdd(1, ordering: .acquiringAndReleasing)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body(context, i, threadCount)` for every thread index i and waits for all of them.
    public func run(_ body: ParallelBody, context: UnsafeMutableRawPointer?) {
        if threadCount == 1 {
            body(context, 0, 1)
            return
        }
        self.body = body
        self.context = context
        pending.store(threadCount - 1, ordering: .relaxed)
        cursor.store(0, ordering: .relaxed)
        // Publishing the new generation releases body/context to the workers.
        generation.wrappingAdd(1, ordering: .acquiringAndReleasing)
        if sleepers.load(ordering: .acquiring) > 0 {
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
        }
        body(context, 0, threadCount)
        var spins = 0
        while pending.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins > ThreadPool.spinLimit { sched_yield() }
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            // Spin, then park until the generation moves.
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins < ThreadPool.spinLimit {
                    current = generation.load(ordering: .acquiring)
                    continue
                }
                pthread_mutex_lock(&mutex)
                sleepers.wrappingAdd(1, ordering: .acquiringAndReleasing)
                current = generation.load(ordering: .acquiring)
                while current == seen {
                    pthread_cond_wait(&wake, &mutex)
                    current = generation.load(ordering: .acquiring)
                }
                sleepers.wrappingSubtract(1, ordering: .acquiringAndReleasing)
                pthread_mutex_unlock(&mutex)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            if let body { body(context, index, threadCount) }
            pending.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        }
    }

    /// Work sharing inside a parallel region, for loops whose threads run at uneven speeds (a
    /// worker that starts late, a core shared with another process): the next chunk of
    /// `0..<count` units that no thread has taken, or nil when all are taken. Every thread of the
    /// region calls it with the same `count` until it returns nil; each unit goes to exactly one
    /// thread. Thread `index` first gets its own fixed share of the first `staticShare` of the
    /// range (no shared state touched), then chunks of the rest shrink as it runs out ("guided":
    /// a quarter of what remains per thread, at least `minimum` units). `state` carries the
    /// thread's progress between calls and must start as `ClaimState()`. Allocates nothing.
    @inline(__always)
    public func claim(_ count: Int, index: Int, threads: Int, state: inout ClaimState,
                      staticShare: Double = 0.6, minimum: Int = 4) -> Range<Int>? {
        // one thread: its fixed share is everything
        let share = threads == 1 ? count : Int(Double(count) * staticShare) / threads
        let fixed = share * threads
        if !state.tookFixed {
            state.tookFixed = true
            if share > 0 { return share * index..<share * (index + 1) }
        }
        var current = cursor.load(ordering: .relaxed)
        while true {
            let start = fixed + current
            if start >= count { return nil }
            let end = min(count, start + max(minimum, (count - start) / (2 * threads)))
            let (exchanged, original) = cursor.compareExchange(expected: current, desired: end - fixed, ordering: .relaxed)
            if exchanged { return start..<end }
            current = original
        }
    }

    /// The half-open range of `0..<count` that thread `index` of `threads` handles, with range
    /// starts rounded to multiples of `granule` (e.g. rows per cache line of output).
    @inline(__always)
    public static func split(_ count: Int, index: Int, threads: Int, granule: Int = 1) -> Range<Int> {
        let units = (count + granule - 1) / granule
        let lo = units * index / threads * granule
        let hi = units * (index + 1) / threads * granule
        return min(lo, count)..<min(hi, count)
    }
}

/// One thread's progress through `ThreadPool.claim` within a region.
public struct ClaimState {
    var tookFixed = false
    public init() {}
}

private final class WorkerStart {
    // Unowned: the workers must not keep the pool alive, or deinit (which joins them) never runs.
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
}
