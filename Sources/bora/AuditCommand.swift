import ArgumentParser
import BoraAction
import Foundation

/// `bora audit verify DIR`: checks the audit trail's hash chain.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Inspect the audit trail `bora listen --audit DIR` writes.",
        subcommands: [AuditVerify.self])
}

struct AuditVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the hash chain of an audit directory (detects deleted, reordered or edited records).",
        discussion: """
        Every record carries the sha256 of the record before it; this walks audit-*.jsonl (rotated) \
        then audit.jsonl. Exit 0 when the chain is intact (a partial last line from a crash during a \
        write is reported but allowed), 1 when it is broken, 3 when the directory has no log. \
        Missing Opus clips are reported as warnings.
        """)
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object.") var json = false
    @Argument(help: "The audit directory.") var directory: String

    func run() throws {
        _ = global.bootstrapLogging()
        let v = try AuditLog.verify(directory: directory)
        if json {
            var o: [String: Any] = ["ok": v.ok, "records": v.records, "files": v.files,
                                    "incomplete_tail": v.incompleteTail, "missing_clips": v.missingClips]
            if let p = v.problem { o["problem"] = p }
            try printJSON(o)
        } else {
            print(v.ok ? "ok: \(v.records) records in \(v.files.count) file(s), hash chain intact"
                       : "BROKEN: \(v.problem!) (\(v.records) records verified before it)")
            if v.incompleteTail { print("note: the last line is incomplete (a crash during a write); the records before it are intact") }
            if !v.missingClips.isEmpty { print("warning: \(v.missingClips.count) clip(s) missing, e.g. \(v.missingClips[0])") }
        }
        if !v.ok { throw ExitCode(1) }
    }
}
