import BoraCore
import CBoraSpawn
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// A failure to start or deliver an action (the audit trail records it; the loop keeps running).
public struct DispatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failing call: `exec` (argv refused before starting), `open`, `pipe2`, `getpwnam`,
    /// `getgrnam`, a step of the child's setup (`setgroups`, `setgid`, `setuid`, `dup2`, `execve`, …,
    /// see `bora_spawn`), `socket`, `connect`, `send`.
    public let call: String
    public let errno: Int32
    public let detail: String
    public init(call: String, errno: Int32, detail: String) { self.call = call; self.errno = errno; self.detail = detail }
    public var description: String { "\(call) \(detail): \(errorText(errno))" }
}

/// How an exec action ended.
public struct ExecResult: Sendable, Equatable {
    /// Exit status, or nil when killed by a signal.
    public var exitCode: Int32?
    /// The terminating signal, or nil.
    public var signal: Int32?
    /// True when Bora killed the process group after `timeout_s`.
    public var timedOut: Bool
    /// Milliseconds from just before the spawn to the reap.
    public var durationMs: Double
    /// True when `shouldInterrupt` stopped it (SIGTERM to the group, SIGKILL 0.5 s later).
    public var interrupted: Bool = false
    /// The first `Dispatcher.outputCapBytes` bytes of its stdout+stderr, decoded as UTF-8 (invalid
    /// sequences, including a character cut at the cap, become U+FFFD).
    public var output: String = ""
    /// Every byte it wrote to stdout+stderr while Bora read (captured or not).
    public var outputBytes: Int = 0
    /// sha256 (lowercase hex) of all `outputBytes` bytes, not only the captured ones.
    public var outputSHA256: String = Dispatcher.emptySHA256
    /// True when `outputBytes` > `Dispatcher.outputCapBytes`.
    public var outputTruncated: Bool = false
}

/// An exec action that has been started: wait for it with `Dispatcher.wait(_:timeoutSeconds:shouldInterrupt:)`
/// exactly once (that reaps the pid and closes `outputFD`).
public struct RunningAction: Sendable {
    /// The child's pid, which is also its process group id.
    public let pid: pid_t
    /// The read end of the child's stdout+stderr pipe (O_NONBLOCK, O_CLOEXEC); owned by `wait`.
    public let outputFD: Int32
    /// `monotonicSeconds()` just before the spawn; `timeout_s` counts from here.
    public let startedAt: Double
}

/// Process and socket dispatch for actions. No shell and no PATH search is ever involved: argv
/// elements are passed to `execve` as they are, and argv[0] must be an absolute path.
///
/// The fence around an exec action (see `spawn`): its own process group; stdin /dev/null;
/// stdout+stderr into a pipe Bora reads (capped, counted, hashed — never copied to Bora's own
/// stdout/stderr); no descriptor other than 0, 1, 2; default signal dispositions and an empty
/// mask; no ambient capabilities; a minimal environment (`childEnvironment`); optionally another
/// user and group.
public enum Dispatcher {
    /// How many bytes of an action's output `ExecResult.output` keeps (the rest is only counted
    /// and hashed).
    public static let outputCapBytes = 4096

    /// `PATH` in every action's environment (for the programs an action itself starts; the action's
    /// own program is never looked up).
    public static let childPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The only variables an action inherits from Bora's environment, when set: locale and time
    /// zone. Everything else (tokens, credentials, `LD_*`, `HOME`, …) stays out.
    public static let inheritedEnvironmentNames = ["LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ"]

    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// `argv` with each whole-element `{slot}` replaced by that slot's value (missing slots become
    /// an empty string). Other elements are passed through untouched.
    public static func substitute(_ argv: [String], slots: [String: String]) -> [String] {
        argv.map { element in ActionEntry.placeholder(element).map { slots[$0] ?? "" } ?? element }
    }

