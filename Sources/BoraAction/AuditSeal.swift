import BoraAudio
import BoraCore
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Forward-secure sealing of the audit trail (the idea of systemd-journald's `--setup-keys`, with
/// a hash chain of keys instead of journald's FSPRG):
///
/// - `bora audit init` draws a random 32-byte key k₀ and prints it once — the **verification
///   key**, which the operator keeps off the device. The device stores only the current key.
/// - Record number `seq` is sealed with kₛₑq: its line ends in `,"seal":"HMAC-SHA256(kₛₑq, line
///   without the seal + "}")"}`. After each record the device replaces its key by
///   kₛₑq₊₁ = SHA-256("bora-audit-evolve-v1" ‖ kₛₑq) and keeps nothing older.
/// - Whoever takes the device later holds only kₙ: SHA-256 cannot be run backwards, so no record
///   before n can be changed, re-sealed or replaced. The state file also records n (the next
///   seq): cutting records off the end leaves the state ahead of the log, and the attacker cannot
///   produce the older key that would match a shorter log.
/// - The verifier derives every kᵢ from k₀. k₀ is a **secret**: with it one can seal anything
///   (a symmetric scheme; journald's FSPRG is asymmetric but needs big-number arithmetic).
/// - Limit: whoever holds the device's current key can append new sealed records after the last
///   one — sealing protects the past, not the future. The old key's bytes can survive on flash
///   after the state file is replaced (the filesystem and the flash translation layer decide).
public enum AuditSeal {
    /// The state file in the audit directory (mode 0600).
    public static let stateFileName = "seal.state"
    static let evolveLabel = Array("bora-audit-evolve-v1".utf8)
    static let idLabel = Array("bora-audit-key-id-v1".utf8)

    /// kᵢ₊₁ from kᵢ.
    public static func evolve(_ key: [UInt8]) -> [UInt8] {
        var h = SHA256()
        evolveLabel.withUnsafeBytes { h.update($0) }
        key.withUnsafeBytes { h.update($0) }
        return h.finalize()
    }

    /// kᵢ from k₀ (i evolutions).
    public static func key(_ initial: [UInt8], evolvedTimes i: Int) -> [UInt8] {
        var k = initial
        for _ in 0..<i { k = evolve(k) }
        return k
    }

    /// A short public name of k₀ (16 hex digits), stored in the state so that a wrong key and a
    /// replaced state are told apart from tampered records.
    public static func keyId(_ initial: [UInt8]) -> String {
        var h = SHA256()
        idLabel.withUnsafeBytes { h.update($0) }
        initial.withUnsafeBytes { h.update($0) }
        return String(Hex.encode(h.finalize()).prefix(16))
    }

    /// The seal (hex HMAC-SHA256) of `sealed` (a record's JSON without its seal) under `key`.
    public static func seal(_ sealed: [UInt8], key: [UInt8]) -> String {
        Hex.encode(HMACSHA256.mac(key: key, message: sealed))
    }

    /// `,"seal":"` — the suffix of a sealed line is this, 64 hex digits, then `"}`.
    static let sealPrefix = Array(",\"seal\":\"".utf8)
    static let sealedSuffixLength = sealPrefix.count + 64 + 2

    /// `json` (an object, ending in `}`) with the seal under `key` appended as its last member.
    static func sealLine(_ json: [UInt8], key: [UInt8]) -> [UInt8] {
        let tag = seal(json, key: key)
        return json.dropLast() + sealPrefix + Array(tag.utf8) + Array("\"}".utf8)
    }

    /// Splits a sealed line into the bytes that were sealed and the seal; nil when the line does
    /// not end in a seal member.
    static func unseal<C: BidirectionalCollection<UInt8>>(_ line: C) -> (sealed: [UInt8], seal: String)? {
        let bytes = Array(line)
        guard bytes.count > sealedSuffixLength else { return nil }
        let cut = bytes.count - sealedSuffixLength
        guard Array(bytes[cut..<cut + sealPrefix.count]) == sealPrefix,
              bytes[bytes.count - 2] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "}") else { return nil }
        let tag = String(decoding: bytes[(cut + sealPrefix.count)..<(bytes.count - 2)], as: UTF8.self)
        guard Hex.decode(tag)?.count == 32 else { return nil }
        return (Array(bytes[0..<cut]) + [UInt8(ascii: "}")], tag)
    }

    /// The device's sealing state: the key for record `nextSeq`.
    public struct State: Equatable, Sendable {
        public var keyId: String
        public var nextSeq: Int
        public var key: [UInt8]

        /// Text form: `bora-audit-seal v1`, then `key_id`, `next_seq`, `key` lines.
        var text: String { "bora-audit-seal v1\nkey_id \(keyId)\nnext_seq \(nextSeq)\nkey \(Hex.encode(key))\n" }

        static func parse(_ text: String) -> State? {
            var fields: [String: String] = [:]
            let lines = text.split(separator: "\n")
            guard lines.first == "bora-audit-seal v1" else { return nil }
            for line in lines.dropFirst() {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { return nil }
                fields[String(parts[0])] = String(parts[1])
            }
            guard let id = fields["key_id"], id.count == 16, let n = fields["next_seq"].flatMap({ Int($0) }), n >= 0,
                  let k = fields["key"].flatMap({ Hex.decode($0) }), k.count == 32 else { return nil }
            return State(keyId: id, nextSeq: n, key: k)
        }

        /// Reads `DIR/seal.state`: nil when absent; an error when unreadable or malformed.
        static func read(directory: String) throws(AuditError) -> State? {
            let path = directory + "/" + stateFileName
            guard let bytes = readWholeFile(path) else {
                if errno == ENOENT { return nil }
                throw AuditError(path: path, "cannot read the sealing state (\(errorText(errno))); check permissions")
            }
            guard let state = parse(String(decoding: bytes, as: UTF8.self)) else {
                throw AuditError(path: path, "the sealing state is malformed (edited or corrupted)")
            }
            return state
        }

        /// Replaces `DIR/seal.state` atomically (temp, 0600, fsync, rename, fsync of the directory).
        func write(directory: String) throws(AuditError) {
            let path = directory + "/" + stateFileName
            do { try AtomicFile.write(Array(text.utf8), to: path, mode: 0o600) } catch {
                throw AuditError(path: path, "cannot write the sealing state (\(error))")
            }
            syncDirectory(directory)
        }
    }

    /// Creates the sealing state of a new audit trail in `directory` (created 0700 when missing)
    /// and returns the verification key k₀. Refuses a directory that already has a state or records.
    public static func initialize(directory: String) throws(AuditError) -> [UInt8] {
        try makeDirectory(directory, mode: 0o700)
        if try State.read(directory: directory) != nil {
            throw AuditError(path: directory, "already sealed (\(stateFileName) exists); its verification key was printed when it was created")
        }
        if AuditLog.logFiles(directory).contains(where: { (fileSize(directory + "/" + $0) ?? 0) > 0 }) {
            throw AuditError(path: directory, "holds an unsealed audit log; seal a new, empty directory (move this one aside)")
        }
        // The kernel's CSPRNG (/dev/urandom never blocks once the pool is initialized at boot).
        let random = posixOpen("/dev/urandom", O_RDONLY | O_CLOEXEC)
        var k0 = [UInt8](repeating: 0, count: 32)
        let got = random < 0 ? -1 : k0.withUnsafeMutableBytes { read(random, $0.baseAddress, 32) }
        if random >= 0 { close(random) }
        guard got == 32 else { throw AuditError(path: "/dev/urandom", "cannot read random bytes for the key (\(errorText(errno)))") }
        try State(keyId: keyId(k0), nextSeq: 0, key: k0).write(directory: directory)
        return k0
    }
}

