// Golden files written by the reference `gguf` Python package (tools/fixtures/gguf_fixtures.py);
// the expected values come from the script's JSON sidecar, never from Bora.

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

@Suite struct GoldenTests {
    @Test(arguments: ["tiny", "align64"])
    func matchesSidecar(name: String) throws {
        let doc = try Fixtures.json("\(name).json")
        let file = try GGUFFile(path: Fixtures.directory.appendingPathComponent("\(name).gguf").path)

        #expect(Int(file.version) == doc["version"] as? Int)
        #expect(file.alignment == doc["alignment"] as? Int)
        #expect(file.dataOffset == doc["data_offset"] as? Int)
        #expect(file.byteCount == doc["file_bytes"] as? Int)

        let metadata = try #require(doc["metadata"] as? [[String: Any]])
        #expect(file.metadataKeys == metadata.map { $0["key"] as! String })
        for node in metadata {
            let key = node["key"] as! String
            let value = try #require(file.metadata[key], "\(key)")
            check(value, node, key)
        }

        let tensors = try #require(doc["tensors"] as? [[String: Any]])
        #expect(file.tensors.map(\.name) == tensors.map { $0["name"] as! String })
        for expected in tensors {
            let name = expected["name"] as! String
            let t = try #require(file.tensor(named: name))
            #expect(t.shape == expected["shape"] as? [Int], "\(name)")
            #expect(t.type.description == expected["type"] as? String, "\(name)")
            #expect(t.offset == expected["offset"] as? Int, "\(name)")
            #expect(t.byteCount == expected["bytes"] as? Int, "\(name)")
            #expect(hex(t.bytes) == expected["hex"] as? String, "\(name)")
        }
    }

    @Test func tinyHasEveryValueType() throws {
        let file = try GGUFFile(bytes: try Fixtures.bytes("tiny.gguf"))
        let types = Set(file.metadata.values.map(\.type))
        #expect(types == Set(GGUFValueType.allCases))
        let arrayTypes = Set(file.metadata.values.compactMap { $0.array?.elementType })
        #expect(arrayTypes == Set(GGUFValueType.allCases))
    }

    /// Compares a parsed value with a sidecar node ({type, value} or {type: array, element_type, items}).
    private func check(_ value: GGUFValue, _ node: [String: Any], _ path: String) {
        let type = node["type"] as? String
        #expect(value.type.description == type, "\(path): type")
        if let array = value.array {
            #expect(array.elementType.description == node["element_type"] as? String, "\(path): element type")
            let items = node["items"] as? [[String: Any]] ?? []
            #expect(array.count == items.count, "\(path): count")
            for (i, item) in zip(array, items).enumerated() { check(item.0, item.1, "\(path)[\(i)]") }
            return
        }
        let text = node["value"] as? String ?? "<missing>"
        switch value {
        case let .uint8(v): #expect(String(v) == text, "\(path)")
        case let .int8(v): #expect(String(v) == text, "\(path)")
        case let .uint16(v): #expect(String(v) == text, "\(path)")
        case let .int16(v): #expect(String(v) == text, "\(path)")
        case let .uint32(v): #expect(String(v) == text, "\(path)")
        case let .int32(v): #expect(String(v) == text, "\(path)")
        case let .uint64(v): #expect(String(v) == text, "\(path)")
        case let .int64(v): #expect(String(v) == text, "\(path)")
        case let .float32(v): #expect(Double(text).map { Float($0) } == v, "\(path)")
        case let .float64(v): #expect(Double(text) == v, "\(path)")
        case let .bool(v): #expect(String(v) == text, "\(path)")
        case let .string(v): #expect(v == text, "\(path)")
        case .array: break
        }
    }

    private func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
