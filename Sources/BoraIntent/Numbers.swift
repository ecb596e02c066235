/// Number words 0…99 and the built-in slot types (`pv.*`) as spoken forms with normalized values.
enum Numbers {
    static let units = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                        "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                        "eighteen", "nineteen"]
    static let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

    /// Spoken words for 0…100 ("twenty one" → ["twenty", "one"]).
    static func words(_ n: Int) -> [String] {
        if n < 20 { return [units[n]] }
        if n == 100 { return ["one", "hundred"] }
        return n % 10 == 0 ? [tens[n / 10]] : [tens[n / 10], units[n % 10]]
    }

    /// The ways Whisper may write a number as word sequences: words, hyphenated, digits.
    static func spokenForms(_ n: Int) -> [[String]] {
        let w = words(n)
        var forms = [w]
        if w.count == 2 && n < 100 { forms.append([w.joined(separator: "-")]) }
        forms.append([String(n)])
        return forms
    }

    /// Parses a number phrase at the start of `words` (lowercased): returns its value and length.
    static func parse(_ words: ArraySlice<String>) -> (value: Int, count: Int)? {
        guard let first = words.first?.lowercased() else { return nil }
        if let n = Int(first), n >= 0, n < 100, first.allSatisfy({ $0.isASCII }) { return (n, 1) }
        let hyphen = first.split(separator: "-").map(String.init)
        if hyphen.count == 2, let t = tens.firstIndex(of: hyphen[0]), t >= 2,
           let u = units.firstIndex(of: hyphen[1]), u >= 1, u <= 9 { return (t * 10 + u, 1) }
        if let u = units.firstIndex(of: first) { return (u, 1) }
        if let t = tens.firstIndex(of: first), t >= 2 {
            if words.count > 1, let u = units.firstIndex(of: words[words.startIndex + 1].lowercased()), u >= 1, u <= 9 {
                return (t * 10 + u, 2)
            }
            return (t * 10, 1)
        }
        return nil
    }

    /// Replaces runs of number words or digits in plain word runs with `.number` elements, recursively.
    static func markNumbers(_ sequence: [ExpressionElement]) -> [ExpressionElement] {
        var out: [ExpressionElement] = []
        var i = 0
        while i < sequence.count {
            switch sequence[i] {
            case .word:
                var run: [String] = []
                var j = i
                while j < sequence.count, case .word(let w) = sequence[j] { run.append(w); j += 1 }
                var k = 0
                while k < run.count {
                    if let (value, count) = parse(run[k...]) {
                        out.append(.number(written: Array(run[k..<k + count]), value: value)); k += count
                    } else {
                        out.append(.word(run[k])); k += 1
                    }
                }
                i = j
            case .choice(let alternatives): out.append(.choice(alternatives.map(markNumbers))); i += 1
            case .optional(let alternatives): out.append(.optional(alternatives.map(markNumbers))); i += 1
            default: out.append(sequence[i]); i += 1
            }
        }
        return out
    }

    static let nato = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
                       "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
                       "uniform", "victor", "whiskey", "x-ray", "yankee", "zulu"]
}

/// A built-in slot type: values with their spoken forms (each a word sequence) and normalized value.
struct BuiltinSlot {
    struct Value { let normalized: String; let canonical: [String]; let forms: [[String]] }
    let values: [Value]

    static let names = ["pv.SingleDigitInteger", "pv.TwoDigitInteger", "pv.Percent", "pv.Alphabetic"]

    static func named(_ name: String) -> BuiltinSlot? {
        switch name {
        case "pv.SingleDigitInteger":
            return BuiltinSlot(values: (0...9).map { Value(normalized: String($0), canonical: Numbers.words($0), forms: Numbers.spokenForms($0)) })
        case "pv.TwoDigitInteger":
            return BuiltinSlot(values: (0...99).map { Value(normalized: String($0), canonical: Numbers.words($0), forms: Numbers.spokenForms($0)) })
        case "pv.Percent":
            return BuiltinSlot(values: (0...100).map { n in
                var forms: [[String]] = []
                let numberForms = n == 100 ? [["one", "hundred"], ["a", "hundred"], ["100"]] : Numbers.spokenForms(n)
                for f in numberForms {
                    forms.append(f + ["percent"])
                    forms.append(f + ["per", "cent"])
                }
                forms.append(["\(n)%"])
                return Value(normalized: "\(n)%", canonical: Numbers.words(n) + ["percent"], forms: forms)
            })
        case "pv.Alphabetic":
            return BuiltinSlot(values: (0..<26).map { i in
                let letter = String(UnicodeScalar(UInt8(65 + i)))
                return Value(normalized: letter, canonical: [letter], forms: [[letter], [Numbers.nato[i]]])
            })
        default: return nil
        }
    }
}
