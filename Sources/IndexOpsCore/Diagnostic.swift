import YAML

/// A problem found in the specs or the configuration, located at a file, line and column.
///
/// Sorted by file, then position, then message, so that output is stable. Rendered one per
/// line as a compiler does: `specs/a.yaml:6:13: error: mapping values are not allowed here`.
public struct Diagnostic: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// How bad it is. Errors fail `validate`; warnings are shown and do not.
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    /// The file, relative to the repository root where it lies inside it.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int
    /// How bad it is.
    public var severity: Severity
    /// A stable, machine-readable name of the problem (`syntax`, `duplicateId`, …).
    public var code: String
    /// What is wrong.
    public var message: String
    /// The source line and a caret under the column, or empty.
    public var snippet: String

    /// Creates a diagnostic.
    public init(file: String, line: Int, column: Int, severity: Severity = .error, code: String, message: String, snippet: String = "") {
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.code = code
        self.message = message
        self.snippet = snippet
    }

    /// A diagnostic for a YAML error.
    public init(_ error: YAMLError, severity: Severity = .error) {
        self.init(
            file: error.file, line: error.mark.line, column: error.mark.column, severity: severity,
            code: error.code.rawValue, message: error.message, snippet: error.snippet)
    }

    /// `file:line:column: severity: message`.
    public var description: String { "\(file):\(line):\(column): \(severity.rawValue): \(message)" }

    public static func < (a: Diagnostic, b: Diagnostic) -> Bool {
        (a.file, a.line, a.column, a.message) < (b.file, b.line, b.column, b.message)
    }
}
