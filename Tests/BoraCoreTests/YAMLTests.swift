import BoraCore
import Foundation
import Testing

/// The repository root (Tests/BoraCoreTests/ is two levels down).
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A string as Python's `json.dumps(ensure_ascii=False)` writes it.
private func pythonJSON(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// A node in the golden files' convention (tools/fixtures/yaml_golden.py): scalars as text,
/// YAML nulls as null, `json.dumps(indent=2)` layout.
private func render(_ node: YAMLNode?, _ level: Int) -> String {
    guard let node else { return "null" }
    let pad = String(repeating: "  ", count: level + 1), close = String(repeating: "  ", count: level)
    switch node.content {
    case .scalar(let text, _):
        return node.isNull ? "null" : pythonJSON(text)
    case .sequence(let items):
        if items.isEmpty { return "[]" }
        return "[\n" + items.map { pad + render($0, level + 1) }.joined(separator: ",\n") + "\n" + close + "]"
    case .mapping(let pairs):
        if pairs.isEmpty { return "{}" }
        return "{\n" + pairs.map { pad + pythonJSON($0.key.string ?? "?") + ": " + render($0.value, level + 1) }.joined(separator: ",\n")
            + "\n" + close + "}"
    }
}

private func marks(_ node: YAMLNode, into out: inout [String]) {
    let at = "\(node.line):\(node.column) "
    switch node.content {
    case .scalar(_, let style):
        out.append(at + (style == .plain ? "plain" : style == .singleQuoted ? "single" : "double"))
    case .sequence(let items):
        out.append(at + "seq")
        for item in items { marks(item, into: &out) }
    case .mapping(let pairs):
        out.append(at + "map")
        for pair in pairs { marks(pair.key, into: &out); marks(pair.value, into: &out) }
    }
}

private func golden(source: String, _ root: YAMLNode?) -> String {
    var list: [String] = []
    if let root { marks(root, into: &list) }
    let marksText = list.isEmpty ? "[]" : "[\n" + list.map { "    " + pythonJSON($0) }.joined(separator: ",\n") + "\n  ]"
    return "{\n  \"source\": \(pythonJSON(source)),\n  \"value\": \(render(root, 1)),\n  \"marks\": \(marksText)\n}\n"
}

/// Every golden file (`*.expected.json` under Tests/Fixtures/yaml).
private let goldenFiles: [String] = {
    let base = repositoryRoot.appendingPathComponent("Tests/Fixtures/yaml").path
    let all = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
    return all.filter { $0.hasSuffix(".expected.json") }.sorted().map { base + "/" + $0 }
}()

private func parseError(_ text: String, maxDepth: Int = YAML.maximumDepth) -> YAMLError? {
    do { _ = try YAML.parse(text, maxDepth: maxDepth); return nil } catch { return error }
}

@Suite struct YAMLTests {
    @Test func goldenFilesAreFound() {
        // Models/contexts (5) + Models/actions (1) + seeds + Tests/Fixtures/yaml feature files.
        #expect(goldenFiles.count >= 60, "\(goldenFiles.count) goldens; run tools/fixtures/yaml_golden.py")
    }

    /// Each supported file reads exactly as PyYAML reads it: values, key order, quoting styles
    /// and every node's line and column.
    @Test(arguments: goldenFiles) func matchesPyYAML(_ goldenPath: String) throws {
        let expected = try String(contentsOfFile: goldenPath, encoding: .utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(expected.utf8)) as? [String: Any])
        let source = try #require(object["source"] as? String)
        let text = try String(contentsOfFile: repositoryRoot.appendingPathComponent(source).path, encoding: .utf8)
        let root = try YAML.parse(text)
        let got = golden(source: source, root)
        #expect(got == expected, "\(source): the reader disagrees with PyYAML")
        if got != expected {
            let a = got.split(separator: "\n", omittingEmptySubsequences: false), b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            for k in 0..<min(a.count, b.count) where a[k] != b[k] {
                Issue.record("first difference at line \(k + 1): got \(a[k]) expected \(b[k])")
                break
            }
        }
    }

    struct Rejection: CustomStringConvertible, Sendable {
        let label: String, yaml: String, kind: YAMLError.Kind, line: Int, column: Int
        var description: String { label }
    }

    /// Malformed YAML (PyYAML rejects these too; positions as PyYAML reports them unless noted).
    static let malformed: [Rejection] = [
        Rejection(label: "unclosed double quote", yaml: "context:\n  expressions:\n    a:\n      - \"unterminated\n", kind: .syntax, line: 5, column: 1),
        Rejection(label: "unclosed single quote", yaml: "a: 'abc\n", kind: .syntax, line: 2, column: 1),
        Rejection(label: "unclosed [", yaml: "actions: [\n", kind: .syntax, line: 2, column: 1),
        Rejection(label: "unclosed {", yaml: "a: {b: c", kind: .syntax, line: 1, column: 9),
        Rejection(label: "nested unclosed [", yaml: "a: [[[[", kind: .syntax, line: 1, column: 8),
        Rejection(label: "dedented key", yaml: "a:\n  b: 1\n c: 2", kind: .syntax, line: 3, column: 2),
        Rejection(label: "dedented item", yaml: "a:\n  - b\n - c", kind: .syntax, line: 3, column: 2),
        Rejection(label: "item after root list", yaml: "- a\nb: c", kind: .syntax, line: 2, column: 1),
        Rejection(label: "key after nested list", yaml: "a:\n  - x\n  b: y", kind: .syntax, line: 3, column: 3),
        Rejection(label: "mapping in a value", yaml: "a: b: c", kind: .syntax, line: 1, column: 5),
        Rejection(label: "list on the key line", yaml: "a: - b", kind: .syntax, line: 1, column: 4),
        Rejection(label: "text after a quoted value", yaml: "a: \"x\" y", kind: .syntax, line: 1, column: 8),
        Rejection(label: "text after a flow value", yaml: "a: [b] c", kind: .syntax, line: 1, column: 8),
        Rejection(label: "reserved @", yaml: "key: @x", kind: .syntax, line: 1, column: 6),
        Rejection(label: "reserved backtick", yaml: "key: `x", kind: .syntax, line: 1, column: 6),
        Rejection(label: "tab indentation", yaml: "a:\n\t- b", kind: .syntax, line: 2, column: 1),
        Rejection(label: "tab indentation in flow", yaml: "a: [b,\n\tc]", kind: .syntax, line: 2, column: 1),
        // PyYAML points at the escape letter (1:6); Bora at its backslash.
        Rejection(label: "unknown escape", yaml: "a: \"\\q\"", kind: .syntax, line: 1, column: 5),
        Rejection(label: "short \\u escape", yaml: "a: \"\\u12\"", kind: .syntax, line: 1, column: 9),
        Rejection(label: "empty flow item", yaml: "a: [ , b]", kind: .syntax, line: 1, column: 6),
        Rejection(label: "missing comma", yaml: "[a\n# x\n b]", kind: .syntax, line: 3, column: 2),
        Rejection(label: "indented after a comment", yaml: "- a\n  # c\n  - b", kind: .syntax, line: 3, column: 3),
        Rejection(label: "indented after a trailing comment", yaml: "a: b # x\n  c: d", kind: .syntax, line: 2, column: 3),
        Rejection(label: "':' starting a flow value", yaml: "[1, :2]", kind: .syntax, line: 1, column: 5),
        Rejection(label: "'?' inside a flow value", yaml: "[b?, c]", kind: .syntax, line: 1, column: 3),
        Rejection(label: "multi-line key", yaml: "\"a\nb\": c", kind: .syntax, line: 2, column: 3),
        Rejection(label: "NUL byte", yaml: "a: b\0", kind: .syntax, line: 1, column: 5),
        // PyYAML reports a missing ':' where it notices it, on the next line (3:1).
        Rejection(label: "key without colon", yaml: "a: 1\nb\n", kind: .syntax, line: 2, column: 2),
    ]

    /// Valid YAML outside the subset: each is refused with the feature named, never read otherwise.
    static let unsupported: [Rejection] = [
        Rejection(label: "anchor", yaml: "a: &x b\nc: *x\n", kind: .unsupported("anchor"), line: 1, column: 4),
        Rejection(label: "alias", yaml: "a: [*x]\n", kind: .unsupported("alias"), line: 1, column: 5),
        Rejection(label: "tag", yaml: "a: !!str 5\n", kind: .unsupported("tag"), line: 1, column: 4),
        Rejection(label: "literal block scalar", yaml: "a: |\n  text\n", kind: .unsupported("block scalar"), line: 1, column: 4),
        Rejection(label: "folded block scalar", yaml: "- >\n  text\n", kind: .unsupported("block scalar"), line: 1, column: 3),
        Rejection(label: "complex key", yaml: "? a\n: b\n", kind: .unsupported("complex key"), line: 1, column: 1),
        Rejection(label: "'?' key in flow", yaml: "[?d, e]", kind: .unsupported("complex key"), line: 1, column: 2),
        Rejection(label: "flow key", yaml: "[a]: b\n", kind: .unsupported("complex key"), line: 1, column: 1),
        Rejection(label: "flow key in flow", yaml: "{[a]: b}\n", kind: .unsupported("complex key"), line: 1, column: 2),
        Rejection(label: "multi-line flow key", yaml: "x: 1\n[a,\n b]: c\n", kind: .unsupported("complex key"), line: 2, column: 1),
        Rejection(label: "multi-line flow key in a list", yaml: "[[a,\n b]: c]\n", kind: .unsupported("complex key"), line: 1, column: 2),
        Rejection(label: "directive", yaml: "%YAML 1.1\n---\na: b\n", kind: .unsupported("directive"), line: 1, column: 1),
        Rejection(label: "second document", yaml: "a: b\n---\nc: d\n", kind: .unsupported("multiple documents"), line: 2, column: 1),
        Rejection(label: "second document after end", yaml: "a: b\n...\n---\nc: d\n", kind: .unsupported("multiple documents"), line: 3, column: 1),
        Rejection(label: "merge key", yaml: "<<: {a: b}\nc: d\n", kind: .unsupported("merge key"), line: 1, column: 1),
        Rejection(label: "plain continued (block)", yaml: "a: b\n  c\n", kind: .unsupported("multi-line plain scalar"), line: 2, column: 3),
        Rejection(label: "plain continued (item)", yaml: "- a\n  - b\n", kind: .unsupported("multi-line plain scalar"), line: 2, column: 3),
        Rejection(label: "plain continued (root)", yaml: "hello\nworld\n", kind: .unsupported("multi-line plain scalar"), line: 2, column: 1),
        Rejection(label: "plain continued (flow)", yaml: "[a\n b]\n", kind: .unsupported("multi-line plain scalar"), line: 2, column: 2),
        Rejection(label: "line separator", yaml: "a: b\u{2028}c\n", kind: .unsupported("line separator"), line: 1, column: 5),
    ]

    @Test(arguments: malformed + unsupported) func refused(_ r: Rejection) throws {
        let error = try #require(parseError(r.yaml), "\(r.label) was accepted")
        #expect(error.kind == r.kind, "\(r.label): \(error)")
        #expect(error.line == r.line && error.column == r.column, "\(r.label): \(error)")
        #expect(error.description.hasPrefix("\(error.line):\(error.column): "))
        #expect(error.message.contains(";"), "\(r.label): the message says what to do: \(error.message)")
    }

    @Test func anchorSeedsAreRefused() throws {
        for seed in ["tools/fuzz/seeds/context/anchors.yaml", "tools/fuzz/seeds/actions/anchors.yaml"] {
            let text = try String(contentsOfFile: repositoryRoot.appendingPathComponent(seed).path, encoding: .utf8)
            let error = try #require(parseError(text), "\(seed) was accepted")
            #expect(error.kind == .unsupported("anchor"), "\(seed): \(error)")
        }
    }

    @Test func duplicateKeysPointAtTheSecond() throws {
        let block = try #require(parseError("a: 1\nb:\n  c: 2\n  c: 3\n"))
        #expect(block.kind == .duplicateKey("c") && block.line == 4 && block.column == 3, "\(block)")
        #expect(block.message.contains("line 3"))
        let quoted = try #require(parseError("a: 1\n\"a\": 2\n"))
        #expect(quoted.kind == .duplicateKey("a") && quoted.line == 2 && quoted.column == 1)
        let flow = try #require(parseError("{x: 1, y: 2, x: 3}"))
        #expect(flow.kind == .duplicateKey("x") && flow.line == 1 && flow.column == 14, "\(flow)")
        // The same key in different mappings is fine.
        #expect(try YAML.parse("a: {k: 1}\nb: {k: 2}\n") != nil)
    }

    @Test func nestingIsLimited() throws {
        let brackets = try #require(parseError(String(repeating: "[", count: 100_000)))
        #expect(brackets.kind == .tooDeep(64) && brackets.line == 1 && brackets.column == 65, "\(brackets)")
        #expect(brackets.message.contains("64"))
        let braces = try #require(parseError(String(repeating: "{a: ", count: 100_000)))
        #expect(braces.kind == .tooDeep(64))
        var block = ""
        for level in 0..<200 { block += String(repeating: " ", count: level) + "k:\n" }
        #expect(parseError(block)?.kind == .tooDeep(64))
        var list = ""
        for level in 0..<200 { list += String(repeating: " ", count: level * 2) + "-\n" }
        #expect(parseError(list)?.kind == .tooDeep(64))
        // 64 levels are fine; the limit can be lowered.
        let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try YAML.parse(deep) != nil)
        #expect(parseError(deep, maxDepth: 8)?.kind == .tooDeep(8))
    }

    @Test func longListsParseInLinearTime() throws {
        var block = "items:\n"
        for i in 0..<200_000 { block += "  - \"item \(i)\"\n" }
        let flow = "[" + String(repeating: "abc, ", count: 200_000) + "]"
        let clock = ContinuousClock()
        var blockRoot: YAMLNode?, flowRoot: YAMLNode?
        let elapsed = try clock.measure {
            blockRoot = try YAML.parse(block)
            flowRoot = try YAML.parse(flow)
        }
        #expect(blockRoot?["items"]?.sequence?.count == 200_000)
        #expect(blockRoot?["items"]?.sequence?.last?.string == "item 199999")
        #expect(blockRoot?["items"]?.sequence?.last?.line == 200_001)
        #expect(flowRoot?.sequence?.count == 200_000)
        #expect(flowRoot?.sequence?.last?.column == 999_997)
        // Well under a second in release; debug builds are several times slower.
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }

    @Test func accessors() throws {
        let root = try #require(try YAML.parse("a: yes\nb: 'yes'\nc:\nd: ~\ne: [1]\nf: OFF\n"))
        #expect(root["a"]?.bool == true && root["a"]?.string == "yes" && root["a"]?.scalarStyle == .plain)
        #expect(root["b"]?.bool == nil && root["b"]?.string == "yes" && root["b"]?.scalarStyle == .singleQuoted)
        #expect(root["c"]?.isNull == true && root["d"]?.isNull == true && root["b"]?.isNull == false)
        #expect(root["e"]?.sequence?.first?.string == "1" && root["e"]?.string == nil)
        #expect(root["f"]?.bool == false && root["missing"] == nil)
        #expect(root.mapping?.map { $0.key.string ?? "" } == ["a", "b", "c", "d", "e", "f"])
        #expect(try YAML.parse("") == nil && YAML.parse("# only\n\n---\n...\n") == nil)
        // CR line ends (old Mac) count as line breaks too.
        let cr = try #require(try YAML.parse("a: 1\rb: 2\r"))
        #expect(cr["b"]?.line == 2)
    }
}
