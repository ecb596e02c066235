/// Splits text into words before BPE, as llama.cpp's `unicode_regex_split` does for each
/// `tokenizer.ggml.pre` (llama-vocab.cpp `llm_tokenizer_bpe`): a list of regexes, each applied to
/// every piece the previous one left, keeping both matches and the text between them.
///
/// The regexes are implemented by hand over code points. The GPT-2 and Llama-3/Qwen2 patterns are
/// line-by-line ports of llama.cpp's own scanners (`unicode_regex_split_custom_*`), which are the
/// reference; the remaining patterns are simple enough to state as a class and a repetition.
struct PreTokenizer: Sendable {
    /// One regex of the list.
    enum Step: Sendable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
        case gpt2
        /// `(?i:'s|…)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
        /// `marksAsLetters` adds `\p{M}` to the letter class (Qwen3.5).
        case llama3(maxDigits: Int, marksAsLetters: Bool)
        /// `[class]+` when `run`, else `[class]` (each code point its own piece).
        case isolate(CharClass, run: Bool)
        /// `\s?[class]+`
        case optionalSpaceThenRun(CharClass)
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriples
        /// `\s+$`
        case trailingWhitespace
    }

    enum CharClass: Sendable {
        case number, letter, punctuation
        /// `[\p{P}` + listed ASCII symbols `]`
        case punctuationOr([UInt32])
        /// `[\r\n]`
        case newline
        case ranges([ClosedRange<UInt32>])

        func contains(_ codepoint: UInt32, _ flags: CodepointFlags) -> Bool {
            switch self {
            case .number: return flags.isNumber
            case .letter: return flags.isLetter
            case .punctuation: return flags.isPunctuation
            case let .punctuationOr(extra): return flags.isPunctuation || extra.contains(codepoint)
            case .newline: return codepoint == 0x0A || codepoint == 0x0D
            case let .ranges(ranges): return ranges.contains { $0.contains(codepoint) }
            }
        }
    }

    let name: String
    let steps: [Step]
    /// Look the whole word up before merging (llama.cpp `ignore_merges`).
    let ignoreMerges: Bool
    /// Default for `add_bos_token` when the metadata does not say (llama.cpp sets it for Llama 3).
    let addsBOSByDefault: Bool
    /// The BOS id is cleared whatever the metadata says (ChatGLM).
    let hasNoBOS: Bool

    // MARK: - Catalogue (llama-vocab.cpp `load`: tokenizer_pre → pre_type → regex_exprs)

    private static let gpt2Names = ["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                                    "a.x-4.0", "mellum", "modern-bert", "mpt", "olmo", "jais", "exaone4", "trillion",
                                    "granite-docling"]
    private static let llama3Names = ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
                                      "lfm2", "jina-v5-nano"]
    private static let qwen2Names = ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2"]
    private static let starcoderNames = ["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                                         "minerva-7b", "mellum2"]
    private static let otherNames = ["default", "dbrx", "smaug-bpe", "chatglm-bpe", "glm4", "glm5", "qwen35", "falcon",
                                     "deepseek-llm", "deepseek-coder"]

    static var supportedNames: [String] {
        (otherNames + gpt2Names + llama3Names + qwen2Names + starcoderNames).sorted()
    }

    /// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre` = `name` ("" means default), or nil.
    static func named(_ name: String) -> PreTokenizer? {
        let cjk: [ClosedRange<UInt32>] = [0x4E00...0x9FA5, 0x0800...0x4E00, 0xAC00...0xD7FF]
        func make(_ steps: [Step], ignoreMerges: Bool = false, bos: Bool = false, noBOS: Bool = false) -> PreTokenizer {
            PreTokenizer(name: name, steps: steps, ignoreMerges: ignoreMerges, addsBOSByDefault: bos, hasNoBOS: noBOS)
        }
        switch name {
        case "", "default":
            return make([.isolate(.punctuationOr([0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C]), run: true), .gpt2,
                         .isolate(.number, run: true), .asciiDigitTriples])
        case _ where llama3Names.contains(name):
            return make([.llama3(maxDigits: 3, marksAsLetters: false)], ignoreMerges: true, bos: true)
        case "dbrx", "smaug-bpe":
            return make([.llama3(maxDigits: 3, marksAsLetters: false)])
        case "chatglm-bpe":
            return make([.llama3(maxDigits: 3, marksAsLetters: false)], noBOS: true)
        case "glm4", "glm5":
            return make([.llama3(maxDigits: 3, marksAsLetters: false)], ignoreMerges: true, noBOS: true)
        case _ where qwen2Names.contains(name):
            return make([.llama3(maxDigits: 1, marksAsLetters: false)])
        case "qwen35":
            return make([.llama3(maxDigits: 1, marksAsLetters: true)])
        case _ where starcoderNames.contains(name):
            return make([.isolate(.number, run: false), .gpt2])
        case _ where gpt2Names.contains(name):
            return make([.gpt2])
        case "falcon":
            return make([.isolate(.punctuationOr([0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C, 0x60]), run: true),
                         .gpt2, .asciiDigitTriples])
        case "deepseek-coder":
            return make([.isolate(.newline, run: false), .optionalSpaceThenRun(.letter),
                         .optionalSpaceThenRun(.punctuation), .isolate(.ranges(cjk), run: true),
                         .isolate(.number, run: false)])
        case "deepseek-llm":
            let punctuation: [ClosedRange<UInt32>] = [0x21...0x2F, 0x3A...0x7E, 0xFF01...0xFF0F, 0xFF1A...0xFF5E,
                                                      0x2018...0x201F, 0x3000...0x3002]
            return make([.isolate(.newline, run: false), .optionalSpaceThenRun(.ranges(deepseekLetters)),
                         .optionalSpaceThenRun(.ranges(punctuation)), .trailingWhitespace,
                         .isolate(.ranges(cjk), run: true), .isolate(.number, run: true)])
        default:
            return nil
        }
    }

    // MARK: - Splitting

    /// Word lengths, in code points, covering `codepoints` in order.
    func split(_ codepoints: [UInt32], _ flags: [CodepointFlags]) -> [Int] {
        var pieces = codepoints.isEmpty ? [] : [codepoints.count]
        for step in steps {
            var out = [Int]()
            out.reserveCapacity(pieces.count * 2)
            var start = 0
            for length in pieces {
                let scanner = Scanner(codepoints: codepoints, flags: flags, start: start, end: start + length)
                switch step {
                case .gpt2: scanner.gpt2(into: &out)
                case let .llama3(maxDigits, marks): scanner.llama3(maxDigits: maxDigits, marksAsLetters: marks, into: &out)
                case let .isolate(charClass, run): scanner.isolate(charClass, run: run, into: &out)
                case let .optionalSpaceThenRun(charClass): scanner.optionalSpaceThenRun(charClass, into: &out)
                case .asciiDigitTriples: scanner.asciiDigitTriples(into: &out)
                case .trailingWhitespace: scanner.trailingWhitespace(into: &out)
                }
                start += length
            }
            pieces = out
        }
        return pieces
    }
}

