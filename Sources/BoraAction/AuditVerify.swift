import BoraCore

extension AuditLog {
    /// What `verify` found.
    public struct Verification: Sendable, Equatable {
        /// Whole records checked, over all log files.
        public var records = 0
        /// Files checked, in chain order.
        public var files: [String] = []
        /// The first problem ("file:line: …" or a statement about the whole trail), nil when intact.
        public var problem: String?
        /// The directory has a sealing state (`bora audit init`).
        public var sealed = false
        /// Every record's seal and the state's key were checked against the verification key.
        public var sealsChecked = false
        /// True when the last file ends in a partial line (a crash during a write); the records
        /// before it are still verified.
        public var incompleteTail = false
        /// The last record was written but the sealing state not yet advanced (a crash between
        /// the two); the next `AuditLog` open finishes the step.
        public var stateBehindByOne = false
        /// Ids of actions recorded `executing` with no completion record after them (Bora stopped
        /// or was killed while they ran): they may or may not have finished.
        public var interruptedActions: [String] = []
        /// Clip files that no record names (Bora stopped between writing a clip and its record).
        public var unreferencedClips: [String] = []
        public var ok: Bool { problem == nil }
    }

    /// Checks the trail in `directory`: every line is a JSON record whose `"prev"` is the sha256
    /// of the line before it (64 zeros for the first), whose `"seq"` counts up from 0 without a
    /// gap across the rotated files and `audit.jsonl`, and whose clip exists with the sha256 the
    /// record gives. With `key` (the verification key of `bora audit init`) every record's seal
    /// is checked, and the sealing state must hold exactly the key of the record after the last
    /// one: records cut off the end, a replaced or deleted state, and forged or re-chained
    /// records are all found. Without a key a sealed trail is checked as a plain chain.
    /// Throws only when there is nothing to check (no log, no state) or a file cannot be read.
    public static func verify(directory: String, key: [UInt8]? = nil) throws(AuditError) -> Verification {
        var v = Verification()
        let files = logFiles(directory)
        var state: AuditSeal.State?
        do { state = try AuditSeal.State.read(directory: directory) } catch {
            v.problem = "\(AuditSeal.stateFileName): malformed (edited or corrupted)"
            return v
        }
        v.sealed = state != nil
        if files.isEmpty {
            if state == nil && key == nil {
                throw AuditError(path: directory, "no audit.jsonl here; pass the --audit DIR of bora listen")
            }
            if let state, state.nextSeq == 0 { v.sealsChecked = key != nil; return checkState(state, key: key, nextSeq: 0, v) }
            v.problem = "no audit log, but the trail was sealed (\(state.map { "\($0.nextSeq) records" } ?? "state deleted too")): the log was deleted"
            return v
        }
        if let key {
            guard let state else {
                v.problem = "\(AuditSeal.stateFileName) is missing: the sealing state was deleted (or this trail was never sealed)"
                return v
            }
            guard AuditSeal.keyId(key) == state.keyId else {
                v.problem = "\(AuditSeal.stateFileName): sealed under key \(state.keyId), not the given key \(AuditSeal.keyId(key)) (wrong key, or the state was replaced)"
                return v
            }
            v.sealsChecked = true
        }
        var previous = genesis
        var expectedSeq = 0
        var currentKey = key        // k_expectedSeq
        var executing: [String: Int] = [:]   // id → order of its `executing` record
        var clips = Set<String>()
        for (index, name) in files.enumerated() {
            guard let bytes = readWholeFile(directory + "/" + name) else {
                throw AuditError(path: directory + "/" + name, "cannot read; check permissions")
            }
            v.files.append(name)
            if index == files.count - 1, let lastByte = bytes.last, lastByte != 0x0A { v.incompleteTail = true }
            for (n, line) in lines(bytes[...]).enumerated() {
                let whereAt = "\(name):\(n + 1)"
                guard let object = (try? JSONValue.parse(line))?.object, let prev = object["prev"]?.string else {
                    v.problem = "\(whereAt): not a JSON record with \"prev\" (edited or corrupted)"
                    return v
                }
                if prev != previous {
                    v.problem = expectedSeq == 0
                        ? "\(whereAt): the first record does not start the chain: earlier records (or a rotated file) were deleted"
                        : "\(whereAt): \"prev\" does not match the record before it (a record was deleted, reordered or edited)"
                    return v
                }
                if let seq = object["seq"]?.int {
                    if seq != expectedSeq {
                        v.problem = "\(whereAt): record \(seq) where \(expectedSeq) was expected (records were deleted or duplicated)"
                        return v
                    }
                } else if state != nil {
                    v.problem = "\(whereAt): no \"seq\" in a sealed trail (forged or edited)"
                    return v
                }
                if state != nil {
                    guard let (sealed, tag) = AuditSeal.unseal(line) else {
                        v.problem = "\(whereAt): no seal in a sealed trail (forged or edited)"
                        return v
                    }
                    if let k = currentKey, AuditSeal.seal(sealed, key: k) != tag {
                        v.problem = "\(whereAt): the seal does not match (the record was edited, forged or re-chained)"
                        return v
                    }
                }
                if let clip = object["clip"]?.string {
                    clips.insert(clip)
                    let path = directory + "/" + clip
                    if !fileExists(path) {
                        v.problem = "\(whereAt): its clip \(clip) is missing (deleted)"
                        return v
                    }
                    if let want = object["clip_sha256"]?.string {
                        guard let got = try? SHA256.hexDigest(ofFile: path), got == want else {
                            v.problem = "\(whereAt): its clip \(clip) does not have the recorded sha256 (replaced or edited)"
                            return v
                        }
                    }
                }
                if let id = object["id"]?.string {
                    if object["decision"]?.string == AuditDecision.executing.rawValue { executing[id] = v.records } else { executing[id] = nil }
                }
                previous = hash(line)
                currentKey = currentKey.map(AuditSeal.evolve)
                expectedSeq += 1
                v.records += 1
            }
        }
        v.interruptedActions = executing.sorted { $0.value < $1.value }.map { $0.key }
        let onDisk = directoryEntries(directory + "/clips") ?? []
        v.unreferencedClips = onDisk.filter { $0.hasSuffix(".opus") && !clips.contains("clips/" + $0) }.sorted()
        if let state { return checkState(state, key: key, nextSeq: expectedSeq, v) }
        return v
    }

