/// The observed state of an index.
public enum ActualState: String, Sendable, Hashable, CaseIterable {
    case absent, creating, present, deleting, failed
}

/// The observed state of one index of a document: one entry of a status file.
public struct IndexStatus: Sendable, Hashable {
    /// The largest ``retryCount``: a status file holding more is invalid, and counting
    /// stops here (an orphan's failed delete goes on being retried at the longest backoff,
    /// so its count would otherwise grow without end). 1,000,000 retries 15 minutes apart
    /// take 28 years.
    public static let maxRetryCount = 1_000_000
    /// The longest ``errorMessage`` the controller writes, in bytes (DESIGN.md §4: 2 KiB).
    public static let maxErrorMessageLength = 2_048

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
    /// Failures since the last success, retry request or new revision, at most
    /// ``maxRetryCount``.
    public var retryCount: Int
    /// When a failed operation is tried again.
    public var nextRetryAt: Timestamp?
    /// Set when the failure is terminal (it cannot succeed until something changes): the
    /// fingerprint of the configuration it failed under. It is not retried with backoff, and is
    /// tried again when the source, the index type's settings or the configuration change.
    public var terminalConfig: String?
    /// The replica that wrote the last intent (`creating`, `deleting`) under a layout of
    /// several shards: its shard and name. `nil` under the single replica's layout (`0/1`).
    public var owner: IntentOwner?

    /// Creates an entry.
    public init(
        actualState: ActualState, desiredState: DesiredState, createdAt: Timestamp? = nil, updatedAt: Timestamp,
        lastReconciledAt: Timestamp, errorMessage: String? = nil, indexData: JSONValue = .object([:]),
        observedRevision: String? = nil, retryCount: Int = 0, nextRetryAt: Timestamp? = nil, terminalConfig: String? = nil,
        owner: IntentOwner? = nil
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
        self.terminalConfig = terminalConfig
        self.owner = owner
    }

    /// The shard layout the entry's last intent was written under (``Shard/single`` when it
    /// names no owner).
    public var ownerShard: Shard { owner?.shard ?? .single }
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
    /// Its source as the spec last declared it, so that deleting the indexes of a document
    /// whose spec is gone gets what creating them got. `nil` in files written before it was
    /// kept.
    public var source: Source?
    /// The entries, by index type.
    public var indexes: [String: IndexStatus]
    /// The retry annotation value already acted on.
    public var lastHandledRetryAt: Timestamp?
    /// The recreate annotation value already acted on.
    public var lastHandledRecreateAt: Timestamp?

    /// Creates a status.
    public init(
        documentId: String, collection: String? = nil, specFile: String? = nil, source: Source? = nil,
        indexes: [String: IndexStatus] = [:], lastHandledRetryAt: Timestamp? = nil, lastHandledRecreateAt: Timestamp? = nil
    ) {
        self.documentId = documentId
        self.collection = collection
        self.specFile = specFile
        self.source = source
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
            var entry: [String: JSONValue] = [
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
            ]
            if let config = s.terminalConfig { entry["terminalConfig"] = .string(config) }
            if let owner = s.owner { entry["owner"] = owner.json }
            entries[type] = .object(entry)
        }
        let members: [String: JSONValue] = [
            "apiVersion": .string(DocumentIndex.apiVersion),
            "collection": text(collection),
            "documentId": .string(documentId),
            "indexes": .object(entries),
            "kind": .string(Self.kind),
            "lastHandledRecreateAt": time(lastHandledRecreateAt),
            "lastHandledRetryAt": time(lastHandledRetryAt),
            "source": source?.json ?? .null,
            "specFile": text(specFile),
        ]
        return .object(members)
    }

    /// Reads a status file, checking every field as strictly as a spec is checked
    /// (``StatusFileRules``): types, ranges, known states, index type names, ids, times,
    /// the spec file's path, unknown fields and sizes. Nothing in the file can make later
    /// arithmetic trap: every number is within its documented bound.
    ///
    /// - Throws: ``StatusFileError`` naming the field and what is wrong with it.
    public init(fileText: String) throws(StatusFileError) {
        self = try StatusFileRules.read(fileText)
    }
}

/// A status file that cannot be read. The controller reports it and treats the document as
/// having no status, which re-runs its operations (they are idempotent).
public struct StatusFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field that is wrong (`indexes.graph.retryCount`), or `nil` for the whole file.
    public var field: String?
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String, field: String? = nil) {
        self.field = field
        self.message = message
    }
    /// `field: message`, or the message.
    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

extension Source {
    /// `{"path": …}` or `{"revision": …, "uri": …}`, as status files and exec requests write it.
    public var json: JSONValue {
        switch self {
        case .path(let path): .object(["path": .string(path)])
        case .uri(let uri, let revision): .object(["uri": .string(uri), "revision": revision.map(JSONValue.string) ?? .null])
        }
    }

    /// Reads a source written as ``json``.
    ///
    /// - Throws: ``StatusFileError`` for anything else, or a path or URI a spec could not hold.
    public init(json: JSONValue) throws(StatusFileError) {
        if let path = json["path"]?.stringValue {
            if let problem = Source.pathProblem(path) { throw StatusFileError(problem, field: "source") }
            self = .path(path)
        } else if let uri = json["uri"]?.stringValue {
            if let problem = Source.uriProblem(uri) { throw StatusFileError(problem, field: "source") }
            self = .uri(uri, revision: json["revision"]?.stringValue)
        } else {
            throw StatusFileError("must be {\"path\"} or {\"uri\", \"revision\"}", field: "source")
        }
    }
}
