#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import BoraCore

/// An I/O failure while writing a GGUF file: the failing C call, the path, errno and its text.
public struct GGUFWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Int32
    public let message: String

    public var description: String {
        "cannot write \(path): \(call) failed: \(message) (errno \(errno)); check free space and permissions"
    }
}

/// Builds a GGUF v3 file: metadata of any type (including nested arrays) and tensors, with tensor
/// data aligned to `alignment` bytes (padding with zeros, as gguf-py does).
///
/// Keys keep the order of their first `set`; setting a key again replaces its value. Tensors
/// keep the order they were added in. Misuse (duplicate tensor names, a byte count that does
/// not match shape and type, a bad alignment) is a precondition failure; only I/O throws.
/// Files are written to `path.tmp-<pid>` and renamed into place, so a reader never sees a
/// partial file; on error the temporary file is removed.
public struct GGUFWriter {
    /// Tensor data alignment in bytes (a power of two). Also stored as `general.alignment`
    /// when it is not the default 32.
    public private(set) var alignment: Int
    private var entries: [(key: String, value: GGUFValue)] = []
    private var keyIndex: [String: Int] = [:]
    private var tensors: [PendingTensor] = []
    private var tensorNames: Set<String> = []

    private struct PendingTensor {
        enum Source {
            case bytes([UInt8])
            case view(GGUFTensor)
        }
        let name: String
        let shape: [Int]
        let type: QuantType
        let byteCount: Int
        let source: Source
    }

    /// A writer with no metadata and no tensors.
    public init(alignment: Int = GGUFFile.defaultAlignment) {
        self.alignment = GGUFFile.defaultAlignment
        if alignment != GGUFFile.defaultAlignment { set("general.alignment", .uint32(UInt32(alignment))) }
    }

    /// Metadata keys in the order they will be written.
    public var metadataKeys: [String] { entries.map { $0.key } }