    /// The environment an exec action runs with: `PATH=childPath`, then each of
    /// `inheritedEnvironmentNames` that is set in Bora's environment, then the action's own `env:`
    /// entries (which override both). Nothing else of Bora's environment.
    public static func childEnvironment(action env: [String: String]) -> [String: String] {
        var out = ["PATH": childPath]
        for name in inheritedEnvironmentNames {
            if let value = getenv(name) { out[name] = String(cString: value) }
        }
        for (name, value) in env { out[name] = value }
        return out
    }

    /// True for a valid environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }

    /// Starts `argv` inside the fence (see `Dispatcher`) and returns at once; `wait` must follow.
    ///
    /// - `argv[0]` must be an absolute path (else `exec`/EINVAL; no PATH search); no element may
    ///   contain a NUL byte.
    /// - `environment` is the action's `env:`; the child gets `childEnvironment(action: environment)`.
    /// - `user` (a name, or a numeric uid) switches to that user and, without `group`, its primary
    ///   group; `group` (a name or a numeric gid) sets the group (supplementary groups become just
    ///   that group). Unknown names throw `getpwnam`/`getgrnam` with ENOENT. Changing ids needs
    ///   Bora to run as root (or with CAP_SETUID/CAP_SETGID): otherwise the child's `setgroups`,
    ///   `setgid` or `setuid` fails and that call is thrown with EPERM.
    /// - Any failure of the child before `execve` returns (ENOENT, EACCES, EPERM, …) is thrown
    ///   with the failing call; the child is already reaped then.
    public static func spawn(_ argv: [String], environment: [String: String] = [:], user: String? = nil,
                             group: String? = nil) throws(DispatchError) -> RunningAction {
        let startedAt = monotonicSeconds()
        try checkArguments(argv, environment: environment)
        let ids = try credentials(user: user, group: group)
        let devNull = posixOpen("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw DispatchError(call: "open", errno: errno, detail: "/dev/null") }
        defer { close(devNull) }
        var readFD: Int32 = -1, writeFD: Int32 = -1
        let rc = bora_output_pipe(&readFD, &writeFD)
        guard rc == 0 else { throw DispatchError(call: "pipe2", errno: rc, detail: argv[0]) }
        defer { close(writeFD) }
        do throws(DispatchError) {
            let pid = try start(argv, environment: childEnvironment(action: environment), ids: ids, stdinFD: devNull, outFD: writeFD)
            return RunningAction(pid: pid, outputFD: readFD, startedAt: startedAt)
        } catch {
            close(readFD)
            throw error
        }
    }

    /// Waits for a started action, reading its output as it comes (the first `outputCapBytes`
    /// kept; all bytes counted and hashed), and reaps it. Then reads what is still readable
    /// without blocking and closes `outputFD` (it does not wait for end-of-file: a background
    /// grandchild may hold the pipe).
    ///
    /// At `startedAt + timeoutSeconds` it sends SIGKILL to the process group (`timedOut`). When
    /// `shouldInterrupt()` (checked at least every 20 ms) returns true, it sends SIGTERM to the
    /// group and SIGKILL 0.5 s later if the child is still there (`interrupted`). Only the child
    /// itself is reaped; the group signals reach the descendants that stayed in its group.
    public static func wait(_ running: RunningAction, timeoutSeconds: Double,
                            shouldInterrupt: () -> Bool = { false }) -> ExecResult {
        supervise(pid: running.pid, outputFD: running.outputFD, startedAt: running.startedAt,
                  timeoutSeconds: timeoutSeconds, shouldInterrupt: shouldInterrupt)
    }

    /// Runs `argv` to completion: `spawn` then `wait`.
    public static func run(_ argv: [String], timeoutSeconds: Double, environment: [String: String] = [:],
                           user: String? = nil, group: String? = nil,
                           shouldInterrupt: () -> Bool = { false }) throws(DispatchError) -> ExecResult {
        let running = try spawn(argv, environment: environment, user: user, group: group)
        return wait(running, timeoutSeconds: timeoutSeconds, shouldInterrupt: shouldInterrupt)
    }

    // MARK: Exec internals

    struct Credentials {
        var flags: Int32 = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
    }

    static func checkArguments(_ argv: [String], environment: [String: String]) throws(DispatchError) {
        guard let program = argv.first, program.hasPrefix("/") else {
            throw DispatchError(call: "exec", errno: EINVAL,
                                detail: "'\(argv.first ?? "")': the program must be an absolute path (no PATH search)")
        }
        if let bad = argv.first(where: { $0.utf8.contains(0) }) {
            throw DispatchError(call: "exec", errno: EINVAL, detail: "\(program): argument '\(bad)' contains a NUL byte")
        }
        for (name, value) in environment where !isEnvironmentName(name) || value.utf8.contains(0) {
            throw DispatchError(call: "exec", errno: EINVAL,
                                detail: "\(program): environment entry '\(name)' needs a name like [A-Za-z_][A-Za-z0-9_]* and a value without NUL")
        }
    }

    /// Resolves `user`/`group` (names first, then numeric ids) into what `bora_spawn` sets.
    static func credentials(user: String?, group: String?) throws(DispatchError) -> Credentials {
        var ids = Credentials()
        var primaryGID: gid_t?
        if let user {
            var uid: uid_t = 0, gid: gid_t = 0
            let rc = bora_uid_for_name(user, &uid, &gid)
            if rc == 0 {
                primaryGID = gid
            } else if rc == ENOENT, let n = UInt32(user) {
                uid = n
                if bora_primary_gid_for_uid(n, &gid) == 0 { primaryGID = gid }
            } else {
                throw DispatchError(call: "getpwnam", errno: rc, detail: rc == ENOENT ? "user '\(user)' does not exist" : "user '\(user)'")
            }
            ids.uid = uid
            ids.flags |= Int32(BORA_SPAWN_SET_UID)
        }
        if let group {
            var gid: gid_t = 0
            let rc = bora_gid_for_name(group, &gid)
            if rc == ENOENT, let n = UInt32(group) {
                gid = n
            } else if rc != 0 {
                throw DispatchError(call: "getgrnam", errno: rc, detail: rc == ENOENT ? "group '\(group)' does not exist" : "group '\(group)'")
            }
            ids.gid = gid
            ids.flags |= Int32(BORA_SPAWN_SET_GID)
        } else if let user {
            guard let primaryGID else {
                throw DispatchError(call: "getpwnam", errno: ENOENT,
                                    detail: "uid \(user) has no passwd entry to take its primary group from; set 'group:' too")
            }
            ids.gid = primaryGID
            ids.flags |= Int32(BORA_SPAWN_SET_GID)
        }
        return ids
    }

    /// `bora_spawn` with Swift strings; throws the failing call of the child's setup.
    static func start(_ argv: [String], environment: [String: String], ids: Credentials,
                      stdinFD: Int32, outFD: Int32) throws(DispatchError) -> pid_t {
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in cArgs { free(p) }; for p in cEnv { free(p) } }
        var pid: pid_t = 0
        var failed: UnsafePointer<CChar>?
        let rc = bora_spawn(argv[0], cArgs, cEnv, stdinFD, outFD, ids.flags, ids.uid, ids.gid, &pid, &failed)
        guard rc == 0 else {
            throw DispatchError(call: failed.map { String(cString: $0) } ?? "bora_spawn", errno: rc, detail: argv[0])
        }
        return pid
    }

