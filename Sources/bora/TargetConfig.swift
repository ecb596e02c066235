import BoraModels
import ArgumentParser
import Foundation

/// Per-board defaults from `Targets/<name>/target.json` (see Targets/README.md).
///
/// `bora --target NAME` takes threads, ALSA device, ASR model and VAD from here unless the
/// command line says otherwise. The other fields (triple, march, cpu, features, kernel set)
/// document the board and what the runtime is expected to pick; they are not enforced.
struct TargetConfig: Decodable, Sendable, Equatable {
    /// Folder name under Targets/, e.g. "raspberry-pi-5".
    let name: String
    /// LLVM target triple, e.g. "aarch64-unknown-linux-gnu".
    let triple: String
    /// The `-march` that matches the board, e.g. "armv8.2-a+dotprod+fp16".
    let march: String
    /// The `-mcpu`/`-mtune` name, e.g. "cortex-a76".
    let cpu: String
    /// CPU features as /proc/cpuinfo (ARM) or CPUID (x86) names them.
    let features: [String]
    /// The kernel set the runtime is expected to choose on this board (neon, dotprod, i8mm, avx2, …).
    let kernelSet: String
    /// Default inference threads (≥ 1).
    let threads: Int
    /// Memory budget in MiB (≥ 1); the systemd unit's MemoryMax.
    let memoryBudgetMB: Int
    /// Default ALSA capture device, e.g. "default" or "plughw:1,0".
    let alsaDevice: String
    /// Default ASR model: a name in Models/catalog.json.
    let asrModel: String
    /// Default voice activity detector ("silero" or "energy").
    let vad: String
    /// Free-text caveats: what is verified and what is not.
    let notes: String

    enum CodingKeys: String, CodingKey {
        case name, triple, march, cpu, features, threads, vad, notes
        case kernelSet = "kernel_set"
        case memoryBudgetMB = "memory_budget_mb"
        case alsaDevice = "alsa_device"
        case asrModel = "asr_model"
    }

    /// Loads a target by folder name (`Targets/<name>/target.json` under `Repository.root()`)
    /// or by a path to a target.json file (anything containing "/" or ending in ".json").
    ///
    /// Throws `ValidationError` (exit 2) for an unknown name, naming the known targets, and
    /// `BoraRuntimeError` (exit 1) for a file that cannot be read or is not a valid target,
    /// naming the file and the offending key. Never returns a config with threads or memory
    /// budget < 1.
    static func load(name: String) throws -> TargetConfig {
        let path: String
        if name.contains("/") || name.hasSuffix(".json") {
            path = name
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("--target \(name): no such file; give a path to a target.json or one of: \(knownList())")
            }
        } else {
            guard let root = Repository.root() else {
                throw BoraRuntimeError("cannot find the Targets/ folder for --target \(name); run bora from the Bora repository or set BORA_ROOT")
            }
            path = "\(root)/Targets/\(name)/target.json"
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("unknown target '\(name)'; choose one of: \(knownList()) (or give a path to a target.json)")
            }
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw BoraRuntimeError("\(path): cannot read the target file (\(error.localizedDescription)); check its permissions")
        }
        let config: TargetConfig
        do {
            config = try JSONDecoder().decode(TargetConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw BoraRuntimeError("\(path): missing key '\(key.stringValue)'; see Targets/README.md for the format")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let where_ = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw BoraRuntimeError("\(path): wrong type at '\(where_)'; see Targets/README.md for the format")
        } catch {
            throw BoraRuntimeError("\(path): not valid JSON; fix the file (python3 -m json.tool \(path) shows where)")
        }
        guard config.threads >= 1 else {
            throw BoraRuntimeError("\(path): threads must be ≥ 1 (is \(config.threads))")
        }
        guard config.memoryBudgetMB >= 1 else {
            throw BoraRuntimeError("\(path): memory_budget_mb must be ≥ 1 (is \(config.memoryBudgetMB))")
        }
        return config
    }

    /// Names of the folders under Targets/ that hold a target.json, sorted; empty when the
    /// repository root cannot be found.
    static func knownNames() -> [String] {
        guard let root = Repository.root(),
              let entries = try? FileManager.default.contentsOfDirectory(atPath: "\(root)/Targets")
        else { return [] }
        return entries
            .filter { FileManager.default.fileExists(atPath: "\(root)/Targets/\($0)/target.json") }
            .sorted()
    }

    private static func knownList() -> String {
        let names = knownNames()
        return names.isEmpty ? "(none found; set BORA_ROOT to the Bora repository)" : names.joined(separator: ", ")
    }
}
