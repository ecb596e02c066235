// GGUFWriter → GGUFFile round trips: every metadata type, nested arrays, tensors of several
// types and alignments, in memory and through a file.

import Foundation
import Testing
@testable import BoraGGUF
import BoraCore

/// One value of every type, plus arrays of every element type and nested arrays.
func everyTypeMetadata() -> [(String, GGUFValue)] {
    [
        ("general.architecture", "llama"),
        ("t.uint8", .uint8(200)), ("t.int8", .int8(-7)),
        ("t.uint16", .uint16(65_000)), ("t.int16", .int16(-30_000)),
        ("t.uint32", .uint32(4_000_000_000)), ("t.int32", .int32(-2_000_000_000)),
        ("t.float32", .float32(1e-5)), ("t.bool", true), ("t.bool2", false),
        ("t.string", "héllo ✓ 🦙"), ("t.empty", ""),
        ("t.uint64", .uint64(.max)), ("t.int64", .int64(.min)), ("t.float64", .float64(-2.5e-300)),
        ("a.uint8", .array(GGUFArray(elementType: .uint8, values: [.uint8(0), .uint8(255)]))),
        ("a.int8", .array(GGUFArray(elementType: .int8, values: [.int8(-128), .int8(127)]))),
        ("a.uint16", .array(GGUFArray(elementType: .uint16, values: [.uint16(1)]))),
        ("a.int16", .array(GGUFArray(elementType: .int16, values: [.int16(-1), .int16(2)]))),
        ("a.uint32", .array(GGUFArray(uint32s: [1, 2, 3]))),
        ("a.int32", .array(GGUFArray(int32s: [-1, 0, 1]))),
        ("a.float32", .array(GGUFArray(float32s: [0.5, -1.25, .infinity]))),
        ("a.bool", .array(GGUFArray(elementType: .bool, values: [true, false]))),
        ("a.string", .array(GGUFArray(strings: ["<s>", "", "Ġthe", "▁x"]))),
        ("a.uint64", .array(GGUFArray(elementType: .uint64, values: [.uint64(.max)]))),
        ("a.int64", .array(GGUFArray(elementType: .int64, values: [.int64(.min), .int64(.max)]))),
        ("a.float64", .array(GGUFArray(elementType: .float64, values: [.float64(1.5)]))),
        ("a.empty", .array(GGUFArray(elementType: .int32, values: []))),
        ("a.nested", .array(GGUFArray(arrays: [GGUFArray(int32s: [1, 2]), GGUFArray(int32s: []), GGUFArray(int32s: [3])]))),
        ("a.nested_strings", .array(GGUFArray(arrays: [GGUFArray(strings: ["a"]), GGUFArray(strings: ["b", "c"])]))),
        ("a.nested3", .array(GGUFArray(arrays: [GGUFArray(arrays: [GGUFArray(float32s: [1, 2])])]))),
    ]
}

