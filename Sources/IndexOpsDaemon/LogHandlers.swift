import Foundation
import IndexOpsCore
import Logging

/// The loggers of the command line and the daemon: every line redacted
/// (``RedactingLogHandler``), then written as text (``TextLogHandler``) or JSON
/// (``JSONLogHandler``) to standard error.
public enum IndexOpsLogging {
    /// A logger labelled `indexops` at `level`.
    public static func logger(format: LogFormat, level: Logger.Level, redactor: Redactor) -> Logger {
        var logger = Logger(label: "indexops") { label in
            let inner: any LogHandler = format == .json ? JSONLogHandler(label: label) : TextLogHandler(label: label)
            return RedactingLogHandler(inner, redactor: redactor)
        }
        logger.logLevel = level
        return logger
    }
}

/// Replaces every configured secret in a log event (its message, its metadata, its error)
/// by `<redacted>` before the wrapped handler sees it: the log's one choke point for secrets
/// (DESIGN.md §10).
public struct RedactingLogHandler: LogHandler {
    private var inner: any LogHandler
    private let redactor: Redactor

    /// Wraps a handler.
    public init(_ inner: any LogHandler, redactor: Redactor) {
        self.inner = inner
        self.redactor = redactor
    }

    /// The wrapped handler's level.
    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    /// The wrapped handler's metadata, redacted when set.
    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(redact) }
    }

    /// The wrapped handler's metadata provider.
    public var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    /// One field of ``metadata``, redacted when set.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(redact) }
    }

    /// Redacts the event and passes it on.
    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: redactor.redact(event.message.description))
        var metadata = event.metadata?.mapValues(redact)
        if let error = event.error {
            // What a handler would print of the error, redacted; the error itself never passes.
            metadata = metadata ?? [:]
            metadata?["error.message"] = .string(redactor.redact(String(describing: error)))
            metadata?["error.type"] = .string(String(reflecting: type(of: error)))
            event.error = nil
        }
        event.metadata = metadata
        inner.log(event: event)
    }

    private func redact(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): return .string(redactor.redact(s))
        case .stringConvertible(let s): return .string(redactor.redact(s.description))
        case .array(let items): return .array(items.map(redact))
        case .dictionary(let d): return .dictionary(d.mapValues(redact))
        }
    }
}

/// A text log handler for people, writing to standard error one line per event in
/// swift-log's `StreamLogHandler` layout (`<time> <level> <label>: <metadata> [<source>]
/// <message>`), with every control character of the message, the metadata and the source
/// escaped (``DisplayText/line(_:)``): a newline or an escape sequence from exec stderr or a
/// spec value cannot forge a line or drive the terminal. Lines are written whole.
public struct TextLogHandler: LogHandler {
    /// Fields added to every line.
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    public var logLevel: Logger.Level = .info
    /// Adds fields from the task's context.
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    /// A handler for a logger's `label`, writing to standard error (or to `write`, for tests).
    public init(label: String, write: @escaping @Sendable (String) -> Void = TextLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    /// One field of ``metadata``.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let explicit = event.metadata { fields.merge(explicit) { $1 } }
        if let error = event.error {
            fields["error.message"] = .string(String(describing: error))
            fields["error.type"] = .string(String(reflecting: type(of: error)))
        }
        let pretty = fields.sorted { $0.key < $1.key }.map { "\(DisplayText.line($0.key))=\(DisplayText.line("\($0.value)"))" }
        var line = "\(Self.timestamp()) \(event.level) \(DisplayText.line(label)):"
        if !pretty.isEmpty { line += " " + pretty.joined(separator: " ") }
        line += " [\(DisplayText.line(event.source))] \(DisplayText.line(event.message.description))\n"
        write(line)
    }

    /// Writes a line to standard error in one call.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The local time as `StreamLogHandler` writes it: `2026-11-29T10:00:05+0000`.
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        guard localtime_r(&now, &parts) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
