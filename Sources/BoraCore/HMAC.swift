/// HMAC-SHA256 (RFC 2104 / FIPS 198-1) over `SHA256`. Foundation-free, so it builds wherever
/// `SHA256`'s block function does (the audit trail's seals use it).
public struct HMACSHA256: Sendable {
    private var inner = SHA256()
    private var outerKey: [UInt8]

    /// Starts a MAC under `key` (any length; keys longer than 64 bytes are hashed first).
    public init(key: [UInt8]) {
        var k = key
        if k.count > 64 { var h = SHA256(); k.withUnsafeBytes { h.update($0) }; k = h.finalize() }
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let ipad = k.map { $0 ^ 0x36 }
        outerKey = k.map { $0 ^ 0x5c }
        ipad.withUnsafeBytes { inner.update($0) }
    }

    /// Adds message bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { inner.update(bytes) }

    /// Adds message bytes.
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { inner.update($0) } }

    /// Finishes and returns the 32-byte tag.
    public mutating func finalize() -> [UInt8] {
        let innerDigest = inner.finalize()
        var outer = SHA256()
        outerKey.withUnsafeBytes { outer.update($0) }
        innerDigest.withUnsafeBytes { outer.update($0) }
        return outer.finalize()
    }

    /// The tag of `message` under `key`.
    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var h = HMACSHA256(key: key)
        h.update(message)
        return h.finalize()
    }
}

/// Hex text of byte strings (digests, keys).
public enum Hex {
    /// Lower-case hex of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of a hex string (either case), or nil when it is not whole hex bytes.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
