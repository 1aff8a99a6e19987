internal import CGit2

/// A git object id (SHA-1), as a value: 40 lowercase hex digits.
public struct OID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The 40 lowercase hex digits.
    public let hex: String

    /// Parses a full 40-digit hex id; `nil` when `hex` is not one.
    public init?(hex: String) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }) else {
            return nil
        }
        self.hex = hex.lowercased()
    }

    init(_ oid: git_oid) {
        var oid = oid
        var buffer = [CChar](repeating: 0, count: 41)
        git_oid_tostr(&buffer, buffer.count, &oid)
        hex = String(decoding: buffer.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    init(_ pointer: UnsafePointer<git_oid>) {
        self.init(pointer.pointee)
    }

    /// The id whose 20 bytes are `bytes`.
    init(bytes: [UInt8]) {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { $0.copyBytes(from: bytes.prefix(20)) }
        self.init(oid)
    }

    /// The 20 bytes of the id.
    var bytes: [UInt8] {
        let oid = raw
        return withUnsafeBytes(of: oid.id) { Array($0) }
    }

    /// The libgit2 form of the id.
    var raw: git_oid {
        var oid = git_oid()
        _ = git_oid_fromstrn(&oid, hex, hex.utf8.count)
        return oid
    }

    /// The first seven digits, as `git log --oneline` shows.
    public var short: String { String(hex.prefix(7)) }

    /// The 40 hex digits.
    public var description: String { hex }

    /// Orders ids by their hex digits.
    public static func < (lhs: OID, rhs: OID) -> Bool { lhs.hex < rhs.hex }
}
