import ArgumentParser
import BoraAction
import BoraCore
import Foundation

/// `bora audit init|verify DIR`: seals a new audit trail; checks one.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Seal and verify the audit trail `bora listen --audit DIR` writes.",
        subcommands: [AuditInit.self, AuditVerify.self])
}

struct AuditInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Seal a new audit directory and print its verification key (once).",
        discussion: """
        Creates DIR (0700) with a sealing state: every record `bora listen --audit DIR` writes is \
        then sealed with a key the device evolves forward and forgets after each record, so whoever \
        takes the device later can neither change, re-seal nor cut off any earlier record. The \
        verification key printed here is the only way to check the seals: keep it off the device (it \
        is secret: it can seal records too). DIR must be new or empty of records. Run as the user \
        that will run bora listen (or chown -R DIR to it afterwards).
        """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The audit directory to create (the --audit DIR of bora listen).") var directory: String

    func run() throws {
        _ = global.bootstrapLogging()
        let key = try AuditSeal.initialize(directory: directory)
        print(Hex.encode(key))
        FileHandle.standardError.write(Data("""
            bora audit: sealed \(directory) (key id \(AuditSeal.keyId(key))).
            The line above is the verification key. Store it away from this device; it is not kept here
            and cannot be shown again. Check the trail with: bora audit verify \(directory) --key KEY

            """.utf8))
    }
}

struct AuditVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an audit trail: hash chain, sequence, clip hashes and (with --key) the seals.",
        discussion: """
        Walks audit-*.jsonl (rotated) then audit.jsonl. Every record must carry the sha256 of the one \
        before it, the next sequence number, and (when it names a clip) the clip's sha256. With --key \
        (or --key-file) every seal is checked and the sealing state must be at the record after the \
        last one, so deleted, edited, re-chained, forged and cut-off records, a deleted or replaced \
        state and deleted or replaced clips are all found. Without a key a sealed trail is checked as \
        a plain chain only. Also lists actions that started but have no outcome record (interrupted). \
        Exit 0 when intact (a partial last line from a crash during a write is reported but allowed), \
        1 when tampering or damage is found, 3 when there is nothing to verify or the key is malformed.
        """)
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "The verification key printed by `bora audit init` (64 hex digits).") var key: String?
    @Option(help: "A file holding the verification key (keeps it out of the process list).") var keyFile: String?
    @Argument(help: "The audit directory.") var directory: String

    func run() throws {
        _ = global.bootstrapLogging()
        var keyBytes: [UInt8]?
        if let keyFile {
            guard let text = try? readTextFile(keyFile, maxBytes: 4096) else {
                throw AuditError(path: keyFile, "cannot read the key file; check the path")
            }
            keyBytes = try AuditLog.parseKey(text, source: keyFile)
        } else if let key {
            keyBytes = try AuditLog.parseKey(key, source: "--key")
        }
        let v = try AuditLog.verify(directory: directory, key: keyBytes)
        if json {
            print(v.json.serialized(escapingSlashes: false))
        } else {
            for line in v.reportLines { print(line) }
        }
        if !v.ok { throw ExitCode(1) }
    }
}
