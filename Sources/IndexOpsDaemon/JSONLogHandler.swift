import Foundation
import IndexOpsCore
import Logging

/// A swift-log handler that writes one JSON object a line to standard error:
/// `{"time": …, "level": …, "label": …, "message": …, <metadata fields>…}`. Fields keep their
/// metadata names (`document_id`, `index_type`, `commit`, `duration`, …); a field named like one
/// of the fixed keys is prefixed with `field_`. Lines are written whole, so concurrent tasks
/// never interleave them.
public struct JSONLogHandler: LogHandler {
    /// Fields added to every line of the logger.
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    public var logLevel: Logger.Level = .info
    private let label: String

    /// A handler for a logger's `label`.
    public init(label: String) {
        self.label = label
    }

    /// One field of ``metadata``.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var object: [String: JSONValue] = [:]
        var fields = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        if let error = event.error {
            fields["error.message"] = .string(String(describing: error))
            fields["error.type"] = .string(String(reflecting: type(of: error)))
        }
        for (key, value) in fields {
            object[["time", "level", "label", "message"].contains(key) ? "field_" + key : key] = Self.json(value)
        }
        object["time"] = .string(Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970).text)
        object["level"] = .string(event.level.rawValue)
        object["label"] = .string(label)
        object["message"] = .string(event.message.description)
        // canonicalText is indented; a log line is one line.
        let line = Self.compact(.object(object)) + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let s): return .string(s.description)
        case .array(let items): return .array(items.map(json))
        case .dictionary(let d): return .object(d.mapValues(json))
        }
    }

    /// JSON on one line.
    static func compact(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(d) : "null"
        case .string(let s): return JSONValue.string(s).canonicalText
        case .array(let items): return "[" + items.map(compact).joined(separator: ",") + "]"
        case .object(let o):
            return "{" + o.sorted { $0.key < $1.key }.map { JSONValue.string($0.key).canonicalText + ":" + compact($0.value) }
                .joined(separator: ",") + "}"
        }
    }
}
