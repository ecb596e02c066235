// Shared helpers for the GGUF tests: fixture paths, a seeded RNG, and `GGUFLayout`, a small
// independent walker over a *valid* GGUF that records where every field and section boundary
// is, so tests can truncate at boundaries and patch specific fields.

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

enum Fixtures {
    /// Tests/Fixtures/gguf, found from this source file.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("gguf")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// The real SmolLM2 model from the catalog, if it has been fetched (`BORA_MODELS` or ~/.cache/bora/models).
enum RealModel {
    static let relativePath = "smollm2-135m-instruct/smollm2-135m-instruct.Q4_1.gguf"
    static let path: String? = {
        let env = ProcessInfo.processInfo.environment
        let root = env["BORA_MODELS"] ?? (NSHomeDirectory() + "/.cache/bora/models")
        let path = root + "/" + relativePath
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()
    static let skipReason: Comment = "real model absent: run `bora models fetch` (looked for \(relativePath) under BORA_MODELS or ~/.cache/bora/models)"
}

/// A deterministic generator so fuzz runs are reproducible.
typealias SeededRNG = SplitMix64

/// Parses `bytes`, returning the typed error (or nil on success). Exercises everything a
/// successful parse hands out, so an out-of-bounds view would be caught (ASan) here.
@discardableResult
func parseAndTouch(_ bytes: [UInt8]) -> GGUFError? {
    do {
        let file = try GGUFFile(bytes: bytes)
        touch(file)
        return nil
    } catch {
        return error
    }
}

func touch(_ file: GGUFFile) {
    var sink = 0
    for key in file.metadataKeys {
        sink &+= file.metadata[key]!.description.utf8.count
    }
    for tensor in file.tensors {
        if tensor.byteCount > 0 {
            sink &+= Int(tensor.data.load(as: UInt8.self))
            sink &+= Int(tensor.data.load(fromByteOffset: tensor.byteCount - 1, as: UInt8.self))
        }
    }
    _ = sink
}

/// Where each field of a valid GGUF lives. Independent of `GGUFFile`: a second, minimal reading
/// of the spec used only to aim truncations and patches.
struct GGUFLayout {
    enum Kind: Equatable { case magic, version, tensorCount, kvCount, keyLength, valueType, stringLength,
                           arrayType, arrayCount, scalar, nameLength, dimCount, dim, tensorType, tensorOffset }
    struct Field { let kind: Kind; let offset: Int; let size: Int; let context: String }

    private(set) var fields: [Field] = []
    /// Offsets where a section or entry ends: header, each key/value, each tensor info, the
    /// data start, and the end of each tensor's data.
    private(set) var boundaries: [Int] = []
    private(set) var dataOffset = 0

    init(_ bytes: [UInt8]) {
        var p = 0
        func u32() -> UInt32 { defer { p += 4 }; return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: p, as: UInt32.self) } }
        func u64() -> UInt64 { defer { p += 8 }; return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: p, as: UInt64.self) } }
        func record(_ kind: Kind, _ size: Int, _ context: String) { fields.append(Field(kind: kind, offset: p, size: size, context: context)) }
        func string(_ kind: Kind, _ context: String) -> String {
            record(kind, 8, context)
            let n = Int(u64())
            defer { p += n }
            return String(decoding: bytes[p..<p + n], as: UTF8.self)
        }
        func value(_ type: UInt32, _ context: String) {
            switch type {
            case 8: _ = string(.stringLength, context)
            case 9:
                record(.arrayType, 4, context)
                let et = u32()
                record(.arrayCount, 8, context)
                let n = Int(u64())
                for _ in 0..<n { value(et, context) }
            default:
                let size = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][Int(type)]
                record(.scalar, size, context)
                p += size
            }
        }
        record(.magic, 4, ""); p += 4
        record(.version, 4, ""); p += 4
        record(.tensorCount, 8, ""); let tensorCount = Int(u64())
        record(.kvCount, 8, ""); let kvCount = Int(u64())
        boundaries.append(p)
        var alignment = 32
        for _ in 0..<kvCount {
            let key = string(.keyLength, "")
            record(.valueType, 4, key)
            let type = u32()
            if key == "general.alignment" { alignment = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: p, as: UInt32.self) }) }
            value(type, key)
            boundaries.append(p)
        }
        var ends: [(offset: Int, bytes: Int)] = []
        for _ in 0..<tensorCount {
            let name = string(.nameLength, "")
            record(.dimCount, 4, name)
            let n = Int(u32())
            var elements = 1
            for _ in 0..<n { record(.dim, 8, name); elements *= Int(u64()) }
            record(.tensorType, 4, name)
            let type = QuantType(rawValue: u32())!
            record(.tensorOffset, 8, name)
            ends.append((Int(u64()), type.byteCount(elements: elements)!))
            boundaries.append(p)
        }
        dataOffset = (p + alignment - 1) / alignment * alignment
        boundaries.append(dataOffset)
        for (offset, size) in ends { boundaries.append(dataOffset + offset + size) }
        boundaries = Array(Set(boundaries)).sorted()
    }

    /// The first field of `kind` whose context (key or tensor name) is `context`.
    func field(_ kind: Kind, _ context: String = "") -> Field {
        fields.first { $0.kind == kind && $0.context == context }!
    }
}

extension Array where Element == UInt8 {
    /// Overwrites `value.count`… bytes at `offset` with `value` little-endian.
    mutating func patch<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { self[offset + i] = b } }
    }
}

/// True when `error` is one of the cases a file cut short can produce.
func isTruncationError(_ error: GGUFError?) -> Bool {
    switch error {
    case .truncated, .countTooLarge, .tensorOutOfBounds: return true
    default: return false
    }
}