    /// The first `outputCapBytes` bytes, the count and the sha256 of everything read.
    struct OutputCapture {
        var kept: [UInt8] = []
        var total = 0
        private var hash = SHA256()

        mutating func take(_ bytes: UnsafeRawBufferPointer) {
            total += bytes.count
            let room = Dispatcher.outputCapBytes - kept.count
            if room > 0 { kept.append(contentsOf: bytes.prefix(room)) }
            hash.update(bytes)
        }

        /// The lowercase hex sha256 of every byte taken (call once).
        mutating func finishHex() -> String { hash.finalizeHex() }
    }

    /// Reads what `fd` has now, at most `maxReads` reads. False at end-of-file or on an error
    /// other than EAGAIN (stop polling it).
    static func drain(_ fd: Int32, into capture: inout OutputCapture, buffer: UnsafeMutableRawBufferPointer, maxReads: Int) -> Bool {
        var reads = 0
        while reads < maxReads {
            let n = retryingEINTR { read(fd, buffer.baseAddress, buffer.count) }
            if n > 0 {
                capture.take(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                reads += 1
                continue
            }
            if n == 0 { return false }
            let e = errno
            return e == EAGAIN || e == EWOULDBLOCK
        }
        return true
    }

    private static func signalGroup(_ pid: pid_t, _ sig: Int32) {
        kill(-pid, sig)
        kill(pid, sig) // in case the child left its group
    }

    /// The wait loop behind `wait`: `waitpid(WNOHANG)` + `poll` on the output (≤ 20 ms) until reaped.
    static func supervise(pid: pid_t, outputFD fd: Int32, startedAt: Double, timeoutSeconds: Double,
                          shouldInterrupt: () -> Bool) -> ExecResult {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
        defer { buffer.deallocate() }
        var capture = OutputCapture()
        var reading = fd >= 0
        var status: Int32 = 0
        var reaped = false
        var timedOut = false, interrupted = false
        var killAt: Double?
        var idleMicroseconds: UInt32 = 1000
        let deadline = startedAt + timeoutSeconds
        while true {
            let r = retryingEINTR { waitpid(pid, &status, WNOHANG) }
            if r == pid { reaped = true; break }
            if r < 0 { break } // ECHILD: not ours to reap
            let now = monotonicSeconds()
            if !timedOut && !interrupted {
                if now >= deadline {
                    timedOut = true
                    signalGroup(pid, SIGKILL)
                } else if shouldInterrupt() {
                    interrupted = true
                    signalGroup(pid, SIGTERM)
                    killAt = now + 0.5
                }
            }
            if let k = killAt, now >= k {
                signalGroup(pid, SIGKILL)
                killAt = nil
            }
            if reading {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 20) > 0 { reading = drain(fd, into: &capture, buffer: buffer, maxReads: 16) }
                idleMicroseconds = 1000
            } else {
                // Output closed but the child still runs: back off from 1 ms to 20 ms.
                usleep(idleMicroseconds)
                idleMicroseconds = min(idleMicroseconds * 2, 20_000)
            }
        }
        if reading { _ = drain(fd, into: &capture, buffer: buffer, maxReads: 64) }
        if fd >= 0 { close(fd) }
        let duration = (monotonicSeconds() - startedAt) * 1000
        var exitCode: Int32?, signal: Int32?
        if reaped {
            var value: Int32 = 0
            switch bora_wait_status(status, &value) {
            case 1: exitCode = value
            case 2: signal = value
            default: break
            }
        }
        return ExecResult(exitCode: exitCode, signal: signal, timedOut: timedOut, durationMs: duration,
                          interrupted: interrupted, output: String(decoding: capture.kept, as: UTF8.self),
                          outputBytes: capture.total, outputSHA256: capture.finishHex(),
                          outputTruncated: capture.total > outputCapBytes)
    }