/// Scans one piece `start ..< end`; positions outside it read as `outOfRange` with no flags.
private struct Scanner {
    let codepoints: [UInt32]
    let flags: [CodepointFlags]
    let start: Int
    let end: Int

    static let outOfRange: UInt32 = 0xFFFF_FFFF

    @inline(__always) func cpt(_ pos: Int) -> UInt32 { pos >= start && pos < end ? codepoints[pos] : Self.outOfRange }
    @inline(__always) func flag(_ pos: Int) -> CodepointFlags { pos >= start && pos < end ? flags[pos] : .outside }

    /// Appends the piece from the previous cut to `cut` (if non-empty); returns its length.
    @inline(__always) @discardableResult
    func add(_ cut: Int, _ previous: inout Int, _ out: inout [Int]) -> Int {
        let length = cut - previous
        if length > 0 { out.append(length) }
        previous = cut
        return length
    }

    @inline(__always) private static func lower(_ c: UInt32) -> UInt32 {
        (0x41...0x5A).contains(c) ? c + 0x20 : c
    }

    /// llama.cpp `unicode_regex_split_custom_gpt2`.
    func gpt2(into out: inout [Int]) {
        var previous = start
        var pos = start
        while pos < end {
            let c = cpt(pos)
            let f = flag(pos)
            // 's|'t|'re|'ve|'m|'ll|'d
            if c == 0x27 && pos + 1 < end {
                let next = cpt(pos + 1)
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {
                    pos += add(pos + 2, &previous, &out)
                    continue
                }
                if pos + 2 < end {
                    let nextNext = cpt(pos + 2)
                    if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65) || (next == 0x6C && nextNext == 0x6C) {
                        pos += add(pos + 3, &previous, &out)
                        continue
                    }
                }
            }
            var f2 = c == 0x20 ? flag(pos + 1) : f
            // <space>?\p{L}+
            if f2.isLetter {
                if c == 0x20 { pos += 1 }
                while f2.isLetter { pos += 1; f2 = flag(pos) }
                add(pos, &previous, &out)
                continue
            }
            // <space>?\p{N}+
            if f2.isNumber {
                if c == 0x20 { pos += 1 }
                while f2.isNumber { pos += 1; f2 = flag(pos) }
                add(pos, &previous, &out)
                continue
            }
            // <space>?[^\s\p{L}\p{N}]+
            if !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isInside {
                if c == 0x20 { pos += 1 }
                while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isInside { pos += 1; f2 = flag(pos) }
                add(pos, &previous, &out)
                continue
            }
            var whitespaceCount = 0
            while flag(pos + whitespaceCount).isWhitespace { whitespaceCount += 1 }
            // \s+(?!\S)
            if whitespaceCount > 1 && cpt(pos + whitespaceCount) != Self.outOfRange {
                pos += whitespaceCount - 1
                add(pos, &previous, &out)
                continue
            }
            // \s+
            if whitespaceCount > 0 {
                pos += whitespaceCount
                add(pos, &previous, &out)
                continue
            }
            pos += 1
            add(pos, &previous, &out)
        }
    }

    /// llama.cpp `unicode_regex_split_custom_llama3` (maxDigits 3), `_qwen2` (1), `_qwen35` (1, marks).
    func llama3(maxDigits: Int, marksAsLetters: Bool, into out: inout [Int]) {
        @inline(__always) func isWordChar(_ f: CodepointFlags) -> Bool { f.isLetter || (marksAsLetters && f.isMark) }
        var previous = start
        var pos = start
        while pos < end {
            let c = cpt(pos)
            let f = flag(pos)
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == 0x27 && pos + 1 < end {
                let next = Self.lower(cpt(pos + 1))
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {
                    pos += add(pos + 2, &previous, &out)
                    continue
                }
                if pos + 2 < end {
                    let nextNext = Self.lower(cpt(pos + 2))
                    if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65) || (next == 0x6C && nextNext == 0x6C) {
                        pos += add(pos + 3, &previous, &out)
                        continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || f.isNumber) {
                if isWordChar(f) || isWordChar(flag(pos + 1)) {
                    pos += 1
                    while isWordChar(flag(pos)) { pos += 1 }
                    add(pos, &previous, &out)
                    continue
                }
            }
            // \p{N}{1,maxDigits}
            if f.isNumber {
                var first = pos
                while flag(pos).isNumber {
                    pos += 1
                    if pos - first >= maxDigits {
                        add(pos, &previous, &out)
                        first = pos
                    }
                }
                add(pos, &previous, &out)
                continue
            }
            // <space>?[^\s\p{L}\p{N}]+[\r\n]*
            var f2 = c == 0x20 ? flag(pos + 1) : f
            if !(f2.isWhitespace || isWordChar(f2) || f2.isNumber) && f.isInside {
                if c == 0x20 { pos += 1 }
                while !(f2.isWhitespace || isWordChar(f2) || f2.isNumber) && f2.isInside { pos += 1; f2 = flag(pos) }
                var c2 = cpt(pos)
                while c2 == 0x0D || c2 == 0x0A { pos += 1; c2 = cpt(pos) }
                add(pos, &previous, &out)
                continue
            }
            var whitespaceCount = 0
            var lastNewlineEnd = 0
            while flag(pos + whitespaceCount).isWhitespace {
                let c2 = cpt(pos + whitespaceCount)
                if c2 == 0x0D || c2 == 0x0A { lastNewlineEnd = pos + whitespaceCount + 1 }
                whitespaceCount += 1
            }
            // \s*[\r\n]+
            if lastNewlineEnd > 0 {
                pos = lastNewlineEnd
                add(pos, &previous, &out)
                continue
            }
            // \s+(?!\S)
            if whitespaceCount > 1 && cpt(pos + whitespaceCount) != Self.outOfRange {
                pos += whitespaceCount - 1
                add(pos, &previous, &out)
                continue
            }
            // \s+
            if whitespaceCount > 0 {
                pos += whitespaceCount
                add(pos, &previous, &out)
                continue
            }
            pos += 1
            add(pos, &previous, &out)
        }
    }

    /// `[class]+` or `[class]`: matches and the gaps between them become pieces.
    func isolate(_ charClass: PreTokenizer.CharClass, run: Bool, into out: inout [Int]) {
        var previous = start
        var pos = start
        while pos < end {
            guard charClass.contains(codepoints[pos], flags[pos]) else { pos += 1; continue }
            add(pos, &previous, &out)
            pos += 1
            if run { while pos < end && charClass.contains(codepoints[pos], flags[pos]) { pos += 1 } }
            add(pos, &previous, &out)
        }
        add(end, &previous, &out)
    }

    /// `\s?[class]+`
    func optionalSpaceThenRun(_ charClass: PreTokenizer.CharClass, into out: inout [Int]) {
        var previous = start
        var pos = start
        while pos < end {
            let matchStart = pos
            if flags[pos].isWhitespace && pos + 1 < end && charClass.contains(codepoints[pos + 1], flags[pos + 1]) {
                pos += 1
            } else if !charClass.contains(codepoints[pos], flags[pos]) {
                pos += 1
                continue
            }
            while pos < end && charClass.contains(codepoints[pos], flags[pos]) { pos += 1 }
            add(matchStart, &previous, &out)
            add(pos, &previous, &out)
        }
        add(end, &previous, &out)
    }

    /// `[0-9][0-9][0-9]`
    func asciiDigitTriples(into out: inout [Int]) {
        @inline(__always) func digit(_ p: Int) -> Bool { p < end && (0x30...0x39).contains(codepoints[p]) }
        var previous = start
        var pos = start
        while pos < end {
            if digit(pos) && digit(pos + 1) && digit(pos + 2) {
                add(pos, &previous, &out)
                pos += 3
                add(pos, &previous, &out)
            } else {
                pos += 1
            }
        }
        add(end, &previous, &out)
    }

    /// `\s+$`
    func trailingWhitespace(into out: inout [Int]) {
        var cut = end
        while cut > start && flags[cut - 1].isWhitespace { cut -= 1 }
        var previous = start
        add(cut, &previous, &out)
        add(end, &previous, &out)
    }
}