/// Size of the file at `path`, nil when it does not exist.
func fileSize(_ path: String) -> Int? {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : nil
}

/// fsync of a directory, so a rename or a new file in it survives a power cut.
func syncDirectory(_ path: String) {
    let fd = posixOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
}

/// Creates `path` (and missing parents) with `mode` for the directories it creates; existing
/// directories keep their mode.
func makeDirectory(_ path: String, mode: mode_t, group: gid_t? = nil) throws(AuditError) {
    if mkdir(path, mode) == 0 {
        chmod(path, mode)   // exact, whatever the umask
        if let group { chown(path, uid_t.max, group) }
        return
    }
    let e = errno
    if e == EEXIST {
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & mode_t(S_IFMT)) == mode_t(S_IFDIR) { return }
        throw AuditError(path: path, "exists and is not a directory; choose another --audit DIR")
    }
    if e == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
        try makeDirectory(String(path[..<slash]), mode: mode, group: group)
        if mkdir(path, mode) == 0 || errno == EEXIST {   // once: the parent exists now
            chmod(path, mode)
            if let group { chown(path, uid_t.max, group) }
            return
        }
        throw AuditError(path: path, "cannot create the audit directory (\(errorText(errno))); choose a writable --audit DIR")
    }
    throw AuditError(path: path, "cannot create the audit directory (\(errorText(e))); choose a writable --audit DIR")
}
