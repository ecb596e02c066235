/// An append-only set of byte strings, each numbered in insertion order, with lookups that take a
/// buffer and allocate nothing. Open addressing, FNV-1a.
///
/// The tokenizer keeps token texts here (index == token id) followed by the merge pieces and merge
/// results that are not tokens, so BPE symbols can be compared as integers.
struct ByteStringTable: Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int32] = [0]   // byte offsets (a vocabulary is far below 2 GiB)
    /// Open-addressing slots: high 32 bits a hash tag, low 32 bits the string index; `empty` if
    /// unused. The tag rejects almost every non-matching probe without touching the strings
    /// (each touch is a cache miss on a 100k-entry vocabulary).
    private var slots: [UInt64]
    private var mask: Int
    private static let empty = UInt64.max

    init(minimumCapacity: Int) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: Self.empty, count: size)
        mask = size - 1
        starts.reserveCapacity(minimumCapacity + 1)
    }

    var count: Int { starts.count - 1 }

    /// Bytes of string `index`.
    func bytes(_ index: Int) -> ArraySlice<UInt8> { storage[Int(starts[index]) ..< Int(starts[index + 1])] }

    func byteCount(_ index: Int) -> Int { Int(starts[index + 1] - starts[index]) }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Index of `bytes`, or nil.
    func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        find(bytes, hash: Self.hash(bytes))
    }

    private func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: Int) -> Int32? {
        var slot = hash & mask
        let tag = Self.tag(hash)
        return storage.withUnsafeBufferPointer { all in
            slots.withUnsafeBufferPointer { slots in
                starts.withUnsafeBufferPointer { starts in
                    while true {
                        let entry = slots[slot]
                        if entry == Self.empty { return nil }
                        if entry >> 32 == tag {
                            let index = Int(entry & 0xFFFF_FFFF)
                            let start = Int(starts[index]), end = Int(starts[index + 1])
                            if end - start == bytes.count, memEqual(all.baseAddress! + start, bytes) { return Int32(index) }
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    @inline(__always) private static func tag(_ hash: Int) -> UInt64 { UInt64(UInt(bitPattern: hash) >> 32) & 0xFFFF_FFFF }

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
        let hash = Self.hash(bytes)
        if let existing = find(bytes, hash: hash) { return (existing, false) }
        if (count + 1) * 2 > slots.count { grow() }
        let index = Int32(count)
        storage.append(contentsOf: bytes)
        starts.append(Int32(storage.count))
        place(index, hash: hash)
        return (index, true)
    }

    private mutating func place(_ index: Int32, hash: Int) {
        var slot = hash & mask
        while slots[slot] != Self.empty { slot = (slot + 1) & mask }
        slots[slot] = Self.tag(hash) << 32 | UInt64(UInt32(index))
    }

    private mutating func grow() {
        slots = [UInt64](repeating: Self.empty, count: slots.count * 2)
        mask = slots.count - 1
        for index in 0 ..< count {
            let start = Int(starts[index]), end = Int(starts[index + 1])
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
