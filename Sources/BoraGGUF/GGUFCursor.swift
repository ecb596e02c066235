/// A bounds-checked little-endian reader over file bytes. Every read checks the remaining
/// length first and throws `GGUFError.truncated` instead of reading past `end`; all loads are
/// unaligned-safe. Offsets are absolute (from the start of the file).
struct GGUFCursor {
    let base: UnsafeRawPointer
    let end: Int
    private(set) var offset: Int = 0
    /// String and nested-array elements still allowed in metadata arrays (`GGUFFile.maxMetadataArrayElements`).
    var arrayElementBudget = GGUFFile.maxMetadataArrayElements

    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.end = count
    }

    var remaining: Int { end - offset }

    /// Throws unless `count` bytes remain.
    func require(_ count: Int, _ what: StaticString) throws(GGUFError) {
        guard count >= 0, count <= remaining else {
            throw .truncated(at: offset, needed: count, what: what.description)
        }
    }

    mutating func skip(_ count: Int, _ what: StaticString) throws(GGUFError) {
        try require(count, what)
        offset += count
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: StaticString) throws(GGUFError) -> T {
        try require(MemoryLayout<T>.size, what)
        let value = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    /// Reads a 64-bit count and refuses it unless `count × minimumElementSize` bytes remain and
    /// it is at most `limit` (Bora's bound on parse work and memory: `GGUFError.limitExceeded`).
    mutating func readCount(_ what: StaticString, minimumElementSize: Int, limit: Int = Int.max) throws(GGUFError) -> Int {
        let at = offset
        let count = try read(UInt64.self, what)
        guard count <= UInt64(remaining / max(minimumElementSize, 1)) else {
            throw .countTooLarge(what: what.description, count: count, at: at)
        }
        guard count <= UInt64(limit) else {
            throw .limitExceeded(what: what.description, count: count, limit: limit, at: at)
        }
        return Int(count)
    }

    /// Checks a GGUF string (u64 length + UTF-8 bytes) and moves past it; returns the offset
    /// of its length field and its byte length.
    mutating func skipString(_ what: StaticString) throws(GGUFError) -> (offset: Int, length: Int) {
        let start = offset
        let length64 = try read(UInt64.self, what)
        guard length64 <= UInt64(remaining) else {
            throw .truncated(at: offset, needed: Int(clamping: length64), what: what.description)
        }
        let length = Int(length64)
        guard isValidUTF8(base + offset, count: length) else { throw .invalidUTF8(at: start) }
        offset += length
        return (start, length)
    }

    mutating func readString(_ what: StaticString) throws(GGUFError) -> String {
        let (start, length) = try skipString(what)
        return String(decoding: UnsafeRawBufferPointer(start: base + start + 8, count: length), as: UTF8.self)
    }

    // MARK: Metadata values

    /// Reads one value of `type`. `depth` counts the arrays already entered.
    mutating func readValue(_ type: GGUFValueType, storage: GGUFStorage, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, "uint8 value"))
        case .int8: return .int8(try read(Int8.self, "int8 value"))
        case .uint16: return .uint16(try read(UInt16.self, "uint16 value"))
        case .int16: return .int16(try read(Int16.self, "int16 value"))
        case .uint32: return .uint32(try read(UInt32.self, "uint32 value"))
        case .int32: return .int32(try read(Int32.self, "int32 value"))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, "float32 value")))
        case .uint64: return .uint64(try read(UInt64.self, "uint64 value"))
        case .int64: return .int64(try read(Int64.self, "int64 value"))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, "float64 value")))
        case .bool:
            let at = offset
            let byte = try read(UInt8.self, "bool value")
            guard byte <= 1 else { throw .invalidBool(byte, at: at) }
            return .bool(byte == 1)
        case .string:
            return .string(try readString("string value"))
        case .array:
            return .array(try readArray(storage: storage, depth: depth + 1))
        }
    }

    mutating func readValueType(_ what: StaticString) throws(GGUFError) -> GGUFValueType {
        let at = offset
        let raw = try read(UInt32.self, what)
        guard let type = GGUFValueType(rawValue: raw) else { throw .unknownValueType(raw, at: at) }
        return type
    }

    /// Reads an array (element type, count, elements); `depth` is this array's nesting level (1 = top).
    mutating func readArray(storage: GGUFStorage, depth: Int) throws(GGUFError) -> GGUFArray {
        guard depth <= GGUFFile.maxArrayDepth else { throw .nestingTooDeep(at: offset) }
        let type = try readValueType("array element type")
        let countAt = offset
        let count = try readCount("array element count", minimumElementSize: type.minimumSize)
        if type == .string || type == .array {
            guard count <= arrayElementBudget else {
                throw .limitExceeded(what: "metadata array length (strings and arrays, all arrays together)",
                                     count: UInt64(count) + UInt64(GGUFFile.maxMetadataArrayElements - arrayElementBudget),
                                     limit: GGUFFile.maxMetadataArrayElements, at: countAt)
            }
            arrayElementBudget -= count
        }
        switch type {
        case .string:
            var offsets = [Int]()
            offsets.reserveCapacity(count)
            for _ in 0..<count {
                offsets.append(try skipString("array string").offset)
            }
            return GGUFArray(elementType: .string, count: count, storage: .strings(offsets: offsets, owner: storage))
        case .array:
            var arrays = [GGUFArray]()
            arrays.reserveCapacity(count)
            for _ in 0..<count {
                arrays.append(try readArray(storage: storage, depth: depth + 1))
            }
            return GGUFArray(elementType: .array, count: count, storage: .arrays(arrays))
        default:
            let size = type.fixedSize!
            let start = offset
            try skip(count * size, "array elements")  // count * size <= remaining: no overflow
            if type == .bool {
                for i in 0..<count {
                    let byte = base.load(fromByteOffset: start + i, as: UInt8.self)
                    guard byte <= 1 else { throw .invalidBool(byte, at: start + i) }
                }
            }
            return GGUFArray(elementType: type, count: count, storage: .fixed(base: storage.base + start, owner: storage))
        }
    }
}

/// True when `count` bytes at `p` are well-formed UTF-8 (Unicode Table 3-7: no overlongs,
/// no surrogates, nothing above U+10FFFF). ASCII runs are checked 8 bytes at a time.
func isValidUTF8(_ p: UnsafeRawPointer, count: Int) -> Bool {
    var i = 0
    while i < count {
        if count - i >= 8, p.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
            i += 8
            continue
        }
        let b0 = p.load(fromByteOffset: i, as: UInt8.self)
        if b0 < 0x80 { i += 1; continue }
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // allowed range of the second byte
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return false
        }
        guard count - i >= length else { return false }
        let b1 = p.load(fromByteOffset: i + 1, as: UInt8.self)
        guard b1 >= low, b1 <= high else { return false }
        for k in 2..<length where p.load(fromByteOffset: i + k, as: UInt8.self) & 0xC0 != 0x80 {
            return false
        }
        i += length
    }
    return true
}
