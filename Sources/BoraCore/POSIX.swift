#if hasFeature(Embedded)
import CBoraLibc

/// The calling thread's errno (the Glibc overlay provides this on the host; Embedded Swift has no
/// Glibc module, so BoraCore exports it for the modules above it).
public var errno: Int32 {
    get { bora_errno() }
    set { bora_set_errno(newValue) }
}
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// open(2) with an explicit mode, in both builds (Embedded Swift cannot call the variadic `open`).
@inlinable
public func posixOpen(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: UInt32 = 0) -> Int32 {
    #if hasFeature(Embedded)
    return bora_open(path, flags, mode)
    #else
    return open(path, flags, mode_t(mode))
    #endif
}

/// True when `pointer` is mmap(2)'s failure value (`MAP_FAILED`, which does not import in
/// Embedded Swift).
@inlinable
public func isMapFailed(_ pointer: UnsafeMutableRawPointer?) -> Bool {
    pointer == nil || pointer == UnsafeMutableRawPointer(bitPattern: -1)
}

/// A failed system call's errno. `description` is the C library's text for it (`errorText`).
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errno value the call left.
    public let code: Int32

    public init(code: Int32) { self.code = code }

    /// The calling thread's errno now, read right after the failed call.
    public static var current: SystemError { SystemError(code: errno) }

    public var description: String { errorText(code) }
}

/// strerror(3)'s text for `code` ("No such file or directory"), or "errno N" when there is none.
public func errorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// Calls `call` again while it fails with EINTR (a negative result with errno EINTR, as read(2),
/// write(2), open(2), poll(2), waitpid(2) … report an interrupted call), and returns the first
/// other result. When that result is negative, errno still holds its cause.
@inlinable
public func retryingEINTR<T: SignedInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result < 0 && errno == EINTR { continue }
        return result
    }
}

/// Writes all of `bytes` to `fd`: a short write continues where it stopped and EINTR retries.
/// Throws the errno of the first other failure; how much was written by then is unspecified
/// (the caller cuts back or discards the file).
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
    guard let base = bytes.baseAddress else { return }
    var done = 0
    while done < bytes.count {
        let n = retryingEINTR { write(fd, base + done, bytes.count - done) }
        if n < 0 { throw .current }
        done += n
    }
}

/// `writeAll` of an array's bytes.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
    var failure: SystemError?
    bytes.withUnsafeBytes { raw in
        do throws(SystemError) { try writeAll(fd, raw) } catch { failure = error }
    }
    if let failure { throw failure }
}

#if !canImport(Darwin)
/// glibc's `malloc_trim` (not exported by the Glibc module): returns free heap pages to the OS.
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Gives freed heap memory back to the OS (glibc `malloc_trim(0)`; nothing elsewhere), after a
/// build phase with many temporaries, so that resident memory reflects what is live.
public func releaseFreeHeap() {
    #if !canImport(Darwin)
    _ = glibcMallocTrim(0)
    #endif
}

/// The names in directory `path` (without "." and ".."), in the order readdir(3) gives them;
/// nil when it cannot be opened (errno says why).
public func directoryEntries(_ path: String) -> [String]? {
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// True when something (a file, directory, …) exists at `path` (stat(2) succeeds; a dangling
/// symbolic link does not count).
public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// True when `path` is a directory (following symbolic links).
public func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & mode_t(S_IFMT)) == mode_t(S_IFDIR)
}

/// The whole file at `path`, or nil with errno set (EINTR is retried).
public func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = posixOpen(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { raw in retryingEINTR { read(fd, raw.baseAddress, raw.count) } }
        if n < 0 { return nil }
        if n == 0 { return out }
        out.append(contentsOf: chunk[0..<n])
    }
}

/// Why `readTextFile` could not return a file's text.
public enum TextFileProblem: Error, Equatable, Sendable {
    /// open/fstat/read failed (the errno text).
    case unreadable(String)
    /// Not a regular file: a FIFO or device would block or never end.
    case notRegularFile
    /// More than the limit: the size `fstat` reported, or the limit + 1 when it grew while read.
    case tooLarge(Int)
    /// The bytes are not UTF-8.
    case notUTF8
}

/// The UTF-8 text of the regular file at `path`, at most `maxBytes` long (the size is checked
/// before reading, and reading stops one byte past the limit, so a file that grows is refused too).
/// Never blocks on a FIFO (opened O_NONBLOCK and refused). Config files (contexts, actions) go
/// through here, in both builds.
public func readTextFile(_ path: String, maxBytes: Int) throws(TextFileProblem) -> String {
    let fd = posixOpen(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw .unreadable(errorText(errno)) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw .unreadable(errorText(errno)) }
    guard UInt32(info.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG) else { throw .notRegularFile }
    let size = Int(info.st_size)
    guard size <= maxBytes else { throw .tooLarge(size) }
    var bytes = [UInt8](repeating: 0, count: size + 1)
    var count = 0
    while count < bytes.count {
        let n = bytes.withUnsafeMutableBytes { raw in
            retryingEINTR { read(fd, raw.baseAddress! + count, raw.count - count) }
        }
        if n < 0 { throw .unreadable(errorText(errno)) }
        if n == 0 { break }
        count += n
        if count > maxBytes { throw .tooLarge(count) }
        if count == bytes.count { bytes.append(contentsOf: [UInt8](repeating: 0, count: 4096)) }
    }
    bytes.removeSubrange(count...)
    guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
    return text
}

/// The environment variable `name`, or nil when unset or empty.
public func environmentValue(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let s = String(cString: p)
    return s.isEmpty ? nil : s
}

/// The directory part of `path` ("/a/b/c" → "/a/b", "c" → ".", "/c" → "/").
public func parentDirectory(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1, p.last == "/" { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    return slash == p.startIndex ? "/" : String(p[..<slash])
}

/// The target of the symbolic link at `path`, or nil.
public func symbolicLinkTarget(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBufferPointer { readlink(path, $0.baseAddress!, $0.count - 1) }
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The current working directory, or nil.
public func currentDirectory() -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    guard buffer.withUnsafeMutableBufferPointer({ getcwd($0.baseAddress!, $0.count) }) != nil else { return nil }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
