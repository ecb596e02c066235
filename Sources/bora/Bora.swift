import ArgumentParser
import BoraBench
import BoraCore
import Foundation
import Logging

/// The `bora` command: one executable, one subcommand per job.
@main
struct Bora: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bora",
        abstract: "Offline inference runtime for embedded Linux: quantized GGUF models, speech, intents.",
        discussion: """
        Models come from the pinned catalog (Models/catalog.json); fetch them once with \
        `bora models fetch` (cached under ~/.cache/bora, override with BORA_MODELS).
        Logging is quiet by default: -v for info, BORA_LOG=debug|info|warning|error for more control.
        Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 bad input file.
        """,
        version: BoraVersion.string,
        subcommands: [RunCommand.self, TranscribeCommand.self, IntentCommand.self, VADCommand.self, ModelsCommand.self, InspectCommand.self,
                      BenchCommand.self, DevicesCommand.self, RecordCommand.self, ContextCommand.self, ListenCommand.self, ActionsCommand.self, AuditCommand.self]
    )

    /// Parses, runs, and maps errors to the documented exit codes.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as BoraInputError {
            FileHandle.standardError.write(Data("bora: \(error.description)\n".utf8))
            Foundation.exit(3)
        } catch let error as BenchError {
            FileHandle.standardError.write(Data("bora: \(error.description)\n".utf8))
            Foundation.exit(error.badInput ? 3 : 1)
        } catch let error as BoraRuntimeError {
            FileHandle.standardError.write(Data("bora: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            if error is ExitCode {
                Foundation.exit(code.rawValue)
            }
            FileHandle.standardError.write(Data("bora: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// A runtime failure the CLI reports with exit code 1 and this message.
struct BoraRuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log progress (info level). BORA_LOG=debug logs everything.")
    var verbose = false

    /// Sets up swift-log once: warnings only by default, info with -v, BORA_LOG overrides.
    func bootstrapLogging() -> Logger {
        let env = ProcessInfo.processInfo.environment["BORA_LOG"]
        let level = env.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? (verbose ? .info : .warning)
        LoggingState.bootstrapOnce(level: level)
        var logger = Logger(label: "bora")
        logger.logLevel = level
        return logger
    }
}

enum LoggingState {
    nonisolated(unsafe) private static var done = false
    static func bootstrapOnce(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
