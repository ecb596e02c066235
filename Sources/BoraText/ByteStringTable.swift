/// An append-only set of byte strings, each numbered in insertion order, with lookups that take a
/// buffer and allocate nothing. Open addressing, FNV-1a.
///
/// The tokenizer keeps token texts here (index == token id) followed by the merge pieces and merge
/// results that are not tokens, so BPE symbols can be compared as integers.
struct ByteStringTable: Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int] = [0]
    private var slots: [Int32]
    private var mask: Int

    init(minimumCapacity: Int) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { starts.count - 1 }

    /// Bytes of string `index`.
    func bytes(_ index: Int) -> ArraySlice<UInt8> { storage[starts[index] ..< starts[index + 1]] }

    func byteCount(_ index: Int) -> Int { starts[index + 1] - starts[index] }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Index of `bytes`, or nil.
    func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        var slot = Self.hash(bytes) & mask
        return storage.withUnsafeBufferPointer { all in
            while true {
                let index = slots[slot]
                if index < 0 { return nil }
                let start = starts[Int(index)], end = starts[Int(index) + 1]
                if end - start == bytes.count, memEqual(all.baseAddress! + start, bytes) { return index }
                slot = (slot + 1) & mask
            }
        }
    }

    func find(_ bytes: some Collection<UInt8>) -> Int32? {
        if let found = bytes.withContiguousStorageIfAvailable({ find($0) }) { return found }
        return Array(bytes).withUnsafeBufferPointer { find($0) }
    }

    /// Adds `bytes` unless present; returns its index and whether it was new.
    @discardableResult
    mutating func insert(_ bytes: [UInt8]) -> (index: Int32, inserted: Bool) {
        bytes.withUnsafeBufferPointer { insert($0) }
    }

    /// Adds `bytes` unless present; returns its index and whether it was new.
    @discardableResult
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>) -> (index: Int32, inserted: Bool) {
        if let existing = find(bytes) { return (existing, false) }
        if (count + 1) * 2 > slots.count { grow() }
        let index = Int32(count)
        storage.append(contentsOf: bytes)
        starts.append(storage.count)
        place(index, hash: Self.hash(bytes))
        return (index, true)
    }

    private mutating func place(_ index: Int32, hash: Int) {
        var slot = hash & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = index
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for index in 0 ..< count {
            let start = starts[index], end = starts[index + 1]
            let h = storage.withUnsafeBufferPointer { Self.hash(UnsafeBufferPointer(rebasing: $0[start ..< end])) }
            place(Int32(index), hash: h)
        }
    }
}

@inline(__always)
private func memEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    for i in 0 ..< b.count where a[i] != b[i] { return false }
    return true
}
