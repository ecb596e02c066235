// libFuzzer harness: the audit trail reader/verifier (BoraAction/AuditVerify.swift + the sealing
// state parser). An input is up to five sections separated by NUL bytes:
//   verification key (64 hex digits; anything else = no key) \0 seal.state \0 audit.jsonl
//   \0 audit-20250101T000000Z.jsonl (a rotated file) \0 clips/u0.opus
// An empty or missing section means no such file. The files are written to a directory on
// /dev/shm and `AuditLog.verify` runs with the key (when given) and without.
// With BORA_FUZZ_MAKE_SEEDS=DIR the binary instead writes seed inputs made by AuditLog itself
// (sealed, unsealed, rotated, with a clip, an action left `executing`) into DIR and exits.
import BoraAction
import BoraCore
import Foundation
import Glibc

let workDir = "/dev/shm/bora-fuzz-audit-\(getpid())"
let rotatedName = "audit-20250101T000000Z.jsonl"

func writeFile(_ path: String, _ bytes: ArraySlice<UInt8>) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

func reset() {
    for name in ["seal.state", "audit.jsonl", rotatedName, "clips/u0.opus"] { unlink(workDir + "/" + name) }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInit(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    if let out = getenv("BORA_FUZZ_MAKE_SEEDS") {
        do { try makeSeeds(String(cString: out)) } catch { fputs("seeds: \(error)\n", stderr); exit(1) }
        exit(0)
    }
    mkdir(workDir, 0o700)
    mkdir(workDir + "/clips", 0o700)
    atexit { reset(); rmdir(workDir + "/clips"); rmdir(workDir) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let sections = bytes.split(separator: 0, maxSplits: 4, omittingEmptySubsequences: false)
    reset()
    let key = sections.first.flatMap { Hex.decode(String(decoding: $0, as: UTF8.self)) }.flatMap { $0.count == 32 ? $0 : nil }
    let names = ["seal.state", "audit.jsonl", rotatedName, "clips/u0.opus"]
    for (i, section) in sections.dropFirst().enumerated() where !section.isEmpty {
        writeFile(workDir + "/" + names[i], section)
    }
    var sink = 0
    if let v = try? AuditLog.verify(directory: workDir, key: key) { sink &+= v.records &+ (v.problem?.utf8.count ?? 0) }
    if key != nil, let v = try? AuditLog.verify(directory: workDir) { sink &+= v.records }
    blackHole(sink)
    return 0
}

@inline(never) func blackHole(_ x: Int) { if x == 0x5eed_f00d { print("") } }

/// Seed inputs written by the real AuditLog (so chain, sequence and seals are right).
func makeSeeds(_ out: String) throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
    func trail(_ name: String, sealed: Bool, records: Int, maxBytes: Int = 64 << 20, clip: Bool = false,
               leaveExecuting: Bool = false) throws {
        let dir = NSTemporaryDirectory() + "bora-fuzz-seed-\(getpid())-\(name)"
        try? fm.removeItem(atPath: dir)
        let key: [UInt8]? = sealed ? try AuditSeal.initialize(directory: dir) : nil
        if !sealed { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let log = try AuditLog(directory: dir, maxBytes: maxBytes)
        for i in 0..<records {
            var record: [String: JSONValue] = ["id": .string("u\(i)"), "time": .string("2025-01-01T00:00:0\(i % 10)Z"),
                                               "transcript": "turn on the lights in the kitchen",
                                               "understood": true, "intent": "changeLightState", "slots": ["state": "on", "location": "kitchen"],
                                               "confidence": 0.9, "decision": .string(i == records - 1 && leaveExecuting ? "executing" : "executed"),
                                               "reason": "", "argv": ["/usr/bin/logger", "-t", "bora", "on"], "exit_code": 0]
            if clip && i == 0 {
                let samples = (0..<1600).map { Float(sin(Double($0) * 0.05)) * 0.3 }
                let c = try samples.withUnsafeBufferPointer { try log.writeClip(id: "u0", samples: $0) }
                record["clip"] = .string(c.path); record["clip_sha256"] = .string(c.sha256)
            }
            _ = try log.append(record)
        }
        let files = (try fm.contentsOfDirectory(atPath: dir))
        func read(_ f: String) -> [UInt8] { (fm.contents(atPath: dir + "/" + f).map { [UInt8]($0) }) ?? [] }
        let rotated = files.filter { $0.hasPrefix("audit-") }.sorted()
        var input = Array((key.map { Hex.encode($0) } ?? "").utf8)
        input += [0] + read("seal.state") + [0] + read("audit.jsonl")
        if let r = rotated.first { input += [0] + read(r) }   // the verifier sees it as the rotated file
        if clip { if rotated.isEmpty { input += [0] }; input += [0] + read("clips/u0.opus") }
        _ = fm.createFile(atPath: out + "/" + name, contents: Data(input))
        try? fm.removeItem(atPath: dir)
    }
    try trail("sealed-3", sealed: true, records: 3)
    try trail("sealed-1", sealed: true, records: 1)
    try trail("sealed-0", sealed: true, records: 0)
    try trail("plain-4", sealed: false, records: 4)
    try trail("sealed-executing", sealed: true, records: 3, leaveExecuting: true)
    try trail("sealed-rotated", sealed: true, records: 5, maxBytes: 1500)
    try trail("sealed-clip", sealed: true, records: 2, clip: true)
    try trail("plain-clip", sealed: false, records: 2, clip: true)
}
