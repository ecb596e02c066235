import BoraCore

/// Why `TargetConfig.load` failed: `unknown` is a name or path that is not a target (a usage
/// error, exit 2, naming the known targets); `invalid` a target file that cannot be read or is not
/// a valid target (exit 1, naming the file and the offending key).
public enum TargetConfigError: Error, CustomStringConvertible, Equatable {
    case unknown(String)
    case invalid(String)
    public var description: String {
        switch self {
        case .unknown(let m), .invalid(let m): return m
        }
    }
}

/// Per-board defaults from `Targets/<name>/target.json` (see Targets/README.md).
///
/// `listen --target NAME` takes threads, ALSA device, ASR model and VAD from here unless the
/// command line says otherwise. The other fields (triple, march, cpu, features, kernel set)
/// document the board and what the runtime is expected to pick; they are not enforced.
public struct TargetConfig: Sendable, Equatable {
    /// Folder name under Targets/, e.g. "raspberry-pi-5".
    public let name: String
    /// LLVM target triple, e.g. "aarch64-unknown-linux-gnu".
    public let triple: String
    /// The `-march` that matches the board, e.g. "armv8.2-a+dotprod+fp16".
    public let march: String
    /// The `-mcpu`/`-mtune` name, e.g. "cortex-a76".
    public let cpu: String
    /// CPU features as /proc/cpuinfo (ARM) or CPUID (x86) names them.
    public let features: [String]
    /// The kernel set the runtime is expected to choose on this board (neon, dotprod, i8mm, avx2, …).
    public let kernelSet: String
    /// Default inference threads (≥ 1).
    public let threads: Int
    /// Memory budget in MiB (≥ 1); the systemd unit's MemoryMax.
    public let memoryBudgetMB: Int
    /// Default ALSA capture device, e.g. "default" or "plughw:1,0".
    public let alsaDevice: String
    /// Default ASR model: a name in Models/catalog.json.
    public let asrModel: String
    /// Default voice activity detector ("silero" or "energy").
    public let vad: String
    /// Free-text caveats: what is verified and what is not.
    public let notes: String

    /// Reads a target.json document (`path` names it in errors). Every key is required; threads
    /// and memory_budget_mb must be ≥ 1.
    public init(json bytes: [UInt8], path: String) throws(TargetConfigError) {
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch {
            throw .invalid("\(path): not valid JSON; fix the file (python3 -m json.tool \(path) shows where)")
        }
        guard case .object(let o) = root else { throw .invalid("\(path): not a JSON object; see Targets/README.md for the format") }
        func value(_ key: String) throws(TargetConfigError) -> JSONValue {
            guard let v = o[key] else { throw .invalid("\(path): missing key '\(key)'; see Targets/README.md for the format") }
            return v
        }
        func wrongType(_ key: String) -> TargetConfigError { .invalid("\(path): wrong type at '\(key)'; see Targets/README.md for the format") }
        func string(_ key: String) throws(TargetConfigError) -> String {
            guard let s = try value(key).string else { throw wrongType(key) }
            return s
        }
        func int(_ key: String) throws(TargetConfigError) -> Int {
            guard let n = try value(key).int else { throw wrongType(key) }
            return n
        }
        guard let list = try value("features").array else { throw wrongType("features") }
        var features: [String] = []
        for (i, f) in list.enumerated() {
            guard let s = f.string else { throw wrongType("features.\(i)") }
            features.append(s)
        }
        self.features = features
        name = try string("name"); triple = try string("triple"); march = try string("march"); cpu = try string("cpu")
        kernelSet = try string("kernel_set"); threads = try int("threads"); memoryBudgetMB = try int("memory_budget_mb")
        alsaDevice = try string("alsa_device"); asrModel = try string("asr_model"); vad = try string("vad"); notes = try string("notes")
        guard threads >= 1 else { throw .invalid("\(path): threads must be ≥ 1 (is \(threads))") }
        guard memoryBudgetMB >= 1 else { throw .invalid("\(path): memory_budget_mb must be ≥ 1 (is \(memoryBudgetMB))") }
    }

    /// Loads a target by folder name (`Targets/<name>/target.json` under `Repository.root()`)
    /// or by a path to a target.json file (anything containing "/" or ending in ".json").
    public static func load(name: String) throws(TargetConfigError) -> TargetConfig {
        let path: String
        if name.contains("/") || name.hasSuffix(".json") {
            path = name
            guard fileExists(path) else {
                throw .unknown("--target \(name): no such file; give a path to a target.json or one of: \(knownList())")
            }
        } else {
            guard let root = Repository.root() else {
                throw .invalid("cannot find the Targets/ folder for --target \(name); run bora from the Bora repository or set BORA_ROOT")
            }
            path = "\(root)/Targets/\(name)/target.json"
            guard fileExists(path) else {
                throw .unknown("unknown target '\(name)'; choose one of: \(knownList()) (or give a path to a target.json)")
            }
        }
        let text: String
        do { text = try readTextFile(path, maxBytes: 1 << 20) } catch {
            throw .invalid("\(path): cannot read the target file (\(error)); check its permissions")
        }
        return try TargetConfig(json: Array(text.utf8), path: path)
    }

    /// Names of the folders under Targets/ that hold a target.json, sorted; empty when the
    /// repository root cannot be found.
    public static func knownNames() -> [String] {
        guard let root = Repository.root(), let entries = directoryEntries("\(root)/Targets") else { return [] }
        return entries.filter { fileExists("\(root)/Targets/\($0)/target.json") }.sorted()
    }

    private static func knownList() -> String {
        let names = knownNames()
        return names.isEmpty ? "(none found; set BORA_ROOT to the Bora repository)" : names.joined(separator: ", ")
    }
}
