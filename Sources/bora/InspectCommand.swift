import ArgumentParser
import BoraCore
import BoraGGUF

/// `bora inspect FILE [--json]`: a GGUF file's version, metadata and tensor table.
///
/// Long arrays are summarized (first few items and the count); with `--json` one JSON object
/// `{file, version, alignment, data_offset, metadata: {key: value}, tensors: [{name, shape, type,
/// offset, bytes}]}` is printed, where a long array is `{"type":"array","element_type":T,
/// "count":N,"head":[...]}` and a tensor `offset` is relative to `data_offset` (as in GGUF).
/// A malformed file throws `GGUFError` (a `BoraInputError`: exit code 3).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a GGUF file's metadata and tensors.",
        discussion: "Arrays longer than \(InspectFormat.arrayHead) items are shown as their first items and a count."
    )

    @Argument(help: "The GGUF file to inspect.")
    var file: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        let gguf = try GGUFFile(path: file, hint: .random)
        print(json ? InspectFormat.json(gguf, path: file) : InspectFormat.text(gguf, path: file), terminator: "")
    }
}

/// Rendering for `bora inspect`; pure functions of a parsed file.
enum InspectFormat {
    /// Arrays with more items than this are summarized.
    static let arrayHead = 8
    /// Strings longer than this (in characters) are shortened in the table view.
    static let stringLimit = 72

    // MARK: Text

    static func text(_ file: GGUFFile, path: String) -> String {
        var out = "\(path)\n"
        out += "GGUF v\(file.version), alignment \(file.alignment), \(grouped(file.byteCount)) bytes, "
        out += "tensor data at byte \(grouped(file.dataOffset))\n\n"

        out += "metadata (\(file.metadataKeys.count) keys)\n"
        let keyWidth = file.metadataKeys.map(\.count).max() ?? 0
        for key in file.metadataKeys {
            let value = file.metadata[key]!
            out += "  \(pad(key, keyWidth))  \(pad(typeName(value), 16))  \(textValue(value))\n"
        }

        out += "\ntensors (\(file.tensors.count))\n"
        let rows = file.tensors.map { t in
            [t.name, t.shape.map(String.init).joined(separator: " x "), t.type.description, grouped(t.byteCount)]
        }
        let header = ["name", "shape", "type", "bytes"]
        let widths = (0..<4).map { c in ([header] + rows).map { $0[c].count }.max()! }
        for row in [header] + rows {
            out += "  \(pad(row[0], widths[0]))  \(pad(row[1], widths[1]))  \(pad(row[2], widths[2]))  \(pad(row[3], widths[3], right: true))\n"
        }

        var byType: [QuantType: (count: Int, bytes: Int)] = [:]
        for t in file.tensors { byType[t.type, default: (0, 0)].count += 1; byType[t.type, default: (0, 0)].bytes += t.byteCount }
        let elements = file.tensors.reduce(0) { $0 &+ $1.elementCount }
        let bytes = file.tensors.reduce(0) { $0 &+ $1.byteCount }
        out += "\ntotal: \(file.tensors.count) tensors, \(grouped(elements)) elements, \(grouped(bytes)) bytes"
        let types = byType.sorted { $0.value.bytes > $1.value.bytes }
            .map { "\($0.key) \($0.value.count) (\(grouped($0.value.bytes)) bytes)" }
        out += types.isEmpty ? "\n" : "; " + types.joined(separator: ", ") + "\n"
        return out
    }

    static func typeName(_ value: GGUFValue) -> String {
        guard let array = value.array else { return value.type.description }
        let inner = array.first.map(typeName) ?? array.elementType.description
        return "[\(inner)] x \(array.count)"
    }

    static func textValue(_ value: GGUFValue) -> String {
        switch value {
        case let .string(s):
            let short = s.count > stringLimit ? String(s.prefix(stringLimit)) : s
            return jsonString(short) + (s.count > stringLimit ? "… (\(s.utf8.count) bytes)" : "")
        case let .array(array):
            let items = array.prefix(arrayHead).map(textValue).joined(separator: ", ")
            return array.count > arrayHead ? "[\(items), … \(array.count) items]" : "[\(items)]"
        default:
            return value.description
        }
    }

    // MARK: JSON

    static func json(_ file: GGUFFile, path: String) -> String {
        var out = "{\"file\":\(jsonString(path)),\"version\":\(file.version),\"alignment\":\(file.alignment),"
        out += "\"data_offset\":\(file.dataOffset),\"metadata\":{"
        out += file.metadataKeys.map { "\(jsonString($0)):\(jsonValue(file.metadata[$0]!))" }.joined(separator: ",")
        out += "},\"tensors\":["
        out += file.tensors.map { t in
            "{\"name\":\(jsonString(t.name)),\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],"
                + "\"type\":\"\(t.type)\",\"offset\":\(t.offset),\"bytes\":\(t.byteCount)}"
        }.joined(separator: ",")
        out += "]}\n"
        return out
    }

    static func jsonValue(_ value: GGUFValue) -> String {
        switch value {
        case let .string(s): return jsonString(s)
        case let .bool(b): return b ? "true" : "false"
        case let .float32(f): return f.isFinite ? f.description : "null"
        case let .float64(d): return d.isFinite ? d.description : "null"
        case let .array(array):
            let head = array.prefix(arrayHead).map(jsonValue).joined(separator: ",")
            guard array.count > arrayHead else { return "[\(head)]" }
            return "{\"type\":\"array\",\"element_type\":\"\(array.elementType)\",\"count\":\(array.count),\"head\":[\(head)]}"
        default:
            return value.description  // integers
        }
    }

    /// A JSON string literal (RFC 8259 escaping; non-ASCII passes through as UTF-8).
    static func jsonString(_ s: String) -> String {
        var out = ""
        JSONText.appendString(s, to: &out)
        return out
    }

    // MARK: Helpers

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }
}
