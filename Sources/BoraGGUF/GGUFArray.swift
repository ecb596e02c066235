import BoraCore

/// Bytes a parsed GGUF file lives in: a `MappedFile`, or a private copy of a caller's buffer.
/// Values and tensor views that point into the bytes hold a reference to this object.
///
/// `@unchecked Sendable`: immutable after `init`; the bytes are never written.
final class GGUFStorage: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int
    let mapped: MappedFile?
    private let owned: UnsafeMutableRawPointer?

    /// The first `prefix` bytes of `mapped` (all of it by default); `prefix` lets tests parse
    /// truncations of a large file without copying it.
    init(mapped: MappedFile, prefix: Int? = nil) {
        precondition(prefix.map { $0 >= 0 && $0 <= mapped.count } ?? true, "prefix out of range")
        self.mapped = mapped
        self.base = mapped.base
        self.count = prefix ?? mapped.count
        self.owned = nil
    }

    /// Copies `bytes` into a 64-byte-aligned allocation, so tensor data is aligned as in a mapping.
    init(copying bytes: UnsafeRawBufferPointer) {
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        if let source = bytes.baseAddress, bytes.count > 0 {
            copy.copyMemory(from: source, byteCount: bytes.count)
        }
        self.mapped = nil
        self.base = UnsafeRawPointer(copy)
        self.count = bytes.count
        self.owned = copy
    }

    deinit { owned?.deallocate() }
}

/// A GGUF metadata array: `count` elements of one `elementType`.
///
/// Arrays parsed from a file are lazy views: numeric elements are read from the file bytes on
/// access, strings are decoded on access (they were checked for UTF-8 at parse time), so a
/// 49k-entry token list costs one offset table at load. The array keeps the file bytes alive.
/// Bulk accessors (`strings`, `integers`, `floats`, …) return nil when the element type does not
/// convert without loss; each call decodes again, so keep the result. Arrays built in memory (for `GGUFWriter`) hold `GGUFValue`s.
public struct GGUFArray: Sendable, Equatable, RandomAccessCollection, CustomStringConvertible {
    /// Type of every element.
    public let elementType: GGUFValueType
    /// Number of elements.
    public let count: Int
    let storage: Storage

    enum Storage: @unchecked Sendable {
        /// Fixed-size little-endian elements at `base` (inside `owner`'s bytes).
        case fixed(base: UnsafeRawPointer, owner: GGUFStorage)
        /// Strings; `offsets[i]` is the byte offset (from `owner.base`) of string i's 8-byte length.
        case strings(offsets: [Int], owner: GGUFStorage)
        /// Nested arrays, parsed eagerly (nesting depth is capped).
        case arrays([GGUFArray])
        /// Values built in memory.
        case values([GGUFValue])
    }

    init(elementType: GGUFValueType, count: Int, storage: Storage) {
        self.elementType = elementType
        self.count = count
        self.storage = storage
    }

    /// An in-memory array of `values`, which must all have type `elementType`
    /// (`precondition`; an empty array still needs its element type).
    public init(elementType: GGUFValueType, values: [GGUFValue]) {
        precondition(values.allSatisfy { $0.type == elementType }, "GGUFArray: every value must be \(elementType)")
        self.init(elementType: elementType, count: values.count, storage: .values(values))
    }

