import BoraCore
/// A GGUF metadata value type; raw values are the ids stored in the file.
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0
    case int8 = 1
    case uint16 = 2
    case int16 = 3
    case uint32 = 4
    case int32 = 5
    case float32 = 6
    case bool = 7
    case string = 8
    case array = 9
    case uint64 = 10
    case int64 = 11
    case float64 = 12

    /// Encoded size of one value, or nil for the variable-size `string` and `array`.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// Smallest possible encoding of one value: a string is at least its 8-byte length, an
    /// array its 4-byte element type and 8-byte count. Used to refuse absurd counts early.
    var minimumSize: Int { fixedSize ?? (self == .string ? 8 : 12) }

    /// The lower-case name used by the gguf Python package ("uint32", "string", …).
    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }
}

/// One GGUF metadata value.
///
/// Read with the optional accessors, which convert only when no information is lost:
/// `metadata["general.architecture"]?.string`, `metadata["llama.block_count"]?.int`,
/// `metadata["llama.rope.freq_base"]?.float`, `metadata["tokenizer.ggml.tokens"]?.array?.strings`.
public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The type id this value is stored with.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// The value of any integer type, or nil for other types and for a `uint64` above `Int.max`.
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(exactly: v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(exactly: v)
        default: return nil
        }
    }

    /// The value of a `uint64` or of any unsigned type, or nil.
    public var uint64: UInt64? {
        switch self {
        case let .uint8(v): return UInt64(v)
        case let .uint16(v): return UInt64(v)
        case let .uint32(v): return UInt64(v)
        case let .uint64(v): return v
        default: return nil
        }
    }

    /// A `float32` value, or a `float64` rounded to `Float`; nil for other types.
    public var float: Float? {
        switch self {
        case let .float32(v): return v
        case let .float64(v): return Float(v)
        default: return nil
        }
    }

    /// A `float32` or `float64` value as `Double`; nil for other types.
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return nil
        }
    }

    /// A `bool` value, or nil.
    public var bool: Bool? {
        if case let .bool(v) = self { return v }
        return nil
    }

    /// A `string` value, or nil.
    public var string: String? {
        if case let .string(v) = self { return v }
        return nil
    }

    /// An `array` value, or nil.
    public var array: GGUFArray? {
        if case let .array(v) = self { return v }
        return nil
    }

    /// The value as it would be written in Swift source; arrays show all elements.
    public var description: String {
        switch self {
        case let .uint8(v): return String(v)
        case let .int8(v): return String(v)
        case let .uint16(v): return String(v)
        case let .int16(v): return String(v)
        case let .uint32(v): return String(v)
        case let .int32(v): return String(v)
        case let .float32(v): return String(v)
        case let .bool(v): return String(v)
        case let .string(v): return v.debugQuoted
        case let .array(v): return v.description
        case let .uint64(v): return String(v)
        case let .int64(v): return String(v)
        case let .float64(v): return String(v)
        }
    }
}