    /// The end of a sealed trail: the state must hold the key of record `nextSeq` (or of the last
    /// record, when a crash came between its write and the state's replacement).
    private static func checkState(_ state: AuditSeal.State, key: [UInt8]?, nextSeq: Int, _ verification: Verification) -> Verification {
        var v = verification
        if state.nextSeq > nextSeq {
            v.problem = "\(state.nextSeq - nextSeq) record(s) missing at the end: the sealing state is at record \(state.nextSeq), the log ends before \(nextSeq) (truncated or emptied)"
            return v
        }
        if state.nextSeq < nextSeq - 1 {
            v.problem = "the log has \(nextSeq - state.nextSeq) record(s) after the sealing state's position \(state.nextSeq) (appended without the device's key)"
            return v
        }
        v.stateBehindByOne = state.nextSeq == nextSeq - 1
        if let key, AuditSeal.key(key, evolvedTimes: state.nextSeq) != state.key {
            v.problem = "\(AuditSeal.stateFileName): its key is not the key of record \(state.nextSeq) (the state was replaced or edited)"
            return v
        }
        return v
    }
}

extension AuditLog.Verification {
    /// The report `audit verify` prints: "ok: …" or "BROKEN: …", then one "note: …" line per
    /// finding that does not break the trail.
    public var reportLines: [String] {
        let what = sealsChecked ? "hash chain and seals intact" : "hash chain intact"
        var lines = [ok ? "ok: \(records) records in \(files.count) file(s), \(what)"
                        : "BROKEN: \(problem ?? "") (\(records) records verified before it)"]
        if sealed && !sealsChecked { lines.append("note: the trail is sealed but its seals were not checked; pass --key KEY") }
        if !sealed { lines.append("note: the trail is not sealed (bora audit init DIR seals a new one): edits that recompute the chain are not detectable") }
        if incompleteTail { lines.append("note: the last line is incomplete (a crash during a write); the records before it are intact") }
        if stateBehindByOne { lines.append("note: the last record's key step was interrupted by a crash; the next bora listen completes it") }
        if !interruptedActions.isEmpty {
            lines.append("note: \(interruptedActions.count) action(s) started with no outcome record (Bora stopped while they ran): \(interruptedActions.joined(separator: ", "))")
        }
        if !unreferencedClips.isEmpty {
            lines.append("note: \(unreferencedClips.count) clip(s) without a record (Bora stopped between a clip and its record), e.g. clips/\(unreferencedClips[0])")
        }
        return lines
    }

    /// The `audit verify --json` object.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["ok": .bool(ok), "records": .int(records), "files": JSONValue(files), "sealed": .bool(sealed),
                                      "seals_checked": .bool(sealsChecked), "incomplete_tail": .bool(incompleteTail),
                                      "interrupted_actions": JSONValue(interruptedActions), "unreferenced_clips": JSONValue(unreferencedClips)]
        if let problem { o["problem"] = .string(problem) }
        return .object(o)
    }
}

extension AuditLog {
    /// The verification key from `--key` text or a key file's contents (surrounding whitespace
    /// ignored): 32 bytes as 64 hex digits. `source` names it in the error.
    public static func parseKey(_ text: String, source: String) throws(AuditError) -> [UInt8] {
        var t = Substring(text)
        while let c = t.first, c == " " || c == "\n" || c == "\r" || c == "\t" { t = t.dropFirst() }
        while let c = t.last, c == " " || c == "\n" || c == "\r" || c == "\t" { t = t.dropLast() }
        guard let k = Hex.decode(String(t)), k.count == 32 else {
            throw AuditError(path: source, "not a verification key (64 hex digits, as printed by bora audit init)")
        }
        return k
    }
}
