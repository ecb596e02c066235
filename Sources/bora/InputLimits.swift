import ArgumentParser
import BoraAudio
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

    /// `resolveModelPath`, then (with --verify-models) `ModelCache.quickCheck` of the file.
    func resolve(_ nameOrPath: String) throws -> String {
        let path = try resolveModelPath(nameOrPath)
        if verifyModels { try quickCheck(nameOrPath: nameOrPath, path: path) }
        return path
    }
}

/// The fast load-time check of `path` against the catalog pin of `nameOrPath` — a catalog name, or a
/// path whose file name is a catalog model's `gguf`. A path the catalog does not know is a usage error.
func quickCheck(nameOrPath: String, path: String) throws {
    let (catalog, cache) = try ModelsCommand.load()
    let file = (path as NSString).lastPathComponent
    guard let model = catalog.models.first(where: { $0.name == nameOrPath }) ?? catalog.models.first(where: { $0.gguf == file }) else {
        throw ValidationError("--verify-models: \(nameOrPath) is not a catalog model (`bora models list`), so there is no pin to check it against")
    }
    try cache.quickCheck(model, path: path)
}
