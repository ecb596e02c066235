import Testing
import BoraCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct POSIXTests {
    @Test func writeAllWritesEverythingThroughAPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        try writeAll(fds[1], bytes)
        close(fds[1])
        var back = [UInt8](repeating: 0, count: 20_000)
        var got = 0
        while true {
            let n = back.withUnsafeMutableBytes { raw in retryingEINTR { read(fds[0], raw.baseAddress! + got, raw.count - got) } }
            if n <= 0 { break }
            got += n
        }
        #expect(Array(back[0..<got]) == bytes)
    }

    @Test func writeAllCarriesErrno() {
        #expect(throws: SystemError(code: EBADF)) { try writeAll(-1, [1, 2, 3]) }
        #expect(SystemError(code: ENOENT).description == errorText(ENOENT))
        #expect(errorText(ENOENT) == "No such file or directory")
    }

    @Test func retryingEINTRReturnsTheFirstOtherResult() {
        var calls = 0
        let r = retryingEINTR { () -> Int32 in
            calls += 1
            if calls < 3 { errno = EINTR; return -1 }
            return 7
        }
        #expect(r == 7 && calls == 3)
        let failed = retryingEINTR { () -> Int in errno = EBADF; return -1 }
        #expect(failed == -1 && errno == EBADF)
    }

    @Test func monotonicClocksAgree() {
        let s = monotonicSeconds(), ns = monotonicNanoseconds()
        #expect(abs(Double(ns) * 1e-9 - s) < 1)
        #expect(monotonicNanoseconds() >= ns)
    }
}
