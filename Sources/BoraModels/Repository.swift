import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// A model or repository file that cannot be found (a runtime failure, not bad input): the
/// description says what is missing and what to run.
public struct ModelLookupError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Why a catalog name could not be turned into a model file: the catalog (unreadable, malformed,
/// no such model) or the lookup (no catalog found, model not fetched). Runtime failures, exit 1.
public enum ModelLocatorError: Error, CustomStringConvertible, Equatable {
    case catalog(CatalogError)
    case lookup(ModelLookupError)
    public var description: String {
        switch self {
        case .catalog(let e): return e.description
        case .lookup(let e): return e.description
        }
    }
}

/// Finds files that ship beside the binary in the repository (catalog, tools/).
/// Order: an explicit environment variable, then the directories above the executable,
/// then the current directory and its parents.
public enum Repository {
    /// The repository root: `BORA_ROOT`, else the first directory holding Models/catalog.json
    /// among the executable's directory, the current directory, and up to 7 parents of each.
    public static func root() -> String? {
        if let r = environmentValue("BORA_ROOT") { return r }
        var candidates: [String] = []
        if let exe = symbolicLinkTarget("/proc/self/exe") { candidates.append(parentDirectory(exe)) }
        if let cwd = currentDirectory() { candidates.append(cwd) }
        for start in candidates {
            var dir = start
            for _ in 0..<8 {
                if fileExists((dir == "/" ? "" : dir) + "/Models/catalog.json") { return dir }
                let parent = parentDirectory(dir)
                if parent == dir { break }
                dir = parent
            }
        }
        return nil
    }

    /// `BORA_CATALOG`, else the root's Models/catalog.json; throws `ModelLookupError` without a root.
    public static func catalogPath() throws(ModelLookupError) -> String {
        if let c = environmentValue("BORA_CATALOG") { return c }
        guard let root = root() else {
            throw ModelLookupError("cannot find Models/catalog.json; run bora from the Bora repository or set BORA_CATALOG=/path/to/catalog.json")
        }
        return "\(root)/Models/catalog.json"
    }

    /// The executable tools/NAME under the root; throws `ModelLookupError` when there is none.
    public static func tool(_ name: String) throws(ModelLookupError) -> String {
        guard let root = root(), access("\(root)/tools/\(name)", X_OK) == 0 else {
            throw ModelLookupError("cannot find tools/\(name); run bora from the Bora repository or set BORA_ROOT")
        }
        return "\(root)/tools/\(name)"
    }
}

/// Catalog names to model files, as every command that loads a model resolves them.
public enum ModelLocator {
    /// The pinned catalog (`Repository.catalogPath()`) and the model cache (`BORA_MODELS`).
    public static func load() throws(ModelLocatorError) -> (Catalog, ModelCache) {
        let path: String
        do { path = try Repository.catalogPath() } catch { throw .lookup(error) }
        do { return (try Catalog(contentsOf: path), ModelCache()) } catch { throw .catalog(error) }
    }

    /// `nameOrPath` itself when it names a file (contains "/", ends in .gguf, or exists), else the
    /// GGUF of the catalog model of that name. Throws the catalog's error for an unknown name and
    /// `ModelLookupError` for a model that is not fetched.
    public static func resolve(_ nameOrPath: String) throws(ModelLocatorError) -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".gguf") || fileExists(nameOrPath) {
            return nameOrPath
        }
        let (catalog, cache) = try load()
        let m: CatalogModel
        do { m = try catalog.model(named: nameOrPath) } catch { throw .catalog(error) }
        guard cache.isFetched(m) else { throw .lookup(ModelLookupError("\(nameOrPath) is not fetched; run `bora models fetch \(nameOrPath)`")) }
        return cache.loadPath(m)
    }
}
