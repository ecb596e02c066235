import BoraGGUF
import Synchronization
import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// The expert store cannot be set up.
public enum ExpertStoreError: BoraInputError, Equatable {
    /// The model has no experts.
    case notMixtureOfExperts
    /// The budget holds fewer experts than one token needs at once.
    case budgetTooSmall(budgetBytes: Int, minimumBytes: Int)
    /// The model file cannot be opened for reading.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notMixtureOfExperts:
            return "--expert-cache-mb applies to Mixture-of-Experts models only; drop the option for this model"
        case let .budgetTooSmall(budget, minimum):
            return "expert cache of \(budget >> 20) MiB is below the minimum \((minimum + (1 << 20) - 1) >> 20) MiB (the experts one token uses at once); raise --expert-cache-mb"
        case let .unreadable(path, reason):
            return "\(path): cannot open for expert reads (\(reason)); check the file and its permissions"
        }
    }
}

/// How an `ExpertStore` behaves.
public struct ExpertStoreOptions: Sendable {
    /// Bytes of RAM for expert slots (whole experts: gate + up + down of one expert of one layer).
    public var budgetBytes: Int
    /// Guess the next layer's experts from the current hidden state and read them ahead.
    public var prefetch = true
    /// Read ahead only guesses whose next-layer router probability reaches this (0 = every top-k
    /// guess; nil = twice the uniform probability, 2 / experts). A wrong guess costs a read and
    /// evicts an expert that may be needed, which loses more than it hides when storage is the
    /// bottleneck (`bora bench moe`).
    public var prefetchMinProbability: Float?
    /// Bench only: model storage of this many bytes per second (each read takes at least
    /// bytes / rate), e.g. 40 MB/s for an SD card, 150 MB/s eMMC, 1500 MB/s NVMe.
    public var ioLimitBytesPerSecond: Double?
    /// Which cached expert makes room for a new one.
    public var eviction = ExpertEviction.layerPartitioned
    /// While the store lives, replace the experts' pages in the model's file mapping by an
    /// inaccessible reservation (restored at deinit), so the kernel's fault-around can never map
    /// expert pages that sit in the page cache next to other weights: only the budget holds
    /// experts, whatever the page cache holds. Meanwhile every session on the model must use this
    /// store (`LlamaSession` checks).
    public var unmapExperts = true
    /// Read with O_DIRECT where the filesystem allows it (otherwise buffered reads followed by
    /// POSIX_FADV_DONTNEED, so the page cache cannot hide the cost).
    public var directIO = true
    public init(budgetBytes: Int) { self.budgetBytes = budgetBytes }
}

/// Eviction policies of `ExpertStore`.
public enum ExpertEviction: String, Sendable, CaseIterable {
    /// Least recently used over all slots.
    case lru
    /// Each layer owns an equal share of the slots (least recently used within the share; a
    /// layer that needs more than its share at once borrows the globally least recently used
    /// slot). A forward pass visits layers in a cycle, which global LRU turns into evicting
    /// exactly the experts the next layers would reuse.
    case layerPartitioned = "layer"
}

/// What the store did (cumulative since creation or `resetMetrics`).
public struct ExpertStoreMetrics: Sendable, Equatable {
    /// Experts asked for by the forward pass.
    public var acquisitions = 0
    /// ... found ready in a slot.
    public var hits = 0
    /// ... found being read (a prefetch or an earlier request in flight): a partial hit.
    public var inFlightHits = 0
    /// ... not in the store: read on demand.
    public var misses = 0
    /// Bytes and reads from storage (demand and prefetch).
    public var bytesRead = 0
    public var reads = 0
    /// Experts read ahead, and how many of them were used before being evicted.
    public var prefetchIssued = 0
    public var prefetchUsed = 0
    /// Time the forward pass waited for reads, nanoseconds.
    public var stallNanos = 0
    public var evictions = 0
    /// Reads that failed even after retries (the slot is zero-filled; results are then wrong, so
    /// callers report it as an error).
    public var readErrors = 0
    /// Share of acquisitions that did not wait for a read started by that acquisition.
    public var hitRate: Double { acquisitions == 0 ? 0 : Double(hits + inFlightHits) / Double(acquisitions) }
    /// Share of read-ahead experts that were used.
    public var prefetchAccuracy: Double { prefetchIssued == 0 ? 0 : Double(prefetchUsed) / Double(prefetchIssued) }
}

