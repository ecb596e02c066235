import BoraCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failure to start or deliver an action (the audit trail records it; the loop keeps running).
public struct DispatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failing call (`posix_spawnp`, `connect`, `send`).
    public let call: String
    public let errno: Int32
    public let detail: String
    public init(call: String, errno: Int32, detail: String) { self.call = call; self.errno = errno; self.detail = detail }
    public var description: String { "\(call) \(detail): \(String(cString: strerror(errno)))" }
}

/// How an exec action ended.
public struct ExecResult: Sendable, Equatable {
    /// Exit status, or nil when killed by a signal.
    public var exitCode: Int32?
    /// The terminating signal, or nil.
    public var signal: Int32?
    /// True when Bora killed the process group after `timeout_s`.
    public var timedOut: Bool
    public var durationMs: Double
}

/// Process and socket dispatch for actions. No shell is ever involved: argv elements are passed
/// to `posix_spawnp` as they are.
public enum Dispatcher {
    /// `argv` with each whole-element `{slot}` replaced by that slot's value (missing slots become
    /// an empty string). Other elements are passed through untouched.
    public static func substitute(_ argv: [String], slots: [String: String]) -> [String] {
        argv.map { element in ActionEntry.placeholder(element).map { slots[$0] ?? "" } ?? element }
    }

    /// Starts `argv` with `posix_spawnp` in a new process group; stdin is /dev/null and stdout goes
    /// to Bora's stderr (so `--json` output on stdout stays clean). Returns the pid.
    public static func spawn(_ argv: [String]) throws(DispatchError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attr, 0)
        var empty = sigset_t(); sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t(); sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, environ)
        guard rc == 0 else { throw DispatchError(call: "posix_spawnp", errno: rc, detail: argv[0]) }
        return pid
    }

    /// Waits for `pid`; after `timeoutSeconds` sends SIGKILL to its process group and reaps it.
    public static func wait(pid: pid_t, timeoutSeconds: Double, startedAt: Double = monotonicSeconds()) -> ExecResult {
        var status: Int32 = 0
        var timedOut = false
        let deadline = startedAt + timeoutSeconds
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { return ExecResult(exitCode: nil, signal: nil, timedOut: false, durationMs: (monotonicSeconds() - startedAt) * 1000) }
            if !timedOut && monotonicSeconds() >= deadline {
                timedOut = true
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
            usleep(2000)
        }
        let duration = (monotonicSeconds() - startedAt) * 1000
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros; decode the status word directly.
        let termSignal = status & 0x7f
        if termSignal == 0 {
            return ExecResult(exitCode: (status >> 8) & 0xff, signal: nil, timedOut: timedOut, durationMs: duration)
        }
        return ExecResult(exitCode: nil, signal: termSignal, timedOut: timedOut, durationMs: duration)
    }

    /// Runs `argv` to completion (spawn + wait).
    public static func run(_ argv: [String], timeoutSeconds: Double) throws(DispatchError) -> ExecResult {
        let t0 = monotonicSeconds()
        let pid = try spawn(argv)
        return wait(pid: pid, timeoutSeconds: timeoutSeconds, startedAt: t0)
    }

    /// Sends `line` plus a newline to the Unix socket at `path`: as one datagram to a datagram
    /// socket, or over a short-lived stream connection to a stream socket.
    public static func send(line: String, toSocket path: String) throws(DispatchError) {
        let payload = Array((line + "\n").utf8)
        for type in [Int32(SOCK_DGRAM.rawValue), Int32(SOCK_STREAM.rawValue)] {
            let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw DispatchError(call: "socket", errno: errno, detail: path) }
            defer { close(fd) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw DispatchError(call: "connect", errno: ENAMETOOLONG, detail: path) }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
                raw[bytes.count] = 0
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 {
                let e = errno
                if e == EPROTOTYPE && type == Int32(SOCK_DGRAM.rawValue) { continue }
                throw DispatchError(call: "connect", errno: e, detail: path)
            }
            let sent = payload.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == payload.count else { throw DispatchError(call: "send", errno: sent < 0 ? errno : EIO, detail: path) }
            return
        }
    }
}