    // MARK: Sockets

    /// Sends `line` plus a newline to the Unix socket at `path`: as one datagram to a datagram
    /// socket, or over a short-lived stream connection to a stream socket (tried when the
    /// datagram connect says EPROTOTYPE). Never blocks past `timeoutSeconds` (from the call):
    /// sockets are non-blocking; a peer whose queue is full (it does not read, or does not accept
    /// and its backlog is full) makes this throw `connect` or `send` with ETIMEDOUT and
    /// "PATH: peer is not reading". SIGPIPE is never raised (MSG_NOSIGNAL).
    public static func send(line: String, toSocket path: String, timeoutSeconds: Double = 1.0) throws(DispatchError) {
        let deadline = monotonicSeconds() + timeoutSeconds
        let payload = Array((line + "\n").utf8)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw DispatchError(call: "connect", errno: ENAMETOOLONG, detail: path) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let notReading = "\(path): peer is not reading"
        let datagram = Int32(SOCK_DGRAM.rawValue)
        types: for type in [datagram, Int32(SOCK_STREAM.rawValue)] {
            let fd = socket(AF_UNIX, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw DispatchError(call: "socket", errno: errno, detail: path) }
            defer { close(fd) }
            connecting: while true {
                let rc = withUnsafePointer(to: &addr) { socketConnect(fd, UnsafeRawPointer($0), socklen_t(MemoryLayout<sockaddr_un>.size)) }
                if rc == 0 { break }
                let e = errno
                switch e {
                case EPROTOTYPE where type == datagram:
                    continue types
                case EAGAIN:
                    // A Unix stream listener's backlog is full: nothing is in progress (poll would
                    // report the unconnected socket writable at once), so retry until the deadline.
                    let remaining = deadline - monotonicSeconds()
                    guard remaining > 0 else {
                        throw DispatchError(call: "connect", errno: ETIMEDOUT, detail: notReading + " (not accepting connections)")
                    }
                    usleep(UInt32(min(remaining, 0.01) * 1_000_000))
                case EINPROGRESS, EALREADY, EINTR:
                    guard waitWritable(fd, until: deadline) else {
                        throw DispatchError(call: "connect", errno: ETIMEDOUT, detail: notReading + " (not accepting connections)")
                    }
                    var soError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0 else {
                        throw DispatchError(call: "connect", errno: errno, detail: path)
                    }
                    guard soError == 0 else { throw DispatchError(call: "connect", errno: soError, detail: path) }
                    break connecting
                default:
                    throw DispatchError(call: "connect", errno: e, detail: path)
                }
            }
            var offset = 0
            while offset < payload.count {
                let n = payload.withUnsafeBytes { raw in
                    retryingEINTR { socketSend(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
                }
                if n >= 0 {
                    if type == datagram && n != payload.count { throw DispatchError(call: "send", errno: EMSGSIZE, detail: path) }
                    offset += n
                    continue
                }
                let e = errno
                guard e == EAGAIN || e == EWOULDBLOCK else { throw DispatchError(call: "send", errno: e, detail: path) }
                guard waitWritable(fd, until: deadline) else { throw DispatchError(call: "send", errno: ETIMEDOUT, detail: notReading) }
            }
            return
        }
    }

    /// Polls `fd` for POLLOUT until `deadline`; false when the deadline passed first. True also on
    /// POLLERR/POLLHUP: the next call reports the error.
    static func waitWritable(_ fd: Int32, until deadline: Double) -> Bool {
        while true {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let r = poll(&p, 1, Int32(min((remaining * 1000).rounded(.up), 1000)))
            if r > 0 { return true }
            if r < 0 && errno != EINTR { return true }
        }
    }
}

/// connect(2) with a raw address (glibc declares it with a transparent union under _GNU_SOURCE,
/// which the Embedded build's import cannot pass a pointer to).
private func socketConnect(_ fd: Int32, _ address: UnsafeRawPointer, _ length: socklen_t) -> Int32 {
    #if hasFeature(Embedded)
    return bora_connect(fd, address, length)
    #else
    return connect(fd, address.assumingMemoryBound(to: sockaddr.self), length)
    #endif
}

/// send(2) (`Dispatcher.send(line:toSocket:)` hides the C name inside `Dispatcher`).
private func socketSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
    send(fd, bytes, count, flags)
}