    /// Sets metadata `key` to `value`. Setting `general.alignment` (to a power of two) also
    /// changes `alignment`.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if key == "general.alignment" {
            guard let a = value.int, a > 0, a <= Int(UInt32.max), a & (a - 1) == 0 else {
                preconditionFailure("general.alignment must be a power of two, got \(value)")
            }
            alignment = a
        }
        if let i = keyIndex[key] {
            entries[i].value = value
        } else {
            keyIndex[key] = entries.count
            entries.append((key, value))
        }
    }

    /// Adds a tensor whose data is `bytes` (exactly `type.byteCount(elements:)` of the shape).
    /// `shape` is in ggml order: `shape[0]` is the row length and must be a multiple of the block size.
    public mutating func addTensor(name: String, shape: [Int], type: QuantType, bytes: [UInt8]) {
        let byteCount = checkTensor(name: name, shape: shape, type: type)
        precondition(bytes.count == byteCount, "tensor \(name): \(bytes.count) bytes given, \(byteCount) needed for \(shape) \(type)")
        tensors.append(PendingTensor(name: name, shape: shape, type: type, byteCount: byteCount, source: .bytes(bytes)))
    }

    /// Adds a tensor, copying its data from `data`.
    public mutating func addTensor(name: String, shape: [Int], type: QuantType, copying data: UnsafeRawBufferPointer) {
        addTensor(name: name, shape: shape, type: type, bytes: [UInt8](data))
    }

    /// Adds a tensor of a parsed file without copying it now; its bytes are read when writing
    /// (the view keeps its file alive). `name` renames it.
    public mutating func addTensor(_ tensor: GGUFTensor, name: String? = nil) {
        let name = name ?? tensor.name
        let byteCount = checkTensor(name: name, shape: tensor.shape, type: tensor.type)
        tensors.append(PendingTensor(name: name, shape: tensor.shape, type: tensor.type, byteCount: byteCount, source: .view(tensor)))
    }

    private mutating func checkTensor(name: String, shape: [Int], type: QuantType) -> Int {
        precondition(shape.count <= 4, "tensor \(name): at most 4 dimensions")
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor \(name): negative dimension in \(shape)")
        precondition((shape.first ?? 1) % type.blockSize == 0, "tensor \(name): row length is not a multiple of \(type.blockSize)")
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            precondition(!overflow, "tensor \(name): element count overflows")
            elements = p
        }
        guard let byteCount = type.byteCount(elements: elements) else { preconditionFailure("tensor \(name): size overflows") }
        precondition(tensorNames.insert(name).inserted, "duplicate tensor name \(name)")
        return byteCount
    }

    // MARK: Output

    /// The whole file in memory.
    public func serialize() -> [UInt8] {
        var out = encodeHeader()
        for tensor in tensors {
            withBytes(of: tensor) { out.append(contentsOf: $0) }
            out.append(contentsOf: repeatElement(0, count: padding(tensor.byteCount)))
        }
        return out
    }

    /// Streams the file to `path` (via `path.tmp-<pid>` and `rename`).
    public func write(toPath path: String) throws(GGUFWriteError) {
        let tmp = "\(path).tmp-\(getpid())"
        let fd = retryingEINTR { posixOpen(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw Self.error("open", tmp) }
        var closed = false
        do throws(GGUFWriteError) {
            let header = encodeHeader()
            try withRawBytes(header) { (b) throws(GGUFWriteError) in try Self.writeAll(fd, b, tmp) }
            let zeros = [UInt8](repeating: 0, count: alignment)
            for tensor in tensors {
                try withBytes(of: tensor) { (b) throws(GGUFWriteError) in try Self.writeAll(fd, b, tmp) }
                try withRawBytes(zeros) { (z) throws(GGUFWriteError) in
                    try Self.writeAll(fd, UnsafeRawBufferPointer(rebasing: z[0..<padding(tensor.byteCount)]), tmp)
                }
            }
            guard fsync(fd) == 0 else { throw Self.error("fsync", tmp) }
            closed = true
            guard close(fd) == 0 else { throw Self.error("close", tmp) }
            guard rename(tmp, path) == 0 else { throw Self.error("rename", path) }
        } catch {
            if !closed { _ = close(fd) }
            _ = unlink(tmp)
            throw error
        }
    }

    private func padding(_ size: Int) -> Int { (alignment - size % alignment) % alignment }

    private func withBytes<R, E: Error>(of tensor: PendingTensor, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        switch tensor.source {
        case let .bytes(bytes):
            return try withRawBytes(bytes, body)
        case let .view(view):
            return try body(view.bytes)
        }
    }

    /// Header, metadata, tensor infos and the padding up to the data section.
    private func encodeHeader() -> [UInt8] {
        var out = [UInt8]()
        out.append(u32: GGUFFile.magic)
        out.append(u32: 3)
        out.append(u64: UInt64(tensors.count))
        out.append(u64: UInt64(entries.count))
        for (key, value) in entries {
            out.append(string: key)
            out.append(u32: value.type.rawValue)
            out.append(value: value)
        }
        var offset = 0
        for tensor in tensors {
            out.append(string: tensor.name)
            out.append(u32: UInt32(tensor.shape.count))
            for d in tensor.shape { out.append(u64: UInt64(d)) }
            out.append(u32: tensor.type.rawValue)
            out.append(u64: UInt64(offset))
            offset += tensor.byteCount + padding(tensor.byteCount)
        }
        out.append(contentsOf: repeatElement(0, count: padding(out.count)))
        return out
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws(GGUFWriteError) {
        do throws(SystemError) { try BoraCore.writeAll(fd, bytes) } catch {
            throw GGUFWriteError(call: "write", path: path, errno: error.code, message: error.description)
        }
    }

    private static func error(_ call: String, _ path: String) -> GGUFWriteError {
        let code = errno
        return GGUFWriteError(call: call, path: path, errno: code, message: errorText(code))
    }
}

/// `Array.withUnsafeBytes` with a typed error (the stdlib version rethrows untyped).
private func withRawBytes<R, E: Error>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    var result: Result<R, E>!
    bytes.withUnsafeBytes { b in
        do throws(E) { result = .success(try body(b)) } catch { result = .failure(error) }
    }
    return try result.get()
}

private extension Array where Element == UInt8 {
    mutating func append(u32 v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func append(u64 v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }

    mutating func append(string: String) {
        var s = string
        s.withUTF8 { utf8 in
            append(u64: UInt64(utf8.count))
            append(contentsOf: utf8)
        }
    }

    mutating func append(value: GGUFValue) {
        switch value {
        case let .uint8(v): append(v)
        case let .int8(v): append(UInt8(bitPattern: v))
        case let .bool(v): append(v ? 1 : 0)
        case let .uint16(v): Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
        case let .int16(v): Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
        case let .uint32(v): append(u32: v)
        case let .int32(v): append(u32: UInt32(bitPattern: v))
        case let .float32(v): append(u32: v.bitPattern)
        case let .uint64(v): append(u64: v)
        case let .int64(v): append(u64: UInt64(bitPattern: v))
        case let .float64(v): append(u64: v.bitPattern)
        case let .string(v): append(string: v)
        case let .array(a):
            append(u32: a.elementType.rawValue)
            append(u64: UInt64(a.count))
            for element in a { append(value: element) }
        }
    }
}

extension GGUFValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    /// `"llama"` as a metadata value: `writer.set("general.architecture", "llama")`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `true` as a metadata value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