/// The letter class of the deepseek-llm pre-tokenizer (a literal list in llama-vocab.cpp).
private let deepseekLetters: [ClosedRange<UInt32>] = [
    0x41...0x5A, 0x61...0x7A, 0xB5...0xB5, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x1BA, 0x1BC...0x1BF, 0x1C4...0x293,
    0x295...0x2AF, 0x370...0x373, 0x376...0x377, 0x37B...0x37D, 0x37F...0x37F, 0x386...0x386, 0x388...0x38A,
    0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3F5, 0x3F7...0x481, 0x48A...0x52F, 0x531...0x556, 0x10A0...0x10C5,
    0x13A0...0x13F5, 0x13F8...0x13FD, 0x1C90...0x1CBA, 0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77,
    0x1D79...0x1D9A, 0x1E00...0x1F15, 0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57,
    0x1F59...0x1F59, 0x1F5B...0x1F5B, 0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4, 0x1FB6...0x1FBC,
    0x1FBE...0x1FBE, 0x1FC2...0x1FC4, 0x1FC6...0x1FCC, 0x1FD0...0x1FD3, 0x1FD6...0x1FDB, 0x1FE0...0x1FEC,
    0x1FF2...0x1FF4, 0x1FF6...0x1FFC, 0x2102...0x2102, 0x2107...0x2107, 0x210A...0x2113, 0x2115...0x2115,
    0x2119...0x211D, 0x2124...0x2124, 0x2126...0x2126, 0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134,
    0x2139...0x2139, 0x213C...0x213F, 0x2145...0x2149, 0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B,
    0x2C7E...0x2CE4, 0x2CEB...0x2CEE, 0x2CF2...0x2CF3, 0xA640...0xA66D, 0xA680...0xA69B, 0xA722...0xA76F,
    0xA771...0xA787, 0xA78B...0xA78E, 0xAB70...0xABBF, 0xFB00...0xFB06, 0xFB13...0xFB17, 0xFF21...0xFF3A,
    0xFF41...0xFF5A, 0x10400...0x1044F, 0x104B0...0x104D3, 0x104D8...0x104FB, 0x10C80...0x10CB2, 0x10CC0...0x10CF2,
    0x118A0...0x118DF, 0x1E900...0x1E943,
]
