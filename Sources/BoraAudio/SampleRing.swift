import Synchronization

/// A preallocated lock-free single-producer/single-consumer ring of Float samples that drops
/// the OLDEST audio when the consumer falls behind, and counts what it dropped.
///
/// The producer (the capture thread) never blocks, never waits for the consumer and never
/// allocates: `write` always succeeds. Positions are monotonic 64-bit sample counts. Because the
/// producer may overwrite slots the consumer is copying, it first announces how far it will write
/// (`reserved`, a seqlock-style guard); after copying, the consumer re-reads `reserved` and
/// discards (and counts as dropped) any copied sample whose slot may have been overwritten, so
/// a reader never returns torn or reordered audio. Exactly one producer thread and one consumer
/// thread may use a ring at a time.
public final class SampleRing: @unchecked Sendable {
    /// Slots in the ring (a power of two ≥ the requested capacity).
    public let capacity: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<Float>
    private let published = Atomic<Int>(0)    // samples fully written (producer)
    private let reserved = Atomic<Int>(0)     // samples the producer may be writing (producer)
    private let consumed = Atomic<Int>(0)     // next sample the consumer reads (consumer)
    private let droppedCount = Atomic<Int>(0)

    /// - Parameter capacity: minimum number of samples held; rounded up to a power of two.
    public init(capacity: Int) {
        var c = 1
        while c < max(capacity, 2) { c <<= 1 }
        self.capacity = c
        mask = c - 1
        slots = .allocate(capacity: c)
        slots.initialize(repeating: 0, count: c)
    }

    deinit { slots.deallocate() }

    /// Producer only. Appends `samples`, overwriting the oldest unread audio if needed.
    /// Never blocks, never allocates.
    public func write(_ samples: UnsafeBufferPointer<Float>) {
        guard let base = samples.baseAddress, samples.count > 0 else { return }
        let start = published.load(ordering: .relaxed)
        let end = start + samples.count
        let keep = min(samples.count, capacity)        // only the newest `capacity` can survive
        reserved.store(end, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)        // `reserved` is visible before any slot changes
        copyIn(base + (samples.count - keep), count: keep, at: end - keep)
        published.store(end, ordering: .releasing)
    }

    /// Consumer only. Copies up to `output.count` of the oldest unread samples, in order.
    /// Samples overwritten before they could be read are skipped and added to `dropped`.
    /// - Returns: the number of samples copied (0 when the ring is empty).
    public func read(into output: UnsafeMutableBufferPointer<Float>) -> Int {
        guard let dst = output.baseAddress, output.count > 0 else { return 0 }
        var position = consumed.load(ordering: .relaxed)
        let head = published.load(ordering: .acquiring)
        var lost = 0
        if head - position > capacity {
            lost += head - position - capacity
            position = head - capacity
        }
        var n = min(output.count, head - position)
        copyOut(dst, count: n, from: position)
        atomicMemoryFence(ordering: .acquiring)        // the copy happens before re-reading `reserved`
        let unsafeBelow = reserved.load(ordering: .relaxed) - capacity
        if unsafeBelow > position {                    // the producer lapped part of what we copied
            let torn = min(n, unsafeBelow - position)
            if torn < n { dst.update(from: dst + torn, count: n - torn) }
            n -= torn
            lost += torn
            position += torn
        }
        consumed.store(position + n, ordering: .releasing)
        if lost > 0 { droppedCount.add(lost, ordering: .relaxed) }
        return n
    }

    /// Samples written but not yet read (may exceed `capacity` until the next read accounts the drop).
    public var pending: Int { published.load(ordering: .acquiring) - consumed.load(ordering: .acquiring) }
    /// Total samples the producer has written.
    public var totalWritten: Int { published.load(ordering: .acquiring) }
    /// Total samples dropped because the consumer fell behind.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }

    private func copyIn(_ src: UnsafePointer<Float>, count: Int, at position: Int) {
        let i = position & mask
        let first = min(count, capacity - i)
        (slots + i).update(from: src, count: first)
        if first < count { slots.update(from: src + first, count: count - first) }
    }

    private func copyOut(_ dst: UnsafeMutablePointer<Float>, count: Int, from position: Int) {
        let i = position & mask
        let first = min(count, capacity - i)
        dst.update(from: slots + i, count: first)
        if first < count { (dst + first).update(from: slots, count: count - first) }
    }
}
