#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error opening or mapping a file. Each case names the failing C call, the path, and
/// errno with its `strerror` text.
public enum MappedFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `open(2)` failed.
    case open(path: String, errno: Int32, message: String)
    /// `fstat(2)` failed.
    case stat(path: String, errno: Int32, message: String)
    /// The path is a directory, device or other non-regular file.
    case notRegularFile(path: String)
    /// The file is larger than this process can address.
    case tooLarge(path: String, bytes: Int64)
    /// `mmap(2)` failed.
    case mmap(path: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case let .open(path, code, message):
            return "cannot open \(path): \(message) (errno \(code)); check the path and its permissions"
        case let .stat(path, code, message):
            return "cannot stat \(path): \(message) (errno \(code))"
        case let .notRegularFile(path):
            return "\(path) is not a regular file; pass the path of a model file"
        case let .tooLarge(path, bytes):
            return "\(path) is \(bytes) bytes, too large to map in this process"
        case let .mmap(path, code, message):
            return "cannot map \(path): \(message) (errno \(code)); check free address space and `ulimit -v`"
        }
    }
}

/// A whole file mapped read-only into memory (`open` + `fstat` + `mmap(PROT_READ, MAP_PRIVATE)`
/// + `madvise`).
///
/// Ownership: the object owns the mapping and unmaps it (`munmap`) in `deinit`. The file
/// descriptor is closed as soon as the mapping exists (the mapping stays valid without it),
/// so a `MappedFile` holds no descriptor. Pointers derived from `base` are valid exactly as
/// long as the object is alive; anything that hands such pointers out (tensor views) must
/// keep a strong reference to it. The memory is read-only: writing through it crashes.
///
/// An empty file yields a valid mapping with `count == 0` and a non-null `base` that must
/// not be dereferenced (`mmap` itself refuses length 0).
///
/// `@unchecked Sendable`: all stored properties are immutable after `init`, and the mapped
/// memory is never written, so sharing across threads is safe.
public final class MappedFile: @unchecked Sendable {
    /// How the mapping will be read; passed to `madvise(2)`. A hint only: failures are ignored.
    public enum AccessHint: Sendable {
        /// No hint (`MADV_NORMAL`).
        case normal
        /// Read front to back once (`MADV_SEQUENTIAL`): aggressive read-ahead.
        case sequential
        /// Scattered reads (`MADV_RANDOM`): no read-ahead, e.g. experts paged in on demand.
        case random
        /// Will be needed soon (`MADV_WILLNEED`): start reading the whole file in now.
        case willNeed
    }

    /// The path the file was opened with.
    public let path: String
    /// First byte of the mapping. Valid while `self` is alive; never null.
    public let base: UnsafeRawPointer
    /// Size of the file (and of the readable region at `base`) in bytes.
    public let count: Int
    /// True when `base` came from `mmap` (false for the empty-file placeholder).
    private let isMapped: Bool

    /// The mapped bytes as a buffer. Valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Maps the whole file at `path` read-only.
    ///
    /// - Throws: `MappedFileError` naming the failing call (`open`, `fstat`, `mmap`), the path and errno.
    public init(path: String, hint: AccessHint = .normal) throws(MappedFileError) {
        self.path = path
        let fd = try Self.openReadOnly(path)
        defer { _ = close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            throw .stat(path: path, errno: code, message: errorText(code))
        }
        guard UInt32(info.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG) else { throw .notRegularFile(path: path) }
        let size = Int64(info.st_size)
        guard let byteCount = Int(exactly: size), byteCount >= 0 else {
            throw .tooLarge(path: path, bytes: size)
        }

        if byteCount == 0 {
            // mmap(len: 0) fails with EINVAL; hand out a private 1-byte allocation instead.
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16))
            count = 0
            isMapped = false
            return
        }

        // `.willNeed` also pre-faults the page tables (MAP_POPULATE): one bulk pass at load instead
        // of tens of thousands of minor faults inside the first forward pass.
        let flags = MAP_PRIVATE | (hint == .willNeed ? MAP_POPULATE : 0)
        let raw = mmap(nil, byteCount, PROT_READ, flags, fd, 0)
        guard let raw, raw != UnsafeMutableRawPointer(bitPattern: -1) else {  // MAP_FAILED
            let code = errno
            throw .mmap(path: path, errno: code, message: errorText(code))
        }
        base = UnsafeRawPointer(raw)
        count = byteCount
        isMapped = true
        advise(hint)
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// True when `base` is an mmap of the file (false for small files read into memory).
    public var isMemoryMapped: Bool { isMapped }

    /// Passes a new access hint for the whole mapping to `madvise(2)`. Failures are ignored.
    public func advise(_ hint: AccessHint) {
        guard isMapped else { return }
        let advice: Int32
        switch hint {
        case .normal: advice = Int32(MADV_NORMAL)
        case .sequential: advice = Int32(MADV_SEQUENTIAL)
        case .random: advice = Int32(MADV_RANDOM)
        case .willNeed: advice = Int32(MADV_WILLNEED)
        }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), count, advice)
    }

    /// Faults in the pages holding bytes `range` of the file now (page-rounded), so that the first
    /// pass over them takes no page faults: `MADV_POPULATE_READ` (Linux 5.14+; one bulk pass, as
    /// `MAP_POPULATE` for the whole file), else `MADV_WILLNEED` (read-ahead only). Only `range` is
    /// touched: a loader prefaults the tensors it uses, never padding or unused data, so RSS follows
    /// what the model needs, not the file's size. Out-of-range parts are clipped; failures ignored.
    public func populate(_ range: Range<Int>) {
        guard isMapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lower = max(0, range.lowerBound) / page * page
        let upper = min(count, range.upperBound)
        guard upper > lower else { return }
        let start = UnsafeMutableRawPointer(mutating: base) + lower
        let madvPopulateRead: Int32 = 22   // MADV_POPULATE_READ (linux/mman.h); older glibc headers lack it
        if madvise(start, upper - lower, madvPopulateRead) != 0 {
            _ = madvise(start, upper - lower, Int32(MADV_WILLNEED))
        }
    }

    /// Drops the resident pages of the first `byteCount` bytes from this process (MADV_DONTNEED on
    /// the whole pages inside the range): they stop counting in RSS and are read again from the
    /// file if touched later, so contents never change. For headers parsed once at load.
    public func releasePages(upTo byteCount: Int) {
        guard isMapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = min(byteCount, count) / page * page
        guard length > 0 else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), length, Int32(MADV_DONTNEED))
    }

    /// `open(path, O_RDONLY | O_CLOEXEC)`, retried on `EINTR`.
    private static func openReadOnly(_ path: String) throws(MappedFileError) -> Int32 {
        let fd = retryingEINTR { posixOpen(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            let code = errno
            throw .open(path: path, errno: code, message: errorText(code))
        }
        return fd
    }

}
