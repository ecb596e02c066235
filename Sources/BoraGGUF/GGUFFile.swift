import BoraCore

/// A parsed GGUF file (versions 2 and 3, little-endian): header, metadata and tensor views.
///
/// Parsing validates everything it records: every count, length and offset is bounds- and
/// overflow-checked, strings are UTF-8, keys and tensor names are unique, tensor shapes and
/// types are known and consistent, and every tensor lies, aligned, inside the data section.
/// Malformed input throws a `GGUFError`; it never traps or reads outside the bytes.
///
/// Nothing is copied out of the file: string arrays and tensors are views into the bytes, and
/// they (like this object) keep the bytes alive. The object is immutable and `Sendable`.
public final class GGUFFile: Sendable {
    /// Arrays nested deeper than this are rejected (`GGUFError.nestingTooDeep`).
    public static let maxArrayDepth = 8
    /// Most metadata entries a file may declare (real models have tens; each costs a dictionary
    /// entry at parse time). More is `GGUFError.limitExceeded`, thrown before anything is reserved.
    public static let maxMetadataCount = 1 << 16
    /// Most tensors a file may declare (real models: hundreds to a few thousand; each costs a
    /// parsed record of ~100 bytes). More is `GGUFError.limitExceeded`.
    public static let maxTensorCount = 1 << 18
    /// Most string and nested-array elements all metadata arrays of one file may hold together,
    /// 2^23 = 8,388,608 (a 262k-token vocabulary with its merges uses under a million). Parsing
    /// records an offset per string (8 bytes) and a value per nested array, so this bounds the
    /// work and memory of parsing metadata (≤ 64 MiB of string offsets) whatever the file's size:
    /// a file of 268 million empty strings is refused at the array's count, before any string is
    /// read. Arrays of numbers and bools are views into the file and do not count.
    public static let maxMetadataArrayElements = 1 << 23
    /// Tensor data alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// "GGUF" read as a little-endian UInt32.
    public static let magic: UInt32 = 0x4655_4747

    /// The format version (2 or 3).
    public let version: UInt32
    /// Tensor data alignment in bytes (`general.alignment`, default 32).
    public let alignment: Int
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensors in file order.
    public let tensors: [GGUFTensor]
    /// Byte offset of the (aligned) tensor data section from the start of the file.
    public let dataOffset: Int
    /// Size of the whole file in bytes.
    public let byteCount: Int
    private let tensorIndex: [String: Int]
    private let storage: GGUFStorage

    /// The mapping this file was parsed from, or nil when it was parsed from a copied buffer.
    public var mappedFile: MappedFile? { storage.mapped }

    /// Maps and parses the file at `path`.
    ///
    /// - Parameter hint: `madvise` hint for the mapping (e.g. `.willNeed` before a full load).
    /// - Throws: `GGUFError.io` when the file cannot be opened or mapped, other cases when it is malformed.
    public convenience init(path: String, hint: MappedFile.AccessHint = .normal) throws(GGUFError) {
        let mapped: MappedFile
        do { mapped = try MappedFile(path: path, hint: hint) } catch { throw .io(error) }
        try self.init(storage: GGUFStorage(mapped: mapped))
    }

    /// Parses a file that is already mapped; the result keeps `mapped` alive.
    public convenience init(mapped: MappedFile) throws(GGUFError) {
        try self.init(storage: GGUFStorage(mapped: mapped))
    }

    /// Parses a private, 64-byte-aligned copy of `bytes` (tests, in-memory files). The caller may
    /// free `bytes` afterwards.
    public convenience init(copying bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        try self.init(storage: GGUFStorage(copying: bytes))
    }

    /// Parses a copy of `bytes`.
    public convenience init(bytes: [UInt8]) throws(GGUFError) {
        let storage = bytes.withUnsafeBytes { GGUFStorage(copying: $0) }
        try self.init(storage: storage)
    }

    init(storage: GGUFStorage) throws(GGUFError) {
        self.storage = storage
        var cursor = GGUFCursor(base: storage.base, count: storage.count)

        // Header: magic, version, tensor count, metadata count.
        let magic = try cursor.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw .badMagic(found: magic) }
        let version = try cursor.read(UInt32.self, "version")
        if version & 0xFFFF == 0, version != 0 { throw .bigEndian(version: version.byteSwapped) }
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        self.version = version
        // Minimum encodings: tensor info = name length 8 + n_dims 4 + type 4 + offset 8;
        // key/value = key length 8 + type 4 + smallest value 1.
        let tensorCount = try cursor.readCount("tensor count", minimumElementSize: 24, limit: Self.maxTensorCount)
        let kvCount = try cursor.readCount("metadata count", minimumElementSize: 13, limit: Self.maxMetadataCount)

