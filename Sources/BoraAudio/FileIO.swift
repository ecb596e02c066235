import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and atomic whole-file writes (temp file in the same directory + rename,
/// so a reader never sees a half-written file and a failure leaves nothing behind).
enum FileIO {
    /// Reads the whole file at `path`; more than `maxBytes` is `.tooLarge` (for pipes and devices,
    /// which have no size to check first; `limitSeconds` only goes into the message).
    static func readAll(_ path: String, maxBytes: Int = Int.max, limitSeconds: Double = 0) throws(AudioError) -> [UInt8] {
        let fd = posixOpen(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, errno: e)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, errno: errno) }
        if UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFDIR) { throw .unreadable(path: path, errno: EISDIR) }
        var bytes = [UInt8]()
        if UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG), Int(st.st_size) > maxBytes {
            throw .tooLarge(name: path, bytes: Int(st.st_size), limitBytes: maxBytes, limitSeconds: limitSeconds)
        }
        bytes.reserveCapacity(min(Int(st.st_size), maxBytes))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { raw in retryingEINTR { read(fd, raw.baseAddress, raw.count) } }
            if n < 0 { throw .unreadable(path: path, errno: errno) }
            if n == 0 { break }
            if n > maxBytes - bytes.count {
                throw .tooLarge(name: path, bytes: bytes.count + n, limitBytes: maxBytes, limitSeconds: limitSeconds)
            }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// An open temp file next to `path`; `commit()` renames it over `path`, `discard()` removes it.
    struct AtomicWriter {
        let path: String
        let tempPath: String
        private(set) var fd: Int32

        init(path: String) throws(AudioError) {
            self.path = path
            var template = Array((path + ".tmp-XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd < 0 { throw .writeFailed(path: path, errno: errno) }
            self.fd = fd
            self.tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }

        /// Writes all of `bytes`, retrying short writes and EINTR.
        func write(_ bytes: UnsafeRawBufferPointer) throws(AudioError) {
            do throws(SystemError) { try writeAll(fd, bytes) } catch { throw .writeFailed(path: path, errno: error.code) }
        }

        func write(_ bytes: [UInt8]) throws(AudioError) {
            try bytes.withUnsafeBytes { b in Result { () throws(AudioError) in try write(b) } }.get()
        }

        /// `overwrite: false` publishes with link(2), which fails with EEXIST instead of replacing.
        mutating func commit(mode: mode_t = 0o644, overwrite: Bool = true) throws(AudioError) {
            fchmod(fd, mode)
            if fsync(fd) != 0 || close(fd) != 0 {
                let e = errno
                fd = -1
                unlink(tempPath)
                throw .writeFailed(path: path, errno: e)
            }
            fd = -1
            if !overwrite {
                let linked = link(tempPath, path) == 0
                let e = errno
                unlink(tempPath)
                if !linked { throw .writeFailed(path: path, errno: e) }
                return
            }
            if rename(tempPath, path) != 0 {
                let e = errno
                unlink(tempPath)
                throw .writeFailed(path: path, errno: e)
            }
        }

        mutating func discard() {
            if fd >= 0 { close(fd); fd = -1 }
            unlink(tempPath)
        }
    }

    /// Writes `produce`'s output atomically to `path`.
    static func writeAtomically(_ path: String, mode: mode_t = 0o644, overwrite: Bool = true,
                                _ produce: (AtomicWriter) throws(AudioError) -> Void) throws(AudioError) {
        var writer = try AtomicWriter(path: path)
        do {
            try produce(writer)
            try writer.commit(mode: mode, overwrite: overwrite)
        } catch {
            writer.discard()
            throw error
        }
    }
}

/// Writes whole files atomically: a temp file `PATH.tmp-XXXXXX` in the same directory, written,
/// given `mode`, fsync'd, then renamed over `path` — a reader (or a crash) never sees a partial
/// file, and a failure removes the temp file. A crash can leave a `.tmp-` file behind; callers
/// that own a directory remove such leftovers when they open it. With `overwrite: false` an
/// existing `path` is never replaced (link(2) instead of rename(2); `.writeFailed` with EEXIST).
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t, overwrite: Bool = true) throws(AudioError) {
        try FileIO.writeAtomically(path, mode: mode, overwrite: overwrite) { (w) throws(AudioError) in try w.write(bytes) }
    }
}