/// Views of one expert's three matrices.
public struct ExpertViews: Sendable {
    public let gate: TensorView
    public let up: TensorView
    public let down: TensorView
}

/// Keeps a Mixture-of-Experts model's experts on storage and a byte-budgeted set of them in RAM.
///
/// The cache holds whole experts in fixed slots carved from one anonymous mapping (budget ÷ the
/// largest expert, rounded down). A miss is read with `pread` on a dedicated I/O thread —
/// `O_DIRECT` through an aligned bounce buffer where the filesystem allows, otherwise buffered
/// reads followed by `POSIX_FADV_DONTNEED` — while the forward pass waits (its wait is the
/// stall). Demand reads go before read-ahead. Eviction: least recently used among slots that are
/// neither pinned (in use by the current layer) nor being read. The expert bytes come from the
/// file unchanged, so outputs are bit-identical to the all-resident (mmap) model at any budget.
///
/// Thread-safety: `acquire`/`release`/`request`/`prefetch` are called from the forward pass (one
/// thread); the I/O thread is internal. No allocation after init.
public final class ExpertStore: @unchecked Sendable {
    public let model: LlamaModel
    public let options: ExpertStoreOptions
    /// Whole experts the budget holds.
    public let slotCount: Int
    public let slotBytes: Int
    /// True when reads bypass the page cache with O_DIRECT.
    public var usesDirectIO: Bool { directIOUsed.load(ordering: .relaxed) }
    /// Set by whichever thread reads first (the I/O thread or a demand read); atomic, not a plain
    /// flag (a data race under ThreadSanitizer, `tools/sanitize thread`).
    private let directIOUsed = Atomic<Bool>(false)

    private let expertsPerLayer: Int
    private let layers: [ExpertWeights?]
    private let slots: UnsafeMutableRawPointer
    private let mappingBytes: Int
    private let fd: Int32
    private let directFD: Int32
    private let bounce: UnsafeMutableRawPointer        // the I/O thread's O_DIRECT buffer
    private let callerBounce: UnsafeMutableRawPointer  // the forward pass's (reads in `acquire`)
    private let bounceBytes: Int

    // Shared state, guarded by `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let ioWake: UnsafeMutablePointer<pthread_cond_t>
    private let readDone: UnsafeMutablePointer<pthread_cond_t>
    private enum SlotState: UInt8 { case empty, queued, reading, ready }
    private let owner: UnsafeMutablePointer<Int32>      // per slot: key (layer · experts + expert) or -1
    private let state: UnsafeMutablePointer<SlotState>
    private let pins: UnsafeMutablePointer<Int32>
    private let lastUse: UnsafeMutablePointer<UInt64>
    private let unusedPrefetch: UnsafeMutablePointer<Bool>
    private let countedMiss: UnsafeMutablePointer<Bool>  // a `request` counted this read as a miss already
    private let requested: UnsafeMutablePointer<Bool>    // pinned by `request` until its `acquire`
    private let table: UnsafeMutablePointer<Int32>      // per key: slot or -1
    private var demand: SlotQueue
    private var ahead: SlotQueue
    private var tick: UInt64 = 0
    private var stopping = false
    private var counters = ExpertStoreMetrics()
    private var busyUntil = 0.0   // throttle: the modelled device is busy until then (monotonic s)
    private var thread = pthread_t()
    private var holes: [(offset: Int, length: Int)] = []