        // Metadata.
        var metadata = [String: GGUFValue](minimumCapacity: kvCount)
        var keys = [String]()
        keys.reserveCapacity(kvCount)
        for _ in 0..<kvCount {
            let at = cursor.offset
            let key = try cursor.readString("metadata key")
            let type = try cursor.readValueType("metadata value type")
            let value = try cursor.readValue(type, storage: storage, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key, at: at) }
            keys.append(key)
        }
        self.metadata = metadata
        self.metadataKeys = keys

        let alignment = try Self.alignment(from: metadata["general.alignment"])
        self.alignment = alignment

        // Tensor infos.
        var infos = [RawTensorInfo]()
        infos.reserveCapacity(tensorCount)
        var index = [String: Int](minimumCapacity: tensorCount)
        for i in 0..<tensorCount {
            let info = try RawTensorInfo(&cursor)
            guard index.updateValue(i, forKey: info.name) == nil else { throw .duplicateTensor(info.name) }
            infos.append(info)
        }
        self.tensorIndex = index

        // Data section: starts at the next multiple of the alignment.
        let infoEnd = cursor.offset
        let padding = (alignment - infoEnd % alignment) % alignment
        let dataOffset = infoEnd + padding  // infoEnd <= file size and alignment <= UInt32.max: no overflow
        if tensorCount > 0 {
            guard dataOffset <= storage.count else {
                throw .truncated(at: infoEnd, needed: padding, what: "padding before tensor data")
            }
        }
        self.dataOffset = dataOffset
        self.byteCount = storage.count
        let dataBytes = max(0, storage.count - dataOffset)

        var tensors = [GGUFTensor]()
        tensors.reserveCapacity(tensorCount)
        for info in infos {
            tensors.append(try info.validated(alignment: alignment, dataOffset: dataOffset, dataBytes: dataBytes, storage: storage))
        }
        self.tensors = tensors
    }

    /// Faults in the pages of `tensors` (adjacent ones merged into one range) through
    /// `MappedFile.populate`: the loaders map without `.willNeed` (which would populate the whole
    /// file, padding and unused tensors included) and prefault exactly the tensors they use.
    /// A no-op for files parsed from a copied buffer.
    public func prefault(_ tensors: [GGUFTensor]) {
        guard let mapped = storage.mapped else { return }
        let ranges = tensors.map { (dataOffset + $0.offset)..<(dataOffset + $0.offset + $0.byteCount) }
            .sorted { $0.lowerBound < $1.lowerBound }
        var current: Range<Int>?
        let gap = 1 << 16   // merge across alignment padding and small unused tensors
        for r in ranges {
            if let c = current, r.lowerBound <= c.upperBound + gap {
                current = c.lowerBound..<max(c.upperBound, r.upperBound)
            } else {
                if let c = current { mapped.populate(c) }
                current = r
            }
        }
        if let c = current { mapped.populate(c) }
    }

    /// The tensor called `name`, or nil.
    public func tensor(named name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// `general.architecture`, e.g. "llama", or nil.
    public var architecture: String? { metadata["general.architecture"]?.string }

    private static func alignment(from value: GGUFValue?) throws(GGUFError) -> Int {
        guard let value else { return defaultAlignment }
        guard let alignment = value.int, alignment > 0, alignment <= Int(UInt32.max),
              alignment & (alignment - 1) == 0 else {
            throw .badAlignment(value: "\(value) (\(value.type))")
        }
        return alignment
    }
}

/// A tensor as recorded in the file, before its type, shape and placement are checked.
private struct RawTensorInfo {
    let name: String
    let dims: [UInt64]
    let rawType: UInt32
    let offset: UInt64

    init(_ cursor: inout GGUFCursor) throws(GGUFError) {
        let at = cursor.offset
        name = try cursor.readString("tensor name")
        let dimCount = try cursor.read(UInt32.self, "tensor dimension count")
        guard dimCount <= 4 else { throw .tooManyDimensions(tensor: name, count: dimCount, at: at) }
        var dims = [UInt64]()
        dims.reserveCapacity(Int(dimCount))
        for _ in 0..<dimCount {
            dims.append(try cursor.read(UInt64.self, "tensor dimension"))
        }
        self.dims = dims
        rawType = try cursor.read(UInt32.self, "tensor type")
        offset = try cursor.read(UInt64.self, "tensor offset")
    }

