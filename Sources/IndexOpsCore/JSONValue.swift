/// A JSON value, written in one canonical form: keys sorted, two-space indentation, `": "`
/// between key and value, so that a status file's diff shows exactly what changed.
///
/// Used for status files and for what indexers return (`indexData`), whose shape indexops
/// does not know.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value written canonically, without a trailing newline.
    public var canonicalText: String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// Written as UTF-8 bytes: a status file is written for every document of a pass, and
    /// this is most of the cost of committing ten thousand of them.
    private func write(to out: inout [UInt8], indent: Int) {
        func spaces(_ count: Int) { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: count)) }
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)).utf8 } else if d.isFinite { out += "\(d)".utf8 } else { out += "null".utf8 }
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]".utf8; return }
            out += "[\n".utf8
            for (i, item) in items.enumerated() {
                spaces(indent + 2)
                item.write(to: &out, indent: indent + 2)
                out += (i == items.count - 1 ? "\n" : ",\n").utf8
            }
            spaces(indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { out += "{}".utf8; return }
            out += "{\n".utf8
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                spaces(indent + 2)
                Self.writeString(key, to: &out)
                out += ": ".utf8
                members[key]!.write(to: &out, indent: indent + 2)
                out += (i == keys.count - 1 ? "\n" : ",\n").utf8
            }
            spaces(indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`, `\r`, `\t` or
    /// `\u00xx`; every other byte of the UTF-8 as it is.
    private static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case UInt8(ascii: "\n"): out += #"\n"#.utf8
            case UInt8(ascii: "\r"): out += #"\r"#.utf8
            case UInt8(ascii: "\t"): out += #"\t"#.utf8
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += #"\u00"#.utf8
                out += [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Parses JSON text (RFC 8259); `nil` when it is not valid JSON. Depth is limited to 64.
    public init?(parsing text: String) {
        var parser = Parser(bytes: Array(text.utf8))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { return nil }
        self = value
    }

    /// The first key that appears twice in one object of `text` (the parser above keeps the
    /// last), or `nil`; `nil` too when `text` is not valid JSON.
    public static func duplicateKey(in text: String) -> String? {
        var parser = Parser(bytes: Array(text.utf8))
        parser.noticeDuplicates = true
        _ = parser.value(depth: 0)
        return parser.duplicate
    }

    /// The member of an object, or `nil`.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The text of a string value, or `nil`.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value of a number, or `nil`.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int64(d)
        default: return nil
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var noticeDuplicates = false
        var duplicate: String?

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else { return false }
            index += w.count
            return true
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth < 64 else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "["):
                index += 1
                var items: [JSONValue] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                while true {
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                    return nil
                }
            case UInt8(ascii: "{"):
                index += 1
                var members: [String: JSONValue] = [:]
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                    index += 1
                    guard let member = value(depth: depth + 1) else { return nil }
                    if noticeDuplicates, duplicate == nil, members[key] != nil { duplicate = key }
                    members[key] = member
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                    return nil
                }
            default:
                return number()
            }
        }

        mutating func number() -> JSONValue? {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard !text.isEmpty else { return nil }
            if let i = Int64(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { return nil }
            return .double(d)
        }

        mutating func string() -> String? {
            index += 1
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ end: Int) -> Bool {
                guard let s = String(validating: bytes[run..<end], as: UTF8.self) else { return false }
                scalars.append(contentsOf: s.unicodeScalars)
                return true
            }
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    guard flush(index) else { return nil }
                    index += 1
                    return String(scalars)
                }
                if b < 0x20 { return nil }
                if b == UInt8(ascii: "\\") {
                    guard flush(index), index + 1 < bytes.count else { return nil }
                    index += 1
                    switch bytes[index] {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard var code = hex4(index + 1) else { return nil }
                        index += 4
                        if (0xD800..<0xDC00).contains(code) {
                            guard index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "\\"), bytes[index + 2] == UInt8(ascii: "u"),
                                  let low = hex4(index + 3), (0xDC00..<0xE000).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            index += 6
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        scalars.append(scalar)
                    default: return nil
                    }
                    index += 1
                    run = index
                    continue
                }
                index += 1
            }
            return nil
        }

        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            return UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16)
        }
    }
}
