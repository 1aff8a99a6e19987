/// The observed state of an index.
public enum ActualState: String, Sendable, Hashable, CaseIterable {
    case absent, creating, present, deleting, failed
}

/// The observed state of one index of a document: one entry of a status file.
public struct IndexStatus: Sendable, Hashable {
    /// What the index is.
    public var actualState: ActualState
    /// What the spec asked for when the controller last acted.
    public var desiredState: DesiredState
    /// When the index was first created, if it ever was.
    public var createdAt: Timestamp?
    /// When ``actualState`` last changed.
    public var updatedAt: Timestamp
    /// When the controller last acted on the index.
    public var lastReconciledAt: Timestamp
    /// The last failure, redacted and capped; cleared by a success.
    public var errorMessage: String?
    /// What the indexer returned for the index.
    public var indexData: JSONValue
    /// What was indexed (source blob and driver settings); for a failed entry, the revision
    /// whose operation failed.
    public var observedRevision: String?
    /// Failures since the last success, retry request or new revision.
    public var retryCount: Int
    /// When a failed operation is tried again.
    public var nextRetryAt: Timestamp?

    /// Creates an entry.
    public init(
        actualState: ActualState, desiredState: DesiredState, createdAt: Timestamp? = nil, updatedAt: Timestamp,
        lastReconciledAt: Timestamp, errorMessage: String? = nil, indexData: JSONValue = .object([:]),
        observedRevision: String? = nil, retryCount: Int = 0, nextRetryAt: Timestamp? = nil
    ) {
        self.actualState = actualState
        self.desiredState = desiredState
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastReconciledAt = lastReconciledAt
        self.errorMessage = errorMessage
        self.indexData = indexData
        self.observedRevision = observedRevision
        self.retryCount = retryCount
        self.nextRetryAt = nextRetryAt
    }
}

/// The observed state of one document: `status/<ab>/<id>.json` (DESIGN.md §3).
///
/// Written by the controller alone, in canonical JSON (sorted keys, two spaces, a trailing
/// newline), and only when something changed.
public struct DocumentStatus: Sendable, Hashable {
    /// The kind written in the file.
    public static let kind = "DocumentIndexStatus"

    /// The document id.
    public var documentId: String
    /// Its collection, if any.
    public var collection: String?
    /// The spec file that declared it when the controller last acted.
    public var specFile: String?
    /// The entries, by index type.
    public var indexes: [String: IndexStatus]
    /// The retry annotation value already acted on.
    public var lastHandledRetryAt: Timestamp?
    /// The recreate annotation value already acted on.
    public var lastHandledRecreateAt: Timestamp?

    /// Creates a status.
    public init(
        documentId: String, collection: String? = nil, specFile: String? = nil, indexes: [String: IndexStatus] = [:],
        lastHandledRetryAt: Timestamp? = nil, lastHandledRecreateAt: Timestamp? = nil
    ) {
        self.documentId = documentId
        self.collection = collection
        self.specFile = specFile
        self.indexes = indexes
        self.lastHandledRetryAt = lastHandledRetryAt
        self.lastHandledRecreateAt = lastHandledRecreateAt
    }

    /// `<statusDir>/<ab>/<id>.json`, where `ab` is the first byte of SHA-256 of the id in hex:
    /// a fan-out that keeps every tree object small.
    public static func path(for documentId: String, statusDir: String = "status") -> String {
        "\(statusDir)/\(Digests.sha256Hex(documentId).prefix(2))/\(documentId).json"
    }

    /// The file's content: canonical JSON and a trailing newline.
    public var fileText: String { json.canonicalText + "\n" }

    /// The status as JSON.
    public var json: JSONValue {
        func time(_ t: Timestamp?) -> JSONValue { t.map { .string($0.text) } ?? .null }
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        var entries: [String: JSONValue] = [:]
        for (type, s) in indexes {
            entries[type] = .object([
                "actualState": .string(s.actualState.rawValue),
                "createdAt": time(s.createdAt),
                "desiredState": .string(s.desiredState.rawValue),
                "errorMessage": text(s.errorMessage),
                "indexData": s.indexData,
                "lastReconciledAt": time(s.lastReconciledAt),
                "nextRetryAt": time(s.nextRetryAt),
                "observedRevision": text(s.observedRevision),
                "retryCount": .int(Int64(s.retryCount)),
                "updatedAt": time(s.updatedAt),
            ])
        }
        return .object([
            "apiVersion": .string(DocumentIndex.apiVersion),
            "collection": text(collection),
            "documentId": .string(documentId),
            "indexes": .object(entries),
            "kind": .string(Self.kind),
            "lastHandledRecreateAt": time(lastHandledRecreateAt),
            "lastHandledRetryAt": time(lastHandledRetryAt),
            "specFile": text(specFile),
        ])
    }

    /// Reads a status file.
    ///
    /// - Throws: ``StatusFileError`` naming what is wrong.
    public init(fileText: String) throws(StatusFileError) {
        guard let json = JSONValue(parsing: fileText) else { throw StatusFileError("not valid JSON") }
        guard json["kind"]?.stringValue == Self.kind else { throw StatusFileError("kind is not \(Self.kind)") }
        guard let id = json["documentId"]?.stringValue, Identifier.isValidID(id) else { throw StatusFileError("no valid documentId") }
        func time(_ value: JSONValue?, _ field: String) throws(StatusFileError) -> Timestamp? {
            guard let value, value != .null else { return nil }
            guard let text = value.stringValue, let t = Timestamp(text) else { throw StatusFileError("\(field) is not an RFC 3339 time") }
            return t
        }
        var indexes: [String: IndexStatus] = [:]
        guard case .object(let entries)? = json["indexes"] else { throw StatusFileError("indexes is not an object") }
        for (type, entry) in entries {
            guard let actual = entry["actualState"]?.stringValue.flatMap(ActualState.init(rawValue:)),
                  let desired = entry["desiredState"]?.stringValue.flatMap(DesiredState.init(rawValue:))
            else { throw StatusFileError("indexes.\(type) has no valid actualState and desiredState") }
            guard let updated = try time(entry["updatedAt"], "updatedAt"), let reconciled = try time(entry["lastReconciledAt"], "lastReconciledAt")
            else { throw StatusFileError("indexes.\(type) has no updatedAt or lastReconciledAt") }
            indexes[type] = IndexStatus(
                actualState: actual, desiredState: desired, createdAt: try time(entry["createdAt"], "createdAt"),
                updatedAt: updated, lastReconciledAt: reconciled, errorMessage: entry["errorMessage"]?.stringValue,
                indexData: entry["indexData"] ?? .object([:]), observedRevision: entry["observedRevision"]?.stringValue,
                retryCount: Int(entry["retryCount"]?.intValue ?? 0), nextRetryAt: try time(entry["nextRetryAt"], "nextRetryAt"))
        }
        self.init(
            documentId: id, collection: json["collection"]?.stringValue, specFile: json["specFile"]?.stringValue,
            indexes: indexes, lastHandledRetryAt: try time(json["lastHandledRetryAt"], "lastHandledRetryAt"),
            lastHandledRecreateAt: try time(json["lastHandledRecreateAt"], "lastHandledRecreateAt"))
    }
}

/// A status file that cannot be read. The controller reports it and treats the document as
/// having no status, which re-runs its operations (they are idempotent).
public struct StatusFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
