import BoraCore
import Foundation
import Testing
@testable import BoraAction

/// Lines of an action's captured output.
private func lines(_ r: ExecResult) -> [String] {
    r.output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}

/// True when `pid` is gone or a zombie (an orphan's zombie waits for a reaper this test does not control).
private func isGone(_ pid: pid_t) -> Bool {
    if kill(pid, 0) != 0 { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}

/// A Unix socket of `type` bound to a fresh path; returns (fd, path).
private func boundSocket(_ type: Int32) -> (Int32, String) {
    let path = tempDir() + "/peer.sock"
    let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    precondition(fd >= 0 && rc == 0, "bind \(path): \(errno)")
    return (fd, path)
}

/// Sends lines until one send fails; every call must return within 1.5 s. Returns the error.
private func sendUntilFailure(_ path: String) -> DispatchError? {
    for i in 0..<5000 {
        let t0 = monotonicSeconds()
        do throws(DispatchError) {
            try Dispatcher.send(line: "{\"n\":\(i)}", toSocket: path)
            #expect(monotonicSeconds() - t0 < 1.5)
        } catch {
            let elapsed = monotonicSeconds() - t0
            #expect(elapsed < 1.5 && elapsed > 0.9, "the failing send waits for its deadline, not longer (\(elapsed) s)")
            return error
        }
    }
    return nil
}

@Suite struct FencedDispatchTests {
    @Test func environmentIsTheAllowlistPlusTheActionsEnv() throws {
        setenv("BORA_SECRET_TOKEN", "hunter2", 1)
        setenv("AWS_SECRET_ACCESS_KEY", "AKIA-not-for-actions", 1)
        setenv("LC_MESSAGES", "C", 0)
        let action = ["BORA_ACTION_VAR": "hello world", "TZ": "UTC"]
        let expected = Dispatcher.childEnvironment(action: action)
        #expect(expected["PATH"] == Dispatcher.childPath)
        #expect(expected["LC_MESSAGES"] == String(cString: getenv("LC_MESSAGES")))
        #expect(expected["TZ"] == "UTC" && expected["BORA_ACTION_VAR"] == "hello world")
        #expect(expected["BORA_SECRET_TOKEN"] == nil && expected["HOME"] == nil)

        let r = try Dispatcher.run(["/usr/bin/env"], timeoutSeconds: 10, environment: action)
        #expect(r.exitCode == 0)
        var seen: [String: String] = [:]
        for line in lines(r) {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            seen[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        #expect(seen == expected)
        #expect(!r.output.contains("hunter2") && !r.output.contains("AKIA"))
    }

    @Test func childHasOnlyDescriptors0To2AndADefaultSignalState() throws {
        // Inheritable on purpose: no O_CLOEXEC.
        let leaked = open("/dev/null", O_RDONLY)
        let leaked2 = dup(leaked)
        defer { close(leaked); close(leaked2) }
        #expect(leaked >= 3 && leaked2 >= 3)
        // `ls` is a child of the shell, so the listing is the shell's table, without ls's own dir fd.
        let r = try Dispatcher.run(["/bin/sh", "-c", "ls /proc/$$/fd; true"], timeoutSeconds: 10)
        #expect(r.exitCode == 0)
        #expect(lines(r) == ["0", "1", "2"])

        // An ignored SIGPIPE and a blocked SIGUSR2 in Bora do not reach the action.
        let previous = signal(SIGPIPE, SIG_IGN)
        var block = sigset_t(), old = sigset_t()
        sigemptyset(&block); sigaddset(&block, SIGUSR2)
        pthread_sigmask(SIG_BLOCK, &block, &old)
        let status = try Dispatcher.run(["/usr/bin/grep", "-E", "^(SigBlk|SigIgn|CapAmb):", "/proc/self/status"], timeoutSeconds: 10)
        pthread_sigmask(SIG_SETMASK, &old, nil)
        signal(SIGPIPE, previous)
        #expect(lines(status) == ["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000", "CapAmb:\t0000000000000000"])

        // Its own process group.
        let group = try Dispatcher.spawn(["/bin/sh", "-c", "cut -d' ' -f5 /proc/$$/stat"])
        let g = Dispatcher.wait(group, timeoutSeconds: 10)
        #expect(g.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(group.pid)")
    }

    @Test func programsMustBeAbsolutePaths() {
        for argv in [["sh", "-c", "true"], ["./run"], [""], []] {
            do throws(DispatchError) {
                _ = try Dispatcher.spawn(argv)
                Issue.record("\(argv) started")
            } catch {
                #expect(error.call == "exec" && error.errno == EINVAL && error.detail.contains("absolute path"))
            }
        }
        #expect(throws: DispatchError.self) { try Dispatcher.spawn(["/bin/echo", "a\u{0}b"]) }
        #expect(throws: DispatchError.self) { try Dispatcher.spawn(["/bin/true"], environment: ["A=B": "x"]) }
    }

    @Test func childSetupFailuresNameTheCall() throws {
        do throws(DispatchError) {
            _ = try Dispatcher.spawn(["/nonexistent/bora-no-such-program"])
            Issue.record("started")
        } catch {
            #expect(error.call == "execve" && error.errno == ENOENT)
        }
        let notExecutable = tempDir() + "/plain"
        FileManager.default.createFile(atPath: notExecutable, contents: Data("#!/bin/sh\n".utf8))
        chmod(notExecutable, 0o644)
        do throws(DispatchError) {
            _ = try Dispatcher.spawn([notExecutable])
            Issue.record("started")
        } catch {
            #expect(error.call == "execve" && error.errno == EACCES)
        }
    }

    @Test func outputIsCapturedCappedCountedAndHashed() throws {
        let small = try Dispatcher.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], timeoutSeconds: 10)
        #expect(small.exitCode == 3 && small.output == "out\nerr\n" && small.outputBytes == 8 && !small.outputTruncated)
        let reference = try Dispatcher.run(["/bin/sh", "-c", "printf 'out\\nerr\\n' | sha256sum"], timeoutSeconds: 10)
        #expect(reference.output.hasPrefix(small.outputSHA256 + " "))

        let big = "head -c 100000 /dev/zero | tr '\\0' x"
        let r = try Dispatcher.run(["/bin/sh", "-c", big], timeoutSeconds: 10)
        #expect(r.exitCode == 0)
        #expect(r.outputBytes == 100_000 && r.outputTruncated)
        #expect(r.output == String(repeating: "x", count: Dispatcher.outputCapBytes))
        let sum = try Dispatcher.run(["/bin/sh", "-c", big + " | sha256sum"], timeoutSeconds: 10)
        #expect(sum.output.hasPrefix(r.outputSHA256 + " "), "\(sum.output) vs \(r.outputSHA256)")

        let empty = try Dispatcher.run(["/bin/true"], timeoutSeconds: 10)
        #expect(empty.output == "" && empty.outputBytes == 0 && empty.outputSHA256 == Dispatcher.emptySHA256)

        let invalid = try Dispatcher.run(["/bin/sh", "-c", "printf 'a\\377b'"], timeoutSeconds: 10)
        #expect(invalid.output == "a\u{FFFD}b" && invalid.outputBytes == 3)
    }

    @Test func outputHashIsRightForReadsOfAnySize() {
        func digest(_ bytes: [UInt8], chunks: [Int]) -> String {
            var capture = Dispatcher.OutputCapture()
            var offset = 0, i = 0
            while offset < bytes.count {
                let n = min(chunks[i % chunks.count], bytes.count - offset)
                bytes[offset..<offset + n].withUnsafeBytes { capture.take($0) }
                offset += n; i += 1
            }
            return capture.finishHex()
        }
        let abc = Array("abc".utf8)
        let two = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        for chunks in [[1], [2, 3], [63, 1, 64, 65], [4096], [7, 100, 1]] {
            #expect(digest(abc, chunks: chunks) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            #expect(digest(two, chunks: chunks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        }
        for chunks in [[7], [4096, 13], [1_000_000]] {
            #expect(digest(million, chunks: chunks) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        }
        #expect(digest([], chunks: [1]) == Dispatcher.emptySHA256)
    }

    @Test func outputNeverReachesBorasStderr() throws {
        let file = tempDir() + "/stderr.txt"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let saved = dup(2)
        fflush(nil)
        dup2(fd, 2)
        let r = try? Dispatcher.run(["/bin/sh", "-c", "echo bora-marker-out; echo bora-marker-err >&2"], timeoutSeconds: 10)
        fflush(nil)
        dup2(saved, 2)
        close(saved); close(fd)
        #expect(r?.output == "bora-marker-out\nbora-marker-err\n")
        let written = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        #expect(!written.contains("bora-marker"))
    }

    @Test func exitIsNotHeldUpByAGrandchildHoldingThePipe() throws {
        let t0 = monotonicSeconds()
        let running = try Dispatcher.spawn(["/bin/sh", "-c", "sleep 5 & echo started"])
        let r = Dispatcher.wait(running, timeoutSeconds: 10)
        kill(-running.pid, SIGKILL)
        #expect(r.exitCode == 0 && r.output == "started\n")
        #expect(monotonicSeconds() - t0 < 1)
    }

    @Test func timeoutKillsTheWholeGroupIncludingABackgroundGrandchild() throws {
        let dir = tempDir()
        let t0 = monotonicSeconds()
        let r = try Dispatcher.run(["/bin/sh", "-c", "sleep 30 & echo $! > \(dir)/bg; sleep 30"], timeoutSeconds: 0.5)
        let elapsed = monotonicSeconds() - t0
        #expect(r.timedOut && r.signal == SIGKILL && r.exitCode == nil && !r.interrupted)
        #expect(elapsed >= 0.5 && elapsed < 1.0)
        let text = try String(contentsOfFile: dir + "/bg", encoding: .utf8)
        let grandchild = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let deadline = monotonicSeconds() + 1
        while !isGone(grandchild) && monotonicSeconds() < deadline { usleep(10_000) }
        #expect(isGone(grandchild))
    }

    @Test func interruptEndsALongActionWithinASecond() throws {
        for (script, expectedSignal) in [("sleep 30", SIGTERM), ("trap '' TERM; sleep 30", SIGKILL)] {
            let t0 = monotonicSeconds()
            let r = try Dispatcher.run(["/bin/sh", "-c", script], timeoutSeconds: 30,
                                       shouldInterrupt: { monotonicSeconds() - t0 > 0.2 })
            let elapsed = monotonicSeconds() - t0
            #expect(r.interrupted && !r.timedOut, "\(script)")
            #expect(r.signal == expectedSignal, "\(script): \(String(describing: r.signal))")
            #expect(elapsed < 1.2, "\(script): \(elapsed) s")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "switching users needs root"))
    func runsAsAnotherUserAndGroup() throws {
        let nobody = try #require(getpwnam("nobody"))
        let (uid, gid) = (nobody.pointee.pw_uid, nobody.pointee.pw_gid)
        let r = try Dispatcher.run(["/bin/sh", "-c", "id -u; id -g; id -G"], timeoutSeconds: 10, user: "nobody")
        #expect(r.exitCode == 0)
        #expect(lines(r) == ["\(uid)", "\(gid)", "\(gid)"])

        // Numeric ids without a passwd/group entry.
        let numeric = try Dispatcher.run(["/bin/sh", "-c", "id -u; id -g; id -G"], timeoutSeconds: 10, user: "54321", group: "54322")
        #expect(lines(numeric) == ["54321", "54322", "54322"])
        let groupOnly = try Dispatcher.run(["/bin/sh", "-c", "id -u; id -g"], timeoutSeconds: 10, group: "54322")
        #expect(lines(groupOnly) == ["\(geteuid())", "54322"])
    }

    @Test func unknownUsersAndGroupsAreErrors() {
        do throws(DispatchError) {
            _ = try Dispatcher.spawn(["/bin/true"], user: "bora-no-such-user")
            Issue.record("started")
        } catch {
            #expect(error.call == "getpwnam" && error.errno == ENOENT && error.detail.contains("bora-no-such-user"))
        }
        do throws(DispatchError) {
            _ = try Dispatcher.spawn(["/bin/true"], group: "bora-no-such-group")
            Issue.record("started")
        } catch {
            #expect(error.call == "getgrnam" && error.errno == ENOENT)
        }
        // A numeric uid with no passwd entry has no primary group to take.
        #expect(throws: DispatchError.self) { try Dispatcher.spawn(["/bin/true"], user: "54321") }
    }

    @Test func datagramPeerThatNeverReadsTimesOut() throws {
        let (fd, path) = boundSocket(Int32(SOCK_DGRAM.rawValue))
        defer { close(fd) }
        var small: Int32 = 1024
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let error = try #require(sendUntilFailure(path))
        #expect(error.call == "send" && error.errno == ETIMEDOUT && error.detail == "\(path): peer is not reading")
    }

    @Test func streamListenerThatNeverAcceptsTimesOut() throws {
        let (fd, path) = boundSocket(Int32(SOCK_STREAM.rawValue))
        defer { close(fd) }
        #expect(listen(fd, 0) == 0)
        let error = try #require(sendUntilFailure(path))
        #expect(error.call == "connect" && error.errno == ETIMEDOUT && error.detail.hasPrefix("\(path): peer is not reading"))
    }

    @Test func readingStreamPeerReceivesTheLine() throws {
        let (fd, path) = boundSocket(Int32(SOCK_STREAM.rawValue))
        defer { close(fd) }
        #expect(listen(fd, 4) == 0)
        try Dispatcher.send(line: "{\"intent\":\"status\"}", toSocket: path)
        let conn = accept(fd, nil, nil)
        #expect(conn >= 0)
        defer { close(conn) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let n = read(conn, &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        #expect(String(decoding: received, as: UTF8.self) == "{\"intent\":\"status\"}\n")
    }
}
