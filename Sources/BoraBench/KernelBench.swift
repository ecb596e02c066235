import BoraCore
import CBoraKernels

/// The streaming-read bandwidth of this machine, GB/s per thread count: a `bytes` buffer read
/// by all threads of a pool (one contiguous share each), median of `runs` timed reads after one
/// warm-up. `progress` is called with each thread count and its figure as it is measured.
public func measureReadBandwidth(bytes: Int, threadCounts: [Int], runs: Int,
                                 progress: (Int, Double) -> Void = { _, _ in }) -> [Int: Double] {
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
    var bandwidth: [Int: Double] = [:]
    for t in threadCounts {
        let pool = ThreadPool(threads: t)
        var job = StreamJob(base: UnsafeRawPointer(buffer), bytes: bytes, sink: 0)
        let (stats, _) = measure(runs: runs) {
            withUnsafeMutablePointer(to: &job) { ptr in
                pool.run({ ctx, i, n in
                    let job = ctx!.assumingMemoryBound(to: StreamJob.self)
                    let r = ThreadPool.split(job.pointee.bytes / 64, index: i, threads: n)
                    let x = bora_stream_read(job.pointee.base + r.lowerBound * 64, r.count * 64)
                    if x == 0x5eed { job.pointee.sink &+= 1 }
                }, context: ptr)
            }
        }
        bandwidth[t] = Double(bytes) / stats.median / 1e9
        progress(t, bandwidth[t]!)
    }
    return bandwidth
}

private struct StreamJob {
    let base: UnsafeRawPointer
    let bytes: Int
    var sink: UInt64
}

/// A weight matrix of random blocks whose f16 scale fields hold small finite values (the same
/// bits every run). The caller owns the storage: `free()` it when done.
public struct RandomWeights {
    public let view: TensorView
    let storage: UnsafeMutableRawPointer

    /// A `rows` × `cols` matrix of `type` (Q4_0, Q4_1, Q8_0 and Q4_K get finite scales).
    public init(type: QuantType, cols: Int, rows: Int) {
        let rowBytes = type.byteCount(elements: cols)!
        let total = rowBytes * rows
        storage = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 64)
        var state: UInt64 = 0x9E3779B97F4A7C15
        let words = storage.bindMemory(to: UInt64.self, capacity: total / 8)
        for i in 0..<(total / 8) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            words[i] = state
        }
        let scaleOffsets: [Int]
        switch type {
        case .q4_0, .q8_0: scaleOffsets = [0]
        case .q4_1, .q4_K: scaleOffsets = [0, 2]
        default: scaleOffsets = []
        }
        let blocks = total / type.bytesPerBlock
        let raw = UnsafeMutableRawPointer(words)
        for b in 0..<blocks {
            for o in scaleOffsets { raw.storeBytes(of: UInt16(0x2000 + (b & 0xff)), toByteOffset: b * type.bytesPerBlock + o, as: UInt16.self) }
        }
        view = TensorView(type: type, data: UnsafeRawPointer(raw), cols: cols, rows: rows)
    }

    public func free() { storage.deallocate() }
}