/// Random tensor bytes of the right size for each shape and type.
func randomTensors(_ rng: inout SeededRNG) -> [(String, [Int], QuantType, [UInt8])] {
    let specs: [(String, [Int], QuantType)] = [
        ("f32", [5, 3], .f32), ("f16", [7], .f16), ("bf16", [2, 2, 2], .bf16),
        ("q8_0", [64, 3], .q8_0), ("q4_0", [32, 1, 2], .q4_0), ("q4_1", [96, 2], .q4_1),
        ("q5_0", [32], .q5_0), ("q4_K", [256, 2], .q4_K), ("q6_K", [512], .q6_K),
        ("scalar", [], .f32), ("empty", [0, 4], .f32),
    ]
    return specs.map { name, shape, type in
        let count = type.byteCount(elements: shape.reduce(1, *))!
        return (name, shape, type, (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
}

@Suite struct RoundTripTests {
    @Test(arguments: [1, 8, 32, 64, 4096])
    func everyTypeAndTensor(alignment: Int) throws {
        var rng = SeededRNG(seed: 1)
        var writer = GGUFWriter(alignment: alignment)
        for (key, value) in everyTypeMetadata() { writer.set(key, value) }
        let tensors = randomTensors(&rng)
        for (name, shape, type, bytes) in tensors { writer.addTensor(name: name, shape: shape, type: type, bytes: bytes) }

        let file = try GGUFFile(bytes: writer.serialize())
        #expect(file.version == 3)
        #expect(file.alignment == alignment)
        #expect(file.metadataKeys == writer.metadataKeys)
        for (key, value) in everyTypeMetadata() {
            #expect(file.metadata[key] == value, "\(key)")
        }
        if alignment != 32 { #expect(file.metadata["general.alignment"]?.int == alignment) }
        #expect(file.dataOffset % alignment == 0)
        #expect(file.tensors.map(\.name) == tensors.map(\.0))
        for (name, shape, type, bytes) in tensors {
            let t = try #require(file.tensor(named: name))
            #expect(t.shape == shape && t.type == type)
            #expect(t.byteCount == bytes.count)
            #expect(t.offset % alignment == 0)
            #expect(Array(t.bytes) == bytes, "\(name)")
            #expect(t.elementCount == shape.reduce(1, *))
            #expect(t.rowLength * t.rowCount == t.elementCount)
            #expect(t.rowBytes * t.rowCount == t.byteCount)
        }
    }

    @Test func accessors() throws {
        var writer = GGUFWriter()
        for (key, value) in everyTypeMetadata() { writer.set(key, value) }
        let file = try GGUFFile(bytes: writer.serialize())
        let m = file.metadata
        #expect(file.architecture == "llama")
        #expect(m["t.uint32"]?.int == 4_000_000_000)
        #expect(m["t.int8"]?.int == -7)
        #expect(m["t.uint64"]?.int == nil)  // above Int.max
        #expect(m["t.uint64"]?.uint64 == .max)
        #expect(m["t.float32"]?.float == 1e-5)
        #expect(m["t.float64"]?.double == -2.5e-300)
        #expect(m["t.bool"]?.bool == true)
        #expect(m["t.string"]?.string == "héllo ✓ 🦙")
        #expect(m["t.string"]?.int == nil)
        #expect(m["a.string"]?.array?.strings == ["<s>", "", "Ġthe", "▁x"])
        #expect(m["a.int32"]?.array?.integers == [-1, 0, 1])
        #expect(m["a.int64"]?.array?.integers == [Int.min, Int.max])
        #expect(m["a.uint64"]?.array?.integers == nil)
        #expect(m["a.float32"]?.array?.floats == [0.5, -1.25, .infinity])
        #expect(m["a.float32"]?.array?.strings == nil)
        #expect(m["a.bool"]?.array?.bools == [true, false])
        #expect(m["a.empty"]?.array?.count == 0)
        let nested = try #require(m["a.nested"]?.array?.arrays)
        #expect(nested.map { $0.integers! } == [[1, 2], [], [3]])
        #expect(m["a.nested3"]?.array?[0].array?[0].array?.floats == [1, 2])
        #expect(m["a.string"]?.array?[2] == "Ġthe")
    }

    @Test func setReplacesAndKeepsOrder() throws {
        var writer = GGUFWriter()
        writer.set("a", .uint32(1))
        writer.set("b", "x")
        writer.set("a", .int64(-5))
        let file = try GGUFFile(bytes: writer.serialize())
        #expect(file.metadataKeys == ["a", "b"])
        #expect(file.metadata["a"] == .int64(-5))
    }

    @Test func writeToPathAndRewriteFromViews() throws {
        var rng = SeededRNG(seed: 2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bora-gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.gguf").path

        var writer = GGUFWriter(alignment: 64)
        for (key, value) in everyTypeMetadata() { writer.set(key, value) }
        for (name, shape, type, bytes) in randomTensors(&rng) { writer.addTensor(name: name, shape: shape, type: type, bytes: bytes) }
        try writer.write(toPath: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.gguf"])  // no temp left
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == writer.serialize())

        // Copy the mapped file through views: metadata values and tensors read from the mapping.
        let file = try GGUFFile(path: path)
        #expect(file.mappedFile != nil)
        var copy = GGUFWriter()
        for key in file.metadataKeys { copy.set(key, file.metadata[key]!) }
        for tensor in file.tensors { copy.addTensor(tensor) }
        #expect(copy.alignment == 64)
        #expect(copy.serialize() == writer.serialize())
    }

    @Test func writeErrorIsTypedAndLeavesNothing() throws {
        let writer = GGUFWriter()
        #expect(throws: GGUFWriteError.self) { try writer.write(toPath: "/nonexistent-dir-bora/x.gguf") }
        do {
            try writer.write(toPath: "/nonexistent-dir-bora/x.gguf")
        } catch {
            #expect(error.call == "open" && error.errno == ENOENT)
            #expect(error.description.contains("/nonexistent-dir-bora/x.gguf.tmp-"))
        }
    }

    @Test func emptyFileStructure() throws {
        let file = try GGUFFile(bytes: GGUFWriter().serialize())
        #expect(file.metadata.isEmpty && file.tensors.isEmpty)
        #expect(file.alignment == 32)
    }
}
