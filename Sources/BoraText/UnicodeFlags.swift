/// Per-code-point classes the pre-tokenizers test, as in llama.cpp's `unicode_cpt_flags`
/// (unicode.h): one general-category class (`\p{N}`, `\p{L}`, …) plus `\s` membership.
///
/// llama.cpp generates its table from Unicode 15.1; Swift's `generalCategory` is newer, so code
/// points assigned after 15.1 are treated as unassigned to tokenize exactly as llama.cpp does.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 0x0001)  // Cn
    static let number = CodepointFlags(rawValue: 0x0002)  // \p{N}
    static let letter = CodepointFlags(rawValue: 0x0004)  // \p{L}
    static let separator = CodepointFlags(rawValue: 0x0008)  // \p{Z}
    static let mark = CodepointFlags(rawValue: 0x0010)  // \p{M}
    static let punctuation = CodepointFlags(rawValue: 0x0020)  // \p{P}
    static let symbol = CodepointFlags(rawValue: 0x0040)  // \p{S}
    static let control = CodepointFlags(rawValue: 0x0080)  // \p{C} except Cn
    static let whitespace = CodepointFlags(rawValue: 0x0100)  // \s (llama.cpp's list)

    /// Flags of a position outside the current piece: no class at all (llama.cpp's `flags{}`).
    static let outside = CodepointFlags([])

    var isNumber: Bool { contains(.number) }
    var isLetter: Bool { contains(.letter) }
    var isWhitespace: Bool { contains(.whitespace) }
    var isMark: Bool { contains(.mark) }
    var isPunctuation: Bool { contains(.punctuation) }
    /// True for every code point inside the piece (each has a class), false outside it.
    var isInside: Bool { rawValue != 0 }

    static func of(_ codepoint: UInt32) -> CodepointFlags {
        guard codepoint < 0x10000 else { return compute(codepoint) }
        let cached = basicPlaneFlags[Int(codepoint)]
        if cached != notComputed { return CodepointFlags(rawValue: cached) }
        let flags = compute(codepoint)
        basicPlaneFlags[Int(codepoint)] = flags.rawValue
        return flags
    }

    /// llama.cpp's `unicode_set_whitespace`.
    static let whitespaceCodepoints: Set<UInt32> = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ]

    static func compute(_ codepoint: UInt32) -> CodepointFlags {
        var flags: CodepointFlags
        if let scalar = Unicode.Scalar(codepoint) {
            let properties = scalar.properties
            if let age = properties.age, age.major > 15 || (age.major == 15 && age.minor > 1) {
                flags = .undefined
            } else {
                switch properties.generalCategory {
                case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                    flags = .letter
                case .nonspacingMark, .spacingMark, .enclosingMark:
                    flags = .mark
                case .decimalNumber, .letterNumber, .otherNumber:
                    flags = .number
                case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                     .initialPunctuation, .finalPunctuation, .otherPunctuation:
                    flags = .punctuation
                case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                    flags = .symbol
                case .spaceSeparator, .lineSeparator, .paragraphSeparator:
                    flags = .separator
                case .control, .format, .surrogate, .privateUse:
                    flags = .control
                case .unassigned:
                    flags = .undefined
                @unknown default:
                    flags = .undefined
                }
            }
        } else if codepoint >= 0xD800 && codepoint <= 0xDFFF {
            flags = .control  // surrogates (Cs); cannot occur in a Swift String
        } else {
            flags = .undefined
        }
        if whitespaceCodepoints.contains(codepoint) { flags.insert(.whitespace) }
        return flags
    }
}

/// Flags of U+0000…U+FFFF, computed once on first use.
/// Flags of the basic multilingual plane, computed on first use of each code point (computing all
/// 65,536 up front cost ~40 ms of start-up). Concurrent first uses may both compute and store the
/// same value; an aligned 16-bit store of an identical value is harmless.
nonisolated(unsafe) private let basicPlaneFlags: UnsafeMutablePointer<UInt16> = {
    let table = UnsafeMutablePointer<UInt16>.allocate(capacity: 0x10000)
    table.initialize(repeating: notComputed, count: 0x10000)
    return table
}()
private let notComputed: UInt16 = 0xFFFF

/// GPT-2's byte-level alphabet (llama.cpp `unicode_byte_to_utf8_map`): printable Latin-1 bytes
/// stand for themselves, the other 68 bytes map to U+0100… in byte order.
enum ByteLevel {
    /// Code point that stands for each byte.
    static let codepointOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte a code point stands for, or nil if it is not in the alphabet (`byteOfCodepoint[cp]`
    /// for cp < 324).
    static let byteOfCodepoint: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, codepoint) in codepointOfByte.enumerated() { table[Int(codepoint)] = Int16(byte) }
        return table
    }()

    /// UTF-8 of the character standing for `byte` (1 or 2 bytes).
    static let utf8OfByte: [[UInt8]] = codepointOfByte.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// Maps a byte-level token text back to raw bytes; characters outside the alphabet are kept as
    /// their UTF-8 (llama.cpp writes an `[UNK_BYTE_…]` marker there instead).
    /// Appends the bytes `text` (byte-level alphabet, UTF-8) stands for to `out`, without
    /// intermediate allocations. Invalid UTF-8 is copied through unchanged.
    static func decode(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var i = 0
        while i < text.count {
            let b0 = text[i]
            // Byte-level alphabet code points are < 324: one or two UTF-8 bytes.
            if b0 < 0x80 {
                let mapped = byteOfCodepoint[Int(b0)]
                if mapped >= 0 { out.append(UInt8(mapped)) } else { out.append(b0) }
                i += 1
            } else if b0 & 0xE0 == 0xC0, i + 1 < text.count, text[i + 1] & 0xC0 == 0x80 {
                let value = Int(b0 & 0x1F) << 6 | Int(text[i + 1] & 0x3F)
                if value < 324, byteOfCodepoint[value] >= 0 {
                    out.append(UInt8(byteOfCodepoint[value]))
                } else {
                    out.append(b0); out.append(text[i + 1])
                }
                i += 2
            } else {
                out.append(b0)  // part of a longer character: not in the alphabet, keep as is
                i += 1
            }
        }
    }
}
