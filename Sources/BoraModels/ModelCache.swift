import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

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

    /// The process environment's `HOME`, `BORA_CACHE` and `BORA_MODELS`.
    public init() {
        var environment: [String: String] = [:]
        for name in ["HOME", "BORA_CACHE", "BORA_MODELS"] { environment[name] = environmentValue(name) }
        self.init(environment: environment)
    }

    /// `environment` stands for the process environment (tests); a missing `HOME` is the
    /// password database's home directory of this user, else "/".
    public init(environment: [String: String]) {
        let home = environment["HOME"] ?? getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) } ?? "/"
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
        fileExists(manifestPath(model))
            && (model.gguf == nil || fileExists(loadPath(model)))
    }

    /// One checked file.
    public struct FileCheck: Sendable {
        public let path: String
        public let expectedSHA256: String?
        public let actualSHA256: String?
        /// nil when the file is fine; otherwise what is wrong.
        public let problem: String?
        /// True when the path is not a regular file (FIFO, device, socket, directory): it was refused
        /// without reading it (bad input, exit code 3 in the CLI).
        public var notRegularFile = false
    }

    /// Recomputes sha256 of every source file (against the catalog) and of the GGUF — against the
    /// catalog's `gguf_pin` when it has one (the manifest in the cache is writable, so it is only
    /// the fallback for unpinned GGUFs). Regular files only: a FIFO, device or other special file
    /// (also behind a symbolic link) is refused without being read. A model that was never fetched
    /// yields one problem line.
    public func verify(_ model: CatalogModel) -> [FileCheck] {
        guard fileExists(manifestPath(model)) else {
            return [FileCheck(path: modelDir(model), expectedSHA256: nil, actualSHA256: nil,
                              problem: "not fetched; run `bora models fetch \(model.name)`")]
        }
        var checks: [FileCheck] = []
        func check(_ path: String, expected: String?, against: String) {
            guard fileExists(path) else {
                checks.append(FileCheck(path: path, expectedSHA256: expected, actualSHA256: nil,
                                        problem: "missing; run `bora models fetch \(model.name)`"))
                return
            }
            let actual: String
            do { actual = try SHA256.hexDigest(ofFile: path) } catch {
                if case .notRegularFile = error {
                    checks.append(FileCheck(path: path, expectedSHA256: expected, actualSHA256: nil,
                                            problem: "not a regular file (a FIFO, device or socket, or a link to one); refused unread: delete it and run `bora models fetch \(model.name)`",
                                            notRegularFile: true))
                } else {
                    checks.append(FileCheck(path: path, expectedSHA256: expected, actualSHA256: nil,
                                            problem: "unreadable (\(error.description))"))
                }
                return
            }
            var problem: String?
            if let expected, expected != actual {
                problem = "sha256 mismatch with the \(against) (file changed or corrupted); delete \(modelDir(model)) and run `bora models fetch \(model.name)`"
            } else if expected == nil {
                problem = "manifest has no sha256 for this file; re-fetch it"
            }
            checks.append(FileCheck(path: path, expectedSHA256: expected, actualSHA256: actual, problem: problem))
        }
        for file in model.source?.files ?? [] {
            check(sourcePath(model, file), expected: file.sha256, against: "catalog")
        }
        if let gguf = model.gguf {
            if let pin = model.ggufPin {
                check("\(modelDir(model))/\(gguf)", expected: pin.sha256, against: "catalog pin")
            } else {
                check("\(modelDir(model))/\(gguf)", expected: manifestGGUFSHA256(model), against: "manifest")
            }
        }
        return checks
    }

    private func manifestGGUFSHA256(_ model: CatalogModel) -> String? {
        guard let data = readWholeFile(manifestPath(model)), let root = try? JSONValue.parse(data) else { return nil }
        return root["gguf"]?["sha256"]?.string
    }

    /// The fast check at load (`--verify-models`): `path`, the GGUF of catalog model `model`, must
    /// be a regular file of exactly the pinned size whose first `GGUFPin.headBytes` bytes (4 MiB: the
    /// header, metadata, tensor table and first tensors — for a file smaller than that, all of it,
    /// e.g. Silero VAD) hash to the pinned `head_sha256`. Costs one 4 MiB read and hash (≈ 10–20 ms),
    /// whatever the model's size. It catches a replaced, re-converted, truncated or padded file and any
    /// change in the covered bytes; a change past them in a same-size file needs the full check,
    /// `verify(_:)` (`bora models verify`). Throws `ModelCheckError` (bad input: exit code 3).
    public func quickCheck(_ model: CatalogModel, path: String) throws(ModelCheckError) {
        guard let pin = model.ggufPin else { throw .unpinned(model: model.name) }
        let head: String
        do { head = try SHA256.hexDigest(ofFile: path, prefix: GGUFPin.headBytes) } catch {
            if case .notRegularFile = error { throw .notRegularFile(model: model.name, path: path) }
            throw .unreadable(model: model.name, path: path, reason: error.description)
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(model: model.name, path: path, reason: "stat failed") }
        if Int(info.st_size) != pin.bytes {
            throw .sizeMismatch(model: model.name, path: path, bytes: Int(info.st_size), pinned: pin.bytes)
        }
        if head != pin.headSHA256 { throw .headMismatch(model: model.name, path: path, coveredBytes: min(pin.bytes, GGUFPin.headBytes), wholeFile: pin.bytes <= GGUFPin.headBytes) }
    }
}

/// Why `ModelCache.quickCheck` (`--verify-models`) refused a model file. One line each, with what to do.
public enum ModelCheckError: BoraInputError, Equatable {
    case unpinned(model: String)
    case notRegularFile(model: String, path: String)
    case unreadable(model: String, path: String, reason: String)
    case sizeMismatch(model: String, path: String, bytes: Int, pinned: Int)
    case headMismatch(model: String, path: String, coveredBytes: Int, wholeFile: Bool)

    public var description: String {
        let refetch = { (m: String) in "run `bora models verify \(m)`, then delete the model directory and `bora models fetch \(m)`" }
        switch self {
        case let .unpinned(m):
            return "--verify-models: \(m) has no gguf_pin in the catalog, so there is nothing to check it against; run `bora models verify \(m)` (checks it against its manifest) or drop --verify-models"
        case let .notRegularFile(m, path):
            return "--verify-models: \(path) (\(m)) is not a regular file (a FIFO, device or a link to one); refused unread: \(refetch(m))"
        case let .unreadable(m, path, reason):
            return "--verify-models: cannot read \(path) (\(m)): \(reason)"
        case let .sizeMismatch(m, path, bytes, pinned):
            return "--verify-models: \(path) is \(bytes) bytes, the catalog pins \(m) at \(pinned); the file was changed or replaced: \(refetch(m))"
        case let .headMismatch(m, path, covered, whole):
            let what = whole ? "the contents of \(path) (all \(covered) bytes)" : "the first \(covered) bytes of \(path)"
            return "--verify-models: \(what) do not match the catalog's head_sha256 for \(m); the file was changed: \(refetch(m))"
        }
    }
}

extension ModelCache.FileCheck {
    /// What `models verify` prints for this file of `model`: "ok   NAME: PATH", or "FAIL NAME:
    /// PATH: problem" plus the expected and actual sha256 when they differ.
    public func reportLines(model: String) -> [String] {
        guard let problem else { return ["ok   \(model): \(path)"] }
        var lines = ["FAIL \(model): \(path): \(problem)"]
        if let e = expectedSHA256, let a = actualSHA256, e != a { lines += ["     expected \(e)", "     actual   \(a)"] }
        return lines
    }
}
