import Foundation

/// A model or repository file that cannot be found (a runtime failure, not bad input): the
/// description says what is missing and what to run.
public struct ModelLookupError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Finds files that ship beside the binary in the repository (catalog, tools/).
/// Order: an explicit environment variable, then the directories above the executable,
/// then the current directory and its parents.
public enum Repository {
    /// The repository root: `BORA_ROOT`, else the first directory holding Models/catalog.json
    /// among the executable's directory, the current directory, and up to 7 parents of each.
    public static func root() -> String? {
        if let r = ProcessInfo.processInfo.environment["BORA_ROOT"], !r.isEmpty { return r }
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        for start in candidates {
            var dir = start
            for _ in 0..<8 {
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Models/catalog.json").path) {
                    return dir.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return nil
    }

    /// `BORA_CATALOG`, else the root's Models/catalog.json; throws `ModelLookupError` without a root.
    public static func catalogPath() throws(ModelLookupError) -> String {
        if let c = ProcessInfo.processInfo.environment["BORA_CATALOG"], !c.isEmpty { return c }
        guard let root = root() else {
            throw ModelLookupError("cannot find Models/catalog.json; run bora from the Bora repository or set BORA_CATALOG=/path/to/catalog.json")
        }
        return "\(root)/Models/catalog.json"
    }

    /// The executable tools/NAME under the root; throws `ModelLookupError` when there is none.
    public static func tool(_ name: String) throws(ModelLookupError) -> String {
        guard let root = root(), FileManager.default.isExecutableFile(atPath: "\(root)/tools/\(name)") else {
            throw ModelLookupError("cannot find tools/\(name); run bora from the Bora repository or set BORA_ROOT")
        }
        return "\(root)/tools/\(name)"
    }
}

/// Catalog names to model files, as every command that loads a model resolves them.
public enum ModelLocator {
    /// The pinned catalog (`Repository.catalogPath()`) and the model cache (`BORA_MODELS`).
    public static func load() throws -> (Catalog, ModelCache) {
        (try Catalog(contentsOf: try Repository.catalogPath()), ModelCache())
    }

    /// `nameOrPath` itself when it names a file (contains "/", ends in .gguf, or exists), else the
    /// GGUF of the catalog model of that name. Throws the catalog's error for an unknown name and
    /// `ModelLookupError` for a model that is not fetched.
    public static func resolve(_ nameOrPath: String) throws -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".gguf") || FileManager.default.fileExists(atPath: nameOrPath) {
            return nameOrPath
        }
        let (catalog, cache) = try load()
        let m = try catalog.model(named: nameOrPath)
        guard cache.isFetched(m) else { throw ModelLookupError("\(nameOrPath) is not fetched; run `bora models fetch \(nameOrPath)`") }
        return cache.loadPath(m)
    }
}
