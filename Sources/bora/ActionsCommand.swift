import ArgumentParser
import BoraAction
import BoraIntent
import Foundation

/// `bora actions check FILE --context CTX`: validates an actions file against a context.
struct ActionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions",
        abstract: "Work with actions files (the policy of `bora listen`).",
        subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate an actions file against a context: syntax, keys, intents and slot names.",
            discussion: """
            Prints one line per action ("intent@line → exec …") and "ok", or every problem as \
            FILE:LINE:COLUMN: message and exits 3. Unknown intents and slot names an intent never fills \
            (in `when` or as "{slot}" exec arguments) are errors. `confirm: true` is not implemented yet \
            and is rejected.
            """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Context file the actions refer to.") var context: String
        @OptionGroup var contextLimits: ContextLimitOptions
        @Argument(help: "Actions file (YAML).") var file: String

        func run() throws {
            _ = global.bootstrapLogging()
            let ctx = try Context.load(path: context, limits: try contextLimits.limits)
            let actions = try ActionsFile.load(path: file)
            let problems = actions.problems(against: ctx)
            if !problems.isEmpty {
                for p in problems { FileHandle.standardError.write(Data("bora: \(p.description)\n".utf8)) }
                throw ExitCode(3)
            }
            for e in actions.entries { print(e.checkLine) }
            print("ok: \(actions.entries.count) action\(actions.entries.count == 1 ? "" : "s")\(actions.dryRun ? " (dry run)" : "")")
        }
    }
}
