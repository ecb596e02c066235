import Testing
@testable import BoraIntent

/// A one-intent context whose only expression is `expression` (line 4; the string's first
/// character is at column 10 because `      - "` takes 9 columns).
func oneExpression(_ expression: String, slots: String = "", macros: String = "") -> String {
    """
    context:
      expressions:
        lightsOn:
          - "\(expression)"
    \(slots.isEmpty ? "" : "  slots:\n" + slots)
    \(macros.isEmpty ? "" : "  macros:\n" + macros)
    """
}

func parseError(_ yaml: String) -> ContextError? {
    do { _ = try Context.parse(yaml: yaml, name: "t.yaml"); return nil } catch { return error }
}

struct ContextParserTests {
    @Test func parsesTheIssueExample() throws {
        let yaml = """
        context:
          expressions:
            intentName:
              - "[turn on, switch on] (the) lights in $carNumber:car"
          slots:
            carNumber: ["one", "two", "three"]
          macros:
            polite: ["please", "kindly"]
        """
        let context = try Context.parse(yaml: yaml, name: "issue")
        #expect(context.intents.map(\.name) == ["intentName"])
        #expect(context.expressionCount == 1)
        #expect(context.slots["carNumber"]?.map(\.written) == ["one", "two", "three"])
        #expect(context.macroNames == ["polite"])
        let e = context.intents[0].expressions[0]
        #expect(e.line == 4 && e.column == 10)
        #expect(context.sentenceCount() == SentenceCount(count: 12, saturated: false, approximate: false))
    }

    struct ErrorCase: CustomTestStringConvertible, Sendable {
        let label: String, yaml: String, kind: ContextError.Kind, line: Int, column: Int
        var testDescription: String { label }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(label: "unknown slot type", yaml: oneExpression("turn on $color:c lights"), kind: .unknownSlotType("color"), line: 4, column: 18),
        ErrorCase(label: "unclosed [", yaml: oneExpression("[turn on lights"), kind: .unbalancedBrackets, line: 4, column: 10),
        ErrorCase(label: "stray ]", yaml: oneExpression("turn on] lights"), kind: .unbalancedBrackets, line: 4, column: 17),
        ErrorCase(label: "( closed by ]", yaml: oneExpression("turn on (the] lights"), kind: .unbalancedBrackets, line: 4, column: 22),
        ErrorCase(label: "empty expression", yaml: oneExpression(""), kind: .emptyExpression, line: 4, column: 10),
        ErrorCase(label: "empty alternative", yaml: oneExpression("[on, , off] lights"), kind: .emptyExpression, line: 4, column: 15),
        ErrorCase(label: "unknown macro", yaml: oneExpression("@polite turn on"), kind: .unknownMacro("polite"), line: 4, column: 10),
        ErrorCase(label: "only optionals", yaml: oneExpression("(please) (lights, lamps)"), kind: .onlyOptionals, line: 4, column: 10),
        ErrorCase(label: "optional-only choice", yaml: oneExpression("[(please), (now)]"), kind: .onlyOptionals, line: 4, column: 10),
        ErrorCase(label: "slot without name", yaml: oneExpression("set $pv.Percent lights"), kind: .syntax, line: 4, column: 14),
        ErrorCase(label: "comma outside brackets", yaml: oneExpression("lights, on"), kind: .syntax, line: 4, column: 16),
        ErrorCase(label: "unknown macro inside a macro", yaml: oneExpression("@polite lights", macros: "    polite: [\"@nice please\"]\n"),
                  kind: .unknownMacro("nice"), line: 7, column: 15),
        ErrorCase(label: "macro cycle", yaml: oneExpression("@a lights", macros: "    a: [\"@b\"]\n    b: [\"@a\"]\n"),
                  kind: .macroCycle("a"), line: 8, column: 10),
        ErrorCase(label: "malformed YAML", yaml: "context:\n  expressions:\n    a:\n      - \"unterminated\n", kind: .malformedYAML, line: 5, column: 1),
        ErrorCase(label: "duplicate intents", yaml: """
            context:
              expressions:
                lightsOn:
                  - "lights on"
                lightsOn:
                  - "lamps on"
            """, kind: .duplicateName("lightsOn"), line: 5, column: 5),
        ErrorCase(label: "missing expressions", yaml: "context:\n  slots:\n    a: [\"b\"]\n", kind: .structure, line: 2, column: 3),
        ErrorCase(label: "unknown section", yaml: "context:\n  expression:\n    a: [\"b\"]\n", kind: .structure, line: 2, column: 3),
        ErrorCase(label: "slot value with brackets", yaml: oneExpression("$c:x lights", slots: "    c: [\"[red, blue]\"]\n"),
                  kind: .syntax, line: 6, column: 10),
    ]

    @Test(arguments: errorCases) func reportsErrorsWithLineAndColumn(_ c: ErrorCase) throws {
        let error = try #require(parseError(c.yaml))
        #expect(error.kind == c.kind)
        #expect(error.line == c.line && error.column == c.column, "\(error.description)")
        #expect(error.description.hasPrefix("t.yaml:\(error.line):\(error.column): "))
        #expect(!error.description.contains("\n"))
    }

    @Test func macrosAndSlotsInsideChoices() throws {
        let yaml = oneExpression("(@polite) [turn, switch] on [(the) $room:room lights, everything]",
                                 slots: "    room: [\"living room\", \"kitchen\"]\n", macros: "    polite: [\"please\", \"kindly\"]\n")
        let context = try Context.parse(yaml: yaml, name: "t")
        // (1 + 2) × 2 × (2 × 2 + 1)
        #expect(context.sentenceCount().count == 30)
    }

    @Test func countsDistinctSentencesNotExpansions() throws {
        let yaml = """
        context:
          expressions:
            a:
              - "turn on"
              - "[turn, switch] on"
              - "(the) lights (on)"
            b:
              - "$pv.TwoDigitInteger:n"
              - "$pv.Percent:p"
              - "$pv.SingleDigitInteger:d $pv.Alphabetic:l"
        """
        let context = try Context.parse(yaml: yaml, name: "t")
        #expect(context.expressionCount == 6)
        // {turn on, switch on} ∪ {lights, the lights, lights on, the lights on} ∪ 100 ∪ 101 ∪ 10×26
        #expect(context.sentenceCount().count == 2 + 4 + 100 + 101 + 260)
    }

    @Test func numberWordsInUserTextAreMarked() throws {
        let context = try Context.parse(yaml: oneExpression("go to platform twenty one now"), name: "t")
        #expect(context.intents[0].expressions[0].elements == [
            .word("go"), .word("to"), .word("platform"), .number(written: ["twenty", "one"], value: 21), .word("now"),
        ])
    }
}
