import Crypto

/// The SHA-256 hex digests that name things in the repository: the status fan-out folder
/// (DESIGN.md §1) and the revision fingerprints. swift-crypto computes them; this only fixes
/// their text form (lower-case hex of the UTF-8), which must never change: status paths and
/// every index's `observedRevision` are made of it.
public enum Digests {
    /// The SHA-256 of a string's UTF-8, in lower-case hex.
    public static func sha256Hex(_ text: String) -> String {
        hex(SHA256.hash(data: Array(text.utf8)))
    }

    /// The first 8 bytes of the SHA-256 of a string's UTF-8, as a big-endian unsigned integer:
    /// the document hash of the shards (``Shard``).
    public static func sha256Prefix64(_ text: String) -> UInt64 {
        SHA256.hash(data: Array(text.utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Lower-case hex of bytes.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