    /// An array of strings.
    public init(strings: [String]) { self.init(elementType: .string, values: strings.map { .string($0) }) }
    /// An array of `float32`.
    public init(float32s: [Float]) { self.init(elementType: .float32, values: float32s.map { .float32($0) }) }
    /// An array of `int32`.
    public init(int32s: [Int32]) { self.init(elementType: .int32, values: int32s.map { .int32($0) }) }
    /// An array of `uint32`.
    public init(uint32s: [UInt32]) { self.init(elementType: .uint32, values: uint32s.map { .uint32($0) }) }
    /// An array of nested arrays.
    public init(arrays: [GGUFArray]) { self.init(elementType: .array, values: arrays.map { .array($0) }) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    /// Element `index` (0 ..< count; out of range is a precondition failure).
    public subscript(index: Int) -> GGUFValue {
        precondition(index >= 0 && index < count, "GGUFArray index \(index) out of range 0..<\(count)")
        switch storage {
        case let .values(values):
            return values[index]
        case let .arrays(arrays):
            return .array(arrays[index])
        case let .strings(offsets, owner):
            return .string(Self.decodeString(owner.base, at: offsets[index]))
        case let .fixed(base, _):
            return Self.loadFixed(elementType, base, index)
        }
    }

    /// All elements of a `string` array, or nil for other element types.
    public var strings: [String]? {
        guard elementType == .string else { return nil }
        if case let .strings(offsets, owner) = storage {
            return offsets.map { Self.decodeString(owner.base, at: $0) }
        }
        return map { $0.string! }
    }

    /// Calls `body` with the UTF-8 bytes of string element `index` without decoding or copying them
    /// when the array was parsed from a file (the bytes are valid only inside `body`).
    /// Precondition: a `string` array and `index` in range.
    public func withStringBytes<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        precondition(elementType == .string && index >= 0 && index < count, "withStringBytes needs a string element")
        if case let .strings(offsets, owner) = storage {
            let offset = offsets[index]
            let length = Int(UInt64(littleEndian: owner.base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            return try body(UnsafeBufferPointer(start: (owner.base + offset + 8).assumingMemoryBound(to: UInt8.self), count: length))
        }
        let bytes = Array(self[index].string!.utf8)
        return try bytes.withUnsafeBufferPointer(body)
    }

    /// All elements of an integer array as `Int`, or nil for other element types or when a
    /// `uint64` element exceeds `Int.max`.
    public var integers: [Int]? {
        switch elementType {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: break
        default: return nil
        }
        var result = [Int]()
        result.reserveCapacity(count)
        for value in self {
            guard let v = value.int else { return nil }
            result.append(v)
        }
        return result
    }

    /// All elements of a `float32` or `float64` array as `Float`, or nil for other element types.
    public var floats: [Float]? {
        guard elementType == .float32 || elementType == .float64 else { return nil }
        if case let .fixed(base, _) = storage, elementType == .float32 {
            return (0..<count).map { Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return map { $0.float! }
    }

    /// All elements of a `float32` or `float64` array as `Double`, or nil for other element types.
    public var doubles: [Double]? {
        guard elementType == .float32 || elementType == .float64 else { return nil }
        return map { $0.double! }
    }

    /// All elements of a `bool` array, or nil for other element types.
    public var bools: [Bool]? {
        guard elementType == .bool else { return nil }
        return map { $0.bool! }
    }

    /// All elements of an `array` array, or nil for other element types.
    public var arrays: [GGUFArray]? {
        guard elementType == .array else { return nil }
        if case let .arrays(arrays) = storage { return arrays }
        return map { $0.array! }
    }

    public static func == (lhs: GGUFArray, rhs: GGUFArray) -> Bool {
        lhs.elementType == rhs.elementType && lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }

    /// `[a, b, c]` with every element.
    public var description: String {
        "[" + map { $0.description }.joined(separator: ", ") + "]"
    }

    // MARK: Decoding from file bytes (all bounds were checked by the parser)

    static func decodeString(_ base: UnsafeRawPointer, at offset: Int) -> String {
        let length = Int(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        let bytes = UnsafeRawBufferPointer(start: base + offset + 8, count: length)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func loadFixed(_ type: GGUFValueType, _ base: UnsafeRawPointer, _ index: Int) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(base.load(fromByteOffset: index, as: UInt8.self))
        case .int8: return .int8(base.load(fromByteOffset: index, as: Int8.self))
        case .bool: return .bool(base.load(fromByteOffset: index, as: UInt8.self) != 0)
        case .uint16: return .uint16(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        case .int16: return .int16(Int16(littleEndian: base.loadUnaligned(fromByteOffset: index * 2, as: Int16.self)))
        case .uint32: return .uint32(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
        case .int32: return .int32(Int32(littleEndian: base.loadUnaligned(fromByteOffset: index * 4, as: Int32.self)))
        case .float32:
            return .float32(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))))
        case .uint64: return .uint64(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)))
        case .int64: return .int64(Int64(littleEndian: base.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)))
        case .float64:
            return .float64(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))))
        case .string, .array:
            preconditionFailure("loadFixed called for variable-size type \(type)")
        }
    }
}
