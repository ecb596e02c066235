import Foundation
import Testing
@testable import BoraAudio

@Suite struct SampleRingTests {
    func write(_ ring: SampleRing, _ values: [Float]) { values.withUnsafeBufferPointer { ring.write($0) } }
    func read(_ ring: SampleRing, max: Int) -> [Float] {
        var out = [Float](repeating: -1, count: max)
        let n = out.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        return Array(out[0..<n])
    }

    @Test func wraparound() {
        let ring = SampleRing(capacity: 8)
        #expect(ring.capacity == 8)
        write(ring, [0, 1, 2, 3, 4])
        #expect(read(ring, max: 3) == [0, 1, 2])
        write(ring, [5, 6, 7, 8, 9, 10])          // slots 5, 6, 7, 0, 1, 2
        #expect(ring.pending == 8)
        #expect(read(ring, max: 100) == [3, 4, 5, 6, 7, 8, 9, 10])
        #expect(read(ring, max: 100) == [])
        #expect(ring.dropped == 0)
    }

    @Test func overflowDropsOldestAndCounts() {
        let ring = SampleRing(capacity: 64)
        write(ring, (0..<100).map(Float.init))
        #expect(read(ring, max: 1000) == (36..<100).map(Float.init))
        #expect(ring.dropped == 36)
        write(ring, (100..<130).map(Float.init))
        write(ring, (130..<200).map(Float.init))  // a single write larger than the ring
        #expect(read(ring, max: 10) == (136..<146).map(Float.init))
        #expect(ring.dropped == 36 + 36)
        #expect(read(ring, max: 1000) == (146..<200).map(Float.init))
        #expect(ring.totalWritten == 200)
    }

    /// 2^21 samples through a 4096-slot ring, producer throttled to keep at most half the ring
    /// pending (the consumer keeps up): every sample arrives exactly once, in order.
    @Test func stressNoLossWhenConsumerKeepsUp() async {
        let total = 1 << 21
        let ring = SampleRing(capacity: 4096)
        let producer = Thread {
            var block = [Float](repeating: 0, count: 509)
            var next = 0, size = 1
            while next < total {
                let n = min(size, total - next)
                while ring.pending > ring.capacity / 2 { sched_yield() }
                for i in 0..<n { block[i] = Float(next + i) }
                block.withUnsafeBufferPointer { ring.write(UnsafeBufferPointer(rebasing: $0[0..<n])) }
                next += n
                size = size * 5 % 509 + 1
            }
        }
        producer.start()
        var expected = 0, errors = 0
        var out = [Float](repeating: 0, count: 777)
        while expected < total {
            let n = out.withUnsafeMutableBufferPointer { ring.read(into: $0) }
            for i in 0..<n where out[i] != Float(expected + i) { errors += 1 }
            expected += n
            if n == 0 { sched_yield() }
        }
        #expect(errors == 0)
        #expect(expected == total)
        #expect(ring.dropped == 0)
    }

    /// Unthrottled producer and a slow consumer: what arrives is in order without duplicates,
    /// and received + dropped == written (no torn reads slip through).
    @Test func stressOverflowAccounting() async {
        let total = 1 << 20
        let ring = SampleRing(capacity: 1024)
        let done = ManagedAtomicFlag()
        let producer = Thread {
            var block = [Float](repeating: 0, count: 300)
            var next = 0
            while next < total {
                let n = min(300, total - next)
                for i in 0..<n { block[i] = Float(next + i) }
                block.withUnsafeBufferPointer { ring.write(UnsafeBufferPointer(rebasing: $0[0..<n])) }
                next += n
            }
            done.set()
        }
        producer.start()
        var received = 0, last: Float = -1, disorder = 0
        var out = [Float](repeating: 0, count: 100)
        while true {
            let finished = done.isSet
            let n = out.withUnsafeMutableBufferPointer { ring.read(into: $0) }
            for i in 0..<n {
                if out[i] <= last { disorder += 1 }
                last = out[i]
            }
            received += n
            if n == 0 && finished { break }
            for _ in 0..<200 { _ = ring.pending }       // be slow
        }
        #expect(disorder == 0)
        #expect(last == Float(total - 1))
        #expect(received + ring.dropped == total)
        #expect(ring.dropped > 0)
        print("overflow stress: received \(received), dropped \(ring.dropped)")
    }
}

final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
