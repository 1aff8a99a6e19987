/// A problem in a YAML source, located at a file, line and column.
///
/// Parse errors come from libyaml; the others from the limits and the decoder. The
/// ``description`` is one line, as a compiler prints it; ``snippet`` shows the source line
/// with a caret under the column.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: String, Sendable, Hashable, Codable {
        /// The text is not well-formed YAML (libyaml's scanner or parser said so).
        case syntax
        /// The bytes are not valid UTF-8 (or UTF-16 with a byte-order mark).
        case encoding
        /// A limit of ``YAMLLimits`` was passed.
        case limit
        /// An alias names no anchor, or the node that contains it.
        case alias
        /// A mapping has the same key twice.
        case duplicateKey
        /// A mapping has a key the schema does not know.
        case unknownField
        /// A required key is missing.
        case missingField
        /// A value has the wrong shape or type for its field.
        case typeMismatch
        /// A value has the right type but breaks a rule of the schema.
        case invalidValue
    }

    /// What kind of problem it is.
    public var code: Code
    /// The file as the caller named it.
    public var file: String
    /// Where the problem is.
    public var mark: Mark
    /// What is wrong, in a sentence without a trailing period.
    public var message: String
    /// The text of the source line at ``mark``, when it is known.
    public var sourceLine: String?

    /// Creates an error.
    public init(_ code: Code, file: String, mark: Mark, message: String, sourceLine: String? = nil) {
        self.code = code
        self.file = file
        self.mark = mark
        self.message = message
        self.sourceLine = sourceLine
    }

    /// `file:line:column: error: message`.
    public var description: String {
        "\(file):\(mark.line):\(mark.column): error: \(message)"
    }

    /// The source line and a caret under the column, each line indented by the line number
    /// gutter, or an empty string when the line is not known:
    ///
    ///     6 |   name: doc: 1
    ///       |            ^
    public var snippet: String {
        guard let line = sourceLine else { return "" }
        let number = String(mark.line)
        let gutter = String(repeating: " ", count: number.count)
        var caret = ""
        for (i, ch) in line.unicodeScalars.enumerated() where i < mark.column - 1 {
            caret.unicodeScalars.append(ch == "\t" ? "\t" : " ")
        }
        return "\(number) | \(line)\n\(gutter) | \(caret)^"
    }
}

extension YAMLError {
    /// The error for a source larger than ``YAMLLimits/maxFileSize``, for callers that check
    /// a file's size before reading it.
    public static func fileTooLarge(file: String, size: Int, limits: YAMLLimits) -> YAMLError {
        YAMLError(
            .limit, file: file, mark: .start,
            message: "file is \(describe(bytes: size)), larger than the limit of \(describe(bytes: limits.maxFileSize)) (maxFileSize)")
    }

    /// The caret snippet for a position in a source that the caller holds, as ``snippet``
    /// renders it; empty when the line does not exist.
    public static func snippet(at mark: Mark, in bytes: [UInt8]) -> String {
        let source = SourceText(file: "", bytes: bytes)
        return YAMLError(.syntax, file: "", mark: mark, message: "", sourceLine: source.line(mark.line)).snippet
    }

    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 20 { return "\(bytes * 10 / (1 << 20) / 10).\(bytes * 10 / (1 << 20) % 10) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

/// The bytes of one source, to turn offsets into marks and marks into source lines.
final class SourceText: Sendable {
    let file: String
    let bytes: [UInt8]

    init(file: String, bytes: [UInt8]) {
        self.file = file
        self.bytes = bytes
    }

    /// The length in bytes of the line break at `i`, as libyaml counts lines: `\r\n`, `\r`,
    /// `\n`, NEL, LS and PS; 0 when there is none.
    private static func lineBreak(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        switch b[i] {
        case 10: return 1
        case 13: return i + 1 < b.count && b[i + 1] == 10 ? 2 : 1
        case 0xC2 where i + 1 < b.count && b[i + 1] == 0x85: return 2
        case 0xE2 where i + 2 < b.count && b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9): return 3
        default: return 0
        }
    }

    /// The text of a 1-based line, with invalid UTF-8 shown as U+FFFD and at most 200 characters.
    func line(_ number: Int) -> String? {
        bytes.withUnsafeBufferPointer { buffer -> String? in
            var current = 1
            var start = 0
            while current < number {
                while start < buffer.count, Self.lineBreak(buffer, at: start) == 0 { start += 1 }
                guard start < buffer.count else { return nil }
                start += Self.lineBreak(buffer, at: start)
                current += 1
            }
            var end = start
            let cap = min(buffer.count, start + 800)
            while end < cap, Self.lineBreak(buffer, at: end) == 0 { end += 1 }
            let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
            return text.unicodeScalars.count > 200 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(200))) : text
        }
    }

    /// The mark of a byte offset, counting lines as libyaml does and columns in UTF-8 characters.
    func mark(atOffset offset: Int) -> Mark {
        bytes.withUnsafeBufferPointer { buffer in
            var line = 1
            var column = 1
            var i = 0
            let end = min(offset, buffer.count)
            while i < end {
                let width = Self.lineBreak(buffer, at: i)
                if width > 0 {
                    line += 1
                    column = 1
                    i += width
                } else {
                    if buffer[i] & 0xC0 != 0x80 { column += 1 }
                    i += 1
                }
            }
            return Mark(line: line, column: column)
        }
    }

    func error(_ code: YAMLError.Code, at mark: Mark, _ message: String) -> YAMLError {
        YAMLError(code, file: file, mark: mark, message: message, sourceLine: line(mark.line))
    }
}
