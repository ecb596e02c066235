import ArgumentParser
import BoraAudio
import BoraCore
import BoraModels
import Foundation

/// `--max-audio-minutes`, for commands that decode whole audio files (transcribe, intent, vad, and
/// listen's non-WAV `--file`). A longer file is refused from its header or size before it is read
/// (`AudioLimits`; exit code 3).
struct AudioLimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Refuse audio longer than this many minutes, before reading it (a whole-file decode holds 3.84 MB per minute).",
                               valueName: "minutes"))
    var maxAudioMinutes = 60

    func validate() throws {
        guard maxAudioMinutes >= 1 && maxAudioMinutes <= 100_000 else {
            throw ValidationError("--max-audio-minutes must be between 1 and 100000")
        }
    }

    var limits: AudioLimits { AudioLimits(maxMinutes: maxAudioMinutes) }
}

/// `--verify-models`, for commands that load models (run, transcribe, intent, vad, listen).
struct ModelCheckOptions: ParsableArguments {
    @Flag(help: "Check each model file against the catalog pin before loading it: size and the sha256 of its first 4 MiB (≈ 20 ms; `bora models verify` hashes all of it).")
    var verifyModels = false

    /// `resolveModel(_:verify:)` with --verify-models.
    func resolve(_ nameOrPath: String) throws -> String { try resolveModel(nameOrPath, verify: verifyModels) }
}

/// `ModelLocator.resolve`, then (with `verify`) `quickCheck` of the file.
func resolveModel(_ nameOrPath: String, verify: Bool) throws -> String {
    let path = try ModelLocator.resolve(nameOrPath)
    if verify { try quickCheck(nameOrPath: nameOrPath, path: path) }
    return path
}

/// `KernelSet.fromEnvironment()`; an unknown or unsupported `BORA_KERNELS` is a usage error (exit 2).
func kernelSetFromEnvironment() throws -> KernelSet {
    do { return try KernelSet.fromEnvironment() } catch { throw ValidationError(error.description) }
}

/// The fast load-time check of `path` against the catalog pin of `nameOrPath` — a catalog name, or a
/// path whose file name is a catalog model's `gguf`. A path the catalog does not know is a usage error.
func quickCheck(nameOrPath: String, path: String) throws {
    let (catalog, cache) = try ModelLocator.load()
    let file = (path as NSString).lastPathComponent
    guard let model = catalog.models.first(where: { $0.name == nameOrPath }) ?? catalog.models.first(where: { $0.gguf == file }) else {
        throw ValidationError("--verify-models: \(nameOrPath) is not a catalog model (`bora models list`), so there is no pin to check it against")
    }
    try cache.quickCheck(model, path: path)
}
