#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bump allocator over one buffer reserved up front (page-aligned anonymous memory, zero-filled).
/// The kernel commits pages on first touch, so a large KV cache costs resident memory only for
/// the positions actually used.
///
/// Every buffer a forward pass needs is carved from an arena sized at load time, so steady-state
/// inference performs no heap allocation. Contract: allocations are never freed individually;
/// `reset()` releases everything at once, invalidating every pointer handed out. Asking for more
/// than the remaining capacity is a programmer error (the arena was sized wrong) and traps.
/// Not thread-safe: carve buffers before starting parallel work.
public final class Arena: @unchecked Sendable {
    /// Total bytes reserved.
    public let capacity: Int
    /// Bytes handed out since the last reset.
    public private(set) var used = 0
    /// The largest `used` ever reached.
    public private(set) var highWater = 0
    private let base: UnsafeMutableRawPointer

    /// Alignment of every allocation: one cache line, enough for AVX-512 loads.
    public static let alignment = 64

    public init(capacity: Int) {
        precondition(capacity >= 0, "negative arena capacity")
        self.capacity = capacity
        let p = mmap(nil, max(capacity, Arena.alignment), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(!isMapFailed(p), "cannot reserve \(capacity) bytes for the arena")
        base = p!
    }

    deinit { munmap(base, max(capacity, Arena.alignment)) }

    /// Room for `count` values of `T`, 64-byte aligned, uninitialized (zero after creation).
    public func allocate<T>(_: T.Type = T.self, count: Int) -> UnsafeMutablePointer<T> {
        allocateBytes(count * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: count)
    }

    /// `byteCount` bytes, 64-byte aligned.
    public func allocateBytes(_ byteCount: Int) -> UnsafeMutableRawPointer {
        precondition(byteCount >= 0)
        let start = (used + Arena.alignment - 1) & ~(Arena.alignment - 1)
        precondition(start + byteCount <= capacity,
                     "arena exhausted: need \(byteCount) bytes at \(start), capacity \(capacity)")
        used = start + byteCount
        highWater = max(highWater, used)
        return base + start
    }

    /// Releases every allocation.
    public func reset() { used = 0 }

    /// Bytes an arena needs for these allocations (each rounded up to the alignment).
    public static func bytesNeeded(_ sizes: [Int]) -> Int {
        sizes.reduce(0) { $0 + (($1 + alignment - 1) & ~(alignment - 1)) }
    }
}