    func validated(alignment: Int, dataOffset: Int, dataBytes: Int, storage: GGUFStorage) throws(GGUFError) -> GGUFTensor {
        guard let type = QuantType(rawValue: rawType) else { throw .unknownTensorType(rawType, tensor: name) }
        func bad(_ reason: String) -> GGUFError {
            .badShape(tensor: name, shape: dims, type: type.description, reason: reason)
        }
        var shape = [Int]()
        for dim in dims {
            guard let d = Int(exactly: dim) else { throw bad("a dimension exceeds Int.max") }
            shape.append(d)
        }
        let rowLength = shape.first ?? 1
        var rowCount = 1
        for d in shape.dropFirst() {
            let (product, overflow) = rowCount.multipliedReportingOverflow(by: d)
            guard !overflow else { throw bad("element count overflows") }
            rowCount = product
        }
        let (elementCount, overflow) = rowLength.multipliedReportingOverflow(by: rowCount)
        guard !overflow else { throw bad("element count overflows") }
        guard rowLength % type.blockSize == 0 else {
            throw bad("row length \(rowLength) is not a multiple of the block size \(type.blockSize)")
        }
        guard let byteCount = type.byteCount(elements: elementCount) else { throw bad("byte size overflows") }
        guard offset % UInt64(alignment) == 0 else {
            throw .misalignedTensor(name: name, offset: offset, alignment: alignment)
        }
        guard offset <= UInt64(dataBytes), byteCount <= dataBytes - Int(offset) else {
            throw .tensorOutOfBounds(name: name, offset: offset, bytes: byteCount, dataBytes: dataBytes)
        }
        return GGUFTensor(name: name, shape: shape, type: type, offset: Int(offset), elementCount: elementCount,
                          rowCount: rowCount, byteCount: byteCount,
                          data: storage.base + dataOffset + Int(offset), storage: storage)
    }
}

/// A zero-copy view of one tensor's bytes inside a GGUF file.
///
/// `shape` is in ggml order: `shape[0]` is the row length (the contiguous dimension), so a
/// matrix with `d` rows of `n` elements has shape `[n, d]`. The view keeps the file bytes
/// alive, so `data` stays valid as long as the view (or a copy of it) exists.
public struct GGUFTensor: @unchecked Sendable, CustomStringConvertible {
    /// Tensor name, e.g. "blk.0.attn_q.weight".
    public let name: String
    /// Dimensions in ggml order (`shape[0]` contiguous); empty for a scalar.
    public let shape: [Int]
    /// Element type.
    public let type: QuantType
    /// Byte offset of the data from the start of the file's data section.
    public let offset: Int
    /// Product of `shape` (1 for a scalar).
    public let elementCount: Int
    /// Number of rows: product of `shape[1...]`.
    public let rowCount: Int
    /// Size of the data in bytes.
    public let byteCount: Int
    /// First byte of the data, inside the file bytes (read-only; aligned to the file's alignment
    /// relative to a page-aligned mapping).
    public let data: UnsafeRawPointer
    private let storage: GGUFStorage

    init(name: String, shape: [Int], type: QuantType, offset: Int, elementCount: Int, rowCount: Int,
         byteCount: Int, data: UnsafeRawPointer, storage: GGUFStorage) {
        self.name = name
        self.shape = shape
        self.type = type
        self.offset = offset
        self.elementCount = elementCount
        self.rowCount = rowCount
        self.byteCount = byteCount
        self.data = data
        self.storage = storage
    }

    /// Elements per row: `shape[0]` (1 for a scalar).
    public var rowLength: Int { shape.first ?? 1 }
    /// Bytes per row: `rowLength / type.blockSize * type.bytesPerBlock`.
    public var rowBytes: Int { rowLength / type.blockSize * type.bytesPerBlock }
    /// The data as a buffer.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: byteCount) }

    /// Start of row `row` (0 ..< rowCount; out of range is a precondition failure).
    public func row(_ row: Int) -> UnsafeRawPointer {
        precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount) in \(name)")
        return data + row * rowBytes
    }

    /// `name [n, d] TYPE`.
    public var description: String { "\(name) \(shape) \(type)" }
}