    /// Opens `path` (the model's file) for expert reads and starts the I/O thread. Throws when the
    /// model has no experts, the budget cannot hold the experts one layer needs for one token
    /// (`expert_used_count`), or the file cannot be opened.
    public init(model: LlamaModel, path: String, options: ExpertStoreOptions) throws(ExpertStoreError) {
        guard model.config.isMixtureOfExperts else { throw .notMixtureOfExperts }
        self.model = model
        self.options = options
        slotBytes = model.maxExpertBytes
        let minimum = model.config.expertUsedCount * slotBytes
        guard options.budgetBytes >= minimum else { throw .budgetTooSmall(budgetBytes: options.budgetBytes, minimumBytes: minimum) }
        slotCount = min(options.budgetBytes / slotBytes, model.expertCount)
        expertsPerLayer = model.config.expertCount
        layers = (0..<model.config.layerCount).map { model.experts(layer: $0) }

        let f = posixOpen(path, O_RDONLY | O_CLOEXEC)
        guard f >= 0 else { throw .unreadable(path: path, reason: errorText(errno)) }
        fd = f
        directFD = options.directIO ? posixOpen(path, O_RDONLY | O_CLOEXEC | linuxODirect) : -1
        let page = 4096
        mappingBytes = (slotCount * slotBytes + page - 1) / page * page
        guard let m = mmap(nil, mappingBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), !isMapFailed(m) else {
            close(f); if directFD >= 0 { close(directFD) }
            throw .unreadable(path: path, reason: "cannot map \(mappingBytes) bytes for the expert cache")
        }
        slots = m
        var largest = 0
        for case let w? in layers { largest = max(largest, w.gate.expertBytes, w.up.expertBytes, w.down.expertBytes) }
        bounceBytes = (largest + 2 * page + page - 1) / page * page
        var b: UnsafeMutableRawPointer?
        posix_memalign(&b, page, bounceBytes)
        bounce = b!
        posix_memalign(&b, page, bounceBytes)
        callerBounce = b!

        mutex = .allocate(capacity: 1); pthread_mutex_init(mutex, nil)
        ioWake = .allocate(capacity: 1); pthread_cond_init(ioWake, nil)
        readDone = .allocate(capacity: 1); pthread_cond_init(readDone, nil)
        owner = .allocate(capacity: slotCount); owner.initialize(repeating: -1, count: slotCount)
        state = .allocate(capacity: slotCount); state.initialize(repeating: .empty, count: slotCount)
        pins = .allocate(capacity: slotCount); pins.initialize(repeating: 0, count: slotCount)
        lastUse = .allocate(capacity: slotCount); lastUse.initialize(repeating: 0, count: slotCount)
        unusedPrefetch = .allocate(capacity: slotCount); unusedPrefetch.initialize(repeating: false, count: slotCount)
        countedMiss = .allocate(capacity: slotCount); countedMiss.initialize(repeating: false, count: slotCount)
        requested = .allocate(capacity: slotCount); requested.initialize(repeating: false, count: slotCount)
        table = .allocate(capacity: model.expertCount); table.initialize(repeating: -1, count: model.expertCount)
        demand = SlotQueue(capacity: 2 * slotCount + 1)
        ahead = SlotQueue(capacity: 2 * slotCount + 1)

        if options.unmapExperts, let mapped = model.file.mappedFile, mapped.isMemoryMapped,
           model.expertsUnmapped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            for case let w? in layers {
                for t in [w.gate, w.up, w.down] {
                    let start = (t.fileOffset + page - 1) / page * page
                    let end = (t.fileOffset + t.count * t.expertBytes) / page * page
                    guard end > start else { continue }
                    let at = UnsafeMutableRawPointer(mutating: mapped.base + start)
                    if mmap(at, end - start, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0).map({ !isMapFailed($0) }) ?? false {
                        holes.append((start, end - start))
                    }
                }
            }
        }

        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        // The I/O thread borrows `self` without retaining it (a strong reference held for the
        // thread's life would keep the store alive forever); deinit stops and joins it first.
        pthread_create(&thread, nil, { arg in
            Unmanaged<ExpertStore>.fromOpaque(arg!)._withUnsafeGuaranteedRef { $0.ioLoop() }
            return nil
        }, unmanaged)
    }

    deinit {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(ioWake)
        pthread_mutex_unlock(mutex)
        pthread_join(thread, nil)
        if let mapped = model.file.mappedFile, !holes.isEmpty {
            for h in holes {   // put the file pages back where the model's views expect them
                _ = mmap(UnsafeMutableRawPointer(mutating: mapped.base + h.offset), h.length, PROT_READ,
                         MAP_PRIVATE | MAP_FIXED, fd, off_t(h.offset))
            }
            model.expertsUnmapped.store(false, ordering: .releasing)
        }
        munmap(slots, mappingBytes)
        free(bounce)
        free(callerBounce)
        close(fd)
        if directFD >= 0 { close(directFD) }
        pthread_cond_destroy(ioWake); ioWake.deallocate()
        pthread_cond_destroy(readDone); readDone.deallocate()
        pthread_mutex_destroy(mutex); mutex.deallocate()
        owner.deallocate(); state.deallocate(); pins.deallocate(); lastUse.deallocate()
        unusedPrefetch.deallocate(); countedMiss.deallocate(); requested.deallocate(); table.deallocate()
        demand.deallocate(); ahead.deallocate()
    }

    /// Counters so far.
    public var metrics: ExpertStoreMetrics {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        return counters
    }

    /// Zeroes the counters (the cache contents stay).
    public func resetMetrics() {
        pthread_mutex_lock(mutex); counters = ExpertStoreMetrics(); pthread_mutex_unlock(mutex)
    }

    /// Pins every listed expert of `layer` and starts reading those not in the store yet (demand
    /// priority, no waiting), as far as slots allow: the forward pass calls it with all the
    /// experts a layer needs, then `acquire`s them **in the same order** while later ones are
    /// still being read (an expert that found no slot here is read by its `acquire`).
    public func request(layer: Int, experts: UnsafeBufferPointer<Int32>) {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        for e in experts {
            let key = layer * expertsPerLayer + Int(e)
            var s = Int(table[key])
            if s < 0 {
                s = startRead(key: key, demand: true)
                if s < 0 { break }   // every slot pinned or being read
                counters.misses += 1
                countedMiss[s] = true
            }
            if !requested[s] { requested[s] = true; pins[s] += 1 }
        }
    }

    /// Read-ahead: like `request` at low priority, skipped when no slot is free to evict.
    public func prefetch(layer: Int, experts: UnsafeBufferPointer<Int32>) {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        for e in experts {
            let key = layer * expertsPerLayer + Int(e)
            if table[key] >= 0 { continue }
            guard startRead(key: key, demand: false) >= 0 else { break }
            counters.prefetchIssued += 1
        }
    }

    /// The expert's matrices, waiting for its read when needed; pinned until `release`.
    public func acquire(layer: Int, expert: Int) -> ExpertViews {
        let key = layer * expertsPerLayer + expert
        pthread_mutex_lock(mutex)
        counters.acquisitions += 1
        tick += 1
        var s = Int(table[key])
        if s >= 0 {
            if countedMiss[s] { countedMiss[s] = false } else if state[s] == .ready { counters.hits += 1 } else { counters.inFlightHits += 1 }
            if unusedPrefetch[s] { unusedPrefetch[s] = false; counters.prefetchUsed += 1 }
            if state[s] == .queued { demand.push(Int32(s)) }   // promote a queued read-ahead
        } else {
            counters.misses += 1
            while true {
                s = startRead(key: key, demand: true)
                if s >= 0 { break }
                pthread_cond_wait(readDone, mutex)   // every slot pinned or being read: wait for one
            }
        }
        if requested[s] { requested[s] = false } else { pins[s] += 1 }   // a request's pin carries over
        lastUse[s] = tick
        if state[s] != .ready {
            let t0 = monotonicNanoseconds()
            if state[s] == .queued {
                // Not started yet: read it here rather than wait for the I/O thread to be scheduled
                // (two wake-ups per miss cost more than the read on a 2-core board). The queue
                // entry becomes a no-op.
                fill(slot: s, bounce: callerBounce)
            }
            while state[s] != .ready { pthread_cond_wait(readDone, mutex) }
            counters.stallNanos += Int(monotonicNanoseconds() - t0)
        }
        pthread_mutex_unlock(mutex)
        return views(slot: s, layer: layer)
    }

    /// Unpins an expert returned by `acquire`.
    public func release(layer: Int, expert: Int) {
        pthread_mutex_lock(mutex)
        let s = Int(table[layer * expertsPerLayer + expert])
        if s >= 0 && pins[s] > 0 { pins[s] -= 1 }
        pthread_mutex_unlock(mutex)
    }

    // MARK: internals (mutex held unless noted)

    /// Assigns `key` a slot and queues its read; returns the slot, or -1 when every slot is
    /// pinned or being read. A key already present returns its slot.
    private func startRead(key: Int, demand isDemand: Bool) -> Int {
        if table[key] >= 0 { return Int(table[key]) }
        var victim = -1
        if options.eviction == .layerPartitioned {
            let layer = key / expertsPerLayer
            victim = leastRecentlyUsed(in: slotRange(layer: layer))
        }
        if victim < 0 { victim = leastRecentlyUsed(in: 0..<slotCount) }
        guard victim >= 0 else { return -1 }
        if owner[victim] >= 0 {
            table[Int(owner[victim])] = -1
            counters.evictions += 1
        }
        owner[victim] = Int32(key)
        table[key] = Int32(victim)
        state[victim] = .queued
        tick += 1
        lastUse[victim] = tick
        unusedPrefetch[victim] = !isDemand
        countedMiss[victim] = false
        requested[victim] = false
        if isDemand { demand.push(Int32(victim)) } else { ahead.push(Int32(victim)) }
        pthread_cond_signal(ioWake)
        return victim
    }

    /// The slots layer `layer` owns under `.layerPartitioned` (an equal share, remainder spread).
    private func slotRange(layer: Int) -> Range<Int> {
        let n = layers.count
        return (layer * slotCount / n)..<((layer + 1) * slotCount / n)
    }

    /// An empty slot, else the least recently used one that is neither pinned nor being read; -1 if none.
    private func leastRecentlyUsed(in range: Range<Int>) -> Int {
        var victim = -1
        var oldest = UInt64.max
        for s in range where pins[s] == 0 && state[s] != .queued && state[s] != .reading {
            if state[s] == .empty { return s }
            if lastUse[s] < oldest { oldest = lastUse[s]; victim = s }
        }
        return victim
    }

    private func views(slot s: Int, layer: Int) -> ExpertViews {
        let w = layers[layer]!
        let base = UnsafeRawPointer(slots + s * slotBytes)
        let gateBytes = w.gate.expertBytes, upBytes = w.up.expertBytes
        return ExpertViews(gate: TensorView(type: w.gate.type, data: base, cols: w.gate.cols, rows: w.gate.rows),
                           up: TensorView(type: w.up.type, data: base + gateBytes, cols: w.up.cols, rows: w.up.rows),
                           down: TensorView(type: w.down.type, data: base + gateBytes + upBytes, cols: w.down.cols, rows: w.down.rows))
    }

    /// The I/O thread: takes demand reads before read-ahead; the mutex is released while reading.
    private func ioLoop() {
        pthread_mutex_lock(mutex)
        while true {
            while demand.isEmpty && ahead.isEmpty && !stopping { pthread_cond_wait(ioWake, mutex) }
            if stopping { break }
            let s = Int(demand.isEmpty ? ahead.pop() : demand.pop())
            guard state[s] == .queued else { continue }   // a duplicate entry (promoted, or already read)
            fill(slot: s, bounce: bounce)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Reads queued slot `s`'s expert, releasing the mutex (held on entry and on return) during
    /// the read, then marks it ready and wakes the waiters.
    private func fill(slot s: Int, bounce: UnsafeMutableRawPointer) {
        state[s] = .reading
        let key = Int(owner[s])
        pthread_mutex_unlock(mutex)
        let bytes = read(key: key, into: slots + s * slotBytes, bounce: bounce)
        pthread_mutex_lock(mutex)
        state[s] = .ready
        counters.bytesRead += bytes
        counters.reads += 1
        pthread_cond_broadcast(readDone)
    }

    /// Reads expert `key` (gate, up, down) into `destination`; returns the bytes read. Runs on
    /// the I/O thread or on an `acquire`ing thread, without the mutex held.
    private func read(key: Int, into destination: UnsafeMutableRawPointer, bounce: UnsafeMutableRawPointer) -> Int {
        let layer = key / expertsPerLayer, e = key % expertsPerLayer
        let w = layers[layer]!
        let g = w.gate.expertBytes, u = w.up.expertBytes, d = w.down.expertBytes
        readRange(fileOffset: w.gate.fileOffset + e * g, count: g, into: destination, bounce: bounce)
        readRange(fileOffset: w.up.fileOffset + e * u, count: u, into: destination + g, bounce: bounce)
        readRange(fileOffset: w.down.fileOffset + e * d, count: d, into: destination + g + u, bounce: bounce)
        let offset = g + u + d
        if let rate = options.ioLimitBytesPerSecond {
            // A device of `rate` bytes/s: this read occupies it for offset / rate seconds, after
            // any read (from either thread) it is still busy with.
            pthread_mutex_lock(mutex)
            let start = max(monotonicSeconds(), busyUntil)
            busyUntil = start + Double(offset) / rate
            let until = busyUntil
            pthread_mutex_unlock(mutex)
            let wait = until - monotonicSeconds()
            if wait > 0 { usleep(UInt32(wait * 1e6)) }
        }
        return offset
    }

    private func readRange(fileOffset: Int, count: Int, into destination: UnsafeMutableRawPointer, bounce: UnsafeMutableRawPointer) {
        if directFD >= 0 {
            let start = fileOffset & ~4095
            let length = (fileOffset + count - start + 4095) & ~4095
            if length <= bounceBytes {
                let got = pread(directFD, bounce, length, off_t(start))
                if got >= fileOffset + count - start {
                    destination.copyMemory(from: bounce + (fileOffset - start), byteCount: count)
                    directIOUsed.store(true, ordering: .relaxed)
                    return
                }
            }
        }
        var done = 0, failures = 0
        while done < count {
            let got = retryingEINTR { pread(fd, destination + done, count - done, off_t(fileOffset + done)) }
            if got <= 0 {
                failures += 1
                if failures < 3 { usleep(1000); continue }
                destination.advanced(by: done).initializeMemory(as: UInt8.self, repeating: 0, count: count - done)
                pthread_mutex_lock(mutex); counters.readErrors += 1; pthread_mutex_unlock(mutex)
                break
            }
            done += got
        }
        posix_fadvise(fd, off_t(fileOffset), off_t(count), Int32(POSIX_FADV_DONTNEED))
    }
}

/// A fixed-capacity FIFO of slot indices (no allocation after init).
private struct SlotQueue {
    private let storage: UnsafeMutablePointer<Int32>
    private let capacity: Int
    private var head = 0, count = 0
    init(capacity: Int) { self.capacity = capacity; storage = .allocate(capacity: capacity) }
    var isEmpty: Bool { count == 0 }
    mutating func push(_ v: Int32) {
        if count == capacity { head = (head + 1) % capacity; count -= 1 }  // drop the oldest (a stale duplicate)
        storage[(head + count) % capacity] = v
        count += 1
    }
    mutating func pop() -> Int32 {
        let v = storage[head]
        head = (head + 1) % capacity
        count -= 1
        return v
    }
    func deallocate() { storage.deallocate() }
}

/// Linux `O_DIRECT` (Glibc hides it behind _GNU_SOURCE): 0o40000 on x86-64, 0o200000 on arm64.
#if arch(arm64)
private let linuxODirect: Int32 = 0o200000
#else
private let linuxODirect: Int32 = 0o40000
#endif


