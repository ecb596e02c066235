import BoraCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel to drop `path`'s cached pages (clean pages of a file nobody maps go at once).
public func dropFromPageCache(_ path: String) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fdatasync(fd)
    posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
    close(fd)
}

/// Runs `path arguments` (environment inherited) with stdout captured; returns stdout, the
/// child's peak RSS in bytes (ru_maxrss) and its exit status (128 + signal when killed). Throws
/// `BenchError` when the pipe or the child cannot be created.
public func spawnCapturing(_ path: String, _ arguments: [String]) throws -> (String, Int, Int32) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw BenchError("pipe failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid = pid_t()
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    posix_spawn_file_actions_destroy(&actions)
    close(fds[1])
    guard rc == 0 else { close(fds[0]); throw BenchError("cannot start \(path): \(errorText(rc))") }
    var output = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let got = retryingEINTR { read(fds[0], &buffer, buffer.count) }
        if got <= 0 { break }
        output.append(buffer, count: got)
    }
    close(fds[0])
    var status: Int32 = 0
    var usage = rusage()
    _ = retryingEINTR { wait4(pid, &status, 0, &usage) }
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (String(decoding: output, as: UTF8.self), usage.ru_maxrss * 1024, exit)
}
