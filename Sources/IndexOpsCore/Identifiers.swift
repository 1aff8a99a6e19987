/// The naming rules of DESIGN.md §2.
public enum Identifier {
    /// Whether `text` is a valid document or collection id:
    /// `[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?`.
    public static func isValidID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func edge(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard edge(bytes[0]), edge(bytes[bytes.count - 1]) else { return false }
        return bytes.allSatisfy { edge($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    /// Whether `text` is a valid index type name: `[a-z][a-z0-9-]{0,62}`.
    public static func isValidIndexType(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count), bytes[0] >= 0x61, bytes[0] <= 0x7A else { return false }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// Why `text` is not a valid id, in words a person can act on; `nil` when it is valid.
    public static func idProblem(_ text: String) -> String? {
        if isValidID(text) { return nil }
        if text.isEmpty { return "must not be empty" }
        if text.utf8.count > 128 { return "\"\(text.prefix(40))…\" is longer than 128 characters" }
        return "\"\(text)\" is not a valid id: use lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
    }

    /// Why `text` is not a valid index type name; `nil` when it is valid.
    public static func indexTypeProblem(_ text: String) -> String? {
        if isValidIndexType(text) { return nil }
        return "\"\(text)\" is not a valid index type name: use lower-case letters, digits and '-', starting with a letter, at most 63 characters"
    }
}
