import BoraCore

/// Why a GGUF file was rejected. Offsets (`at:`) are byte offsets from the start of the file.
///
/// Every malformed input ends in one of these; the reader never traps and never reads outside
/// the buffer. `description` is one line that says what is wrong and what to do about it.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Opening or mapping the file failed.
    case io(MappedFileError)
    /// The first four bytes are not `GGUF` (`found` is them read little-endian).
    case badMagic(found: UInt32)
    /// The file is a big-endian GGUF; only little-endian files are supported.
    case bigEndian(version: UInt32)
    /// A GGUF version other than 2 or 3.
    case unsupportedVersion(UInt32)
    /// `needed` bytes of `what` starting at `at` lie past the end of the file.
    case truncated(at: Int, needed: Int, what: String)
    /// A count or length is larger than the remaining bytes could possibly hold.
    case countTooLarge(what: String, count: UInt64, at: Int)
    /// A count within the file's size but over one of Bora's parse limits (`GGUFFile.maxTensorCount`,
    /// `maxMetadataCount`, `maxMetadataArrayElements`), which bound the work and memory of parsing.
    case limitExceeded(what: String, count: UInt64, limit: Int, at: Int)
    /// A metadata value type id outside 0...12.
    case unknownValueType(UInt32, at: Int)
    /// Arrays nested more than `GGUFFile.maxArrayDepth` deep.
    case nestingTooDeep(at: Int)
    /// A bool byte other than 0 or 1.
    case invalidBool(UInt8, at: Int)
    /// A string that is not valid UTF-8.
    case invalidUTF8(at: Int)
    /// The same metadata key appears twice.
    case duplicateKey(String, at: Int)
    /// `general.alignment` is not a nonzero power of two that fits in a UInt32.
    case badAlignment(value: String)
    /// A tensor with more than 4 dimensions (ggml's limit).
    case tooManyDimensions(tensor: String, count: UInt32, at: Int)
    /// A tensor shape that is negative, overflows, or whose row length is not a whole
    /// number of quantization blocks.
    case badShape(tensor: String, shape: [UInt64], type: String, reason: String)
    /// A tensor type id this build does not know.
    case unknownTensorType(UInt32, tensor: String)
    /// A tensor offset that is not a multiple of the file's alignment.
    case misalignedTensor(name: String, offset: UInt64, alignment: Int)
    /// A tensor whose bytes do not lie inside the data section.
    case tensorOutOfBounds(name: String, offset: UInt64, bytes: Int, dataBytes: Int)
    /// Two tensors with the same name.
    case duplicateTensor(String)

    private static let refetch = "the file is truncated or corrupt; re-fetch it with `bora models fetch`"

    public var description: String {
        switch self {
        case let .io(error):
            return error.description
        case let .badMagic(found):
            return "not a GGUF file (magic \(Self.hex(found)), expected \"GGUF\"); pass a .gguf model"
        case let .bigEndian(version):
            return "big-endian GGUF (version \(version)) is not supported; convert it with gguf-py's `gguf_convert_endian.py little`"
        case let .unsupportedVersion(version):
            return "GGUF version \(version) is not supported (need 2 or 3); re-convert the model with a current llama.cpp"
        case let .truncated(at, needed, what):
            return "GGUF \(what) at byte \(at) needs \(needed) bytes past the end of the file; \(Self.refetch)"
        case let .countTooLarge(what, count, at):
            return "GGUF \(what) at byte \(at) is \(count), more than the file can hold; \(Self.refetch)"
        case let .limitExceeded(what, count, limit, at):
            return "GGUF \(what) at byte \(at) is \(count), over Bora's limit of \(limit); this is not a model Bora can load (a corrupt or hostile file), re-fetch or re-convert it"
        case let .unknownValueType(type, at):
            return "unknown GGUF metadata value type \(type) at byte \(at); \(Self.refetch)"
        case let .nestingTooDeep(at):
            return "GGUF arrays nested more than \(GGUFFile.maxArrayDepth) deep at byte \(at); \(Self.refetch)"
        case let .invalidBool(value, at):
            return "GGUF bool at byte \(at) is \(value), not 0 or 1; \(Self.refetch)"
        case let .invalidUTF8(at):
            return "GGUF string at byte \(at) is not valid UTF-8; \(Self.refetch)"
        case let .duplicateKey(key, at):
            return "GGUF metadata key \"\(key)\" appears twice (second at byte \(at)); the file is malformed, re-convert it"
        case let .badAlignment(value):
            return "general.alignment is \(value), not a nonzero power of two; the file is malformed, re-convert it"
        case let .tooManyDimensions(tensor, count, at):
            return "tensor \"\(tensor)\" at byte \(at) has \(count) dimensions (max 4); \(Self.refetch)"
        case let .badShape(tensor, shape, type, reason):
            return "tensor \"\(tensor)\" has shape \(shape) of type \(type): \(reason); \(Self.refetch)"
        case let .unknownTensorType(type, tensor):
            return "tensor \"\(tensor)\" has ggml type \(type), which Bora does not support; re-quantize the model to a supported type (Q4_0, Q4_1, Q8_0, Q4_K, Q6_K, F16, F32)"
        case let .misalignedTensor(name, offset, alignment):
            return "tensor \"\(name)\" data offset \(offset) is not a multiple of the alignment \(alignment); \(Self.refetch)"
        case let .tensorOutOfBounds(name, offset, bytes, dataBytes):
            return "tensor \"\(name)\" (\(bytes) bytes at data offset \(offset)) extends past the data section (\(dataBytes) bytes); \(Self.refetch)"
        case let .duplicateTensor(name):
            return "tensor \"\(name)\" appears twice; the file is malformed, re-convert it"
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value.byteSwapped, radix: 16)  // bytes in file order
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

extension GGUFError: BoraInputError {}
