import Foundation
import Testing
@testable import BoraAudio

/// A fresh temp directory, removed at deinit.
final class TempDir: Sendable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "bora-audio-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a tool (sox, opusenc, …) and fails the test with its stderr when it exits non-zero.
@discardableResult
func runTool(_ args: [String], env: [String: String] = [:]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    if !env.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    struct ToolFailed: Error, CustomStringConvertible { let description: String }
    if p.terminationStatus != 0 {
        throw ToolFailed(description: "\(args.joined(separator: " ")) exited \(p.terminationStatus): \(String(decoding: e, as: UTF8.self))")
    }
    return String(decoding: o, as: UTF8.self)
}

/// Reads a raw little-endian float32 file (as written by `sox … -t f32`).
func readF32(_ path: String) throws -> [Float] {
    let d = try Data(contentsOf: URL(fileURLWithPath: path))
    return d.withUnsafeBytes { b in (0..<d.count / 4).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
}

/// Reads a raw little-endian s16 file.
func readS16(_ path: String) throws -> [Int16] {
    let d = try Data(contentsOf: URL(fileURLWithPath: path))
    return d.withUnsafeBytes { b in (0..<d.count / 2).map { Int16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) } }
}

/// Signal-to-noise ratio of `x` against `reference` (dB) over `range`.
func snrDb(_ x: [Float], _ reference: [Float], _ range: Range<Int>) -> Double {
    var s = 0.0, n = 0.0
    for i in range {
        s += Double(reference[i]) * Double(reference[i])
        let d = Double(x[i]) - Double(reference[i])
        n += d * d
    }
    return n == 0 ? .infinity : 10 * log10(s / n)
}

/// Speech from espeak-ng (22.05 kHz mono s16), cached per test process.
func speechWAV(_ dir: TempDir) throws -> String {
    let path = dir.file("speech.wav")
    try runTool(["espeak-ng", "-w", path, "The quick brown fox jumps over the lazy dog. Bora listens offline."])
    return path
}
