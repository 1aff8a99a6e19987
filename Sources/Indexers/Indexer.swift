import IndexOpsCore

/// One operation on one index of one document.
public struct IndexRequest: Sendable, Hashable {
    /// Create (an upsert) or delete (of an index that may not be there).
    public var action: IndexOperationKind
    /// The document id.
    public var documentId: String
    /// The index type, as configured.
    public var indexType: String
    /// The document's collection, if any.
    public var collection: String?
    /// What is being indexed; becomes the status's `observedRevision`.
    public var revision: String
    /// Where the content comes from.
    public var source: Source
    /// The source's bytes when it is a file in the repository; `nil` for a URI source and
    /// for deletes.
    public var content: [UInt8]?

    /// Creates a request.
    public init(action: IndexOperationKind, documentId: String, indexType: String, collection: String?, revision: String, source: Source, content: [UInt8]?) {
        self.action = action
        self.documentId = documentId
        self.indexType = indexType
        self.collection = collection
        self.revision = revision
        self.source = source
        self.content = content
    }

    /// `documentId/indexType/revision`: the same operation repeated carries the same key.
    public var idempotencyKey: String { "\(documentId)/\(indexType)/\(revision)" }
}

/// A failed operation. The message is shown in status files and logs: it is capped at 2 KiB
/// and must carry no secret.
public struct IndexerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for people.
    public var message: String
    /// The operation cannot succeed until the spec, the source or the configuration changes
    /// (an index type that is not configured, a source that is missing or over a size limit):
    /// it is not retried with backoff (DESIGN.md §4). Everything else is transient.
    public var isTerminal: Bool

    /// Creates an error, capping the message at 2 KiB.
    public init(_ message: String, terminal: Bool = false) {
        var capped = message
        if capped.utf8.count > 2048 {
            capped = String(decoding: Array(capped.utf8.prefix(2040)), as: UTF8.self) + " …"
        }
        self.message = capped
        self.isTerminal = terminal
    }

    public var description: String { message }
}

/// Builds and deletes the indexes of one index type.
///
/// Create must be idempotent (an upsert): running it twice leaves one index. Delete must
/// succeed when the index is not there. Both may be cancelled (the operation timeout): an
/// implementation stops its work and throws when its task is cancelled.
public protocol Indexer: Sendable {
    /// Builds (or rebuilds) the index of a document; returns the `indexData` to record.
    func create(_ request: IndexRequest) async throws -> JSONValue
    /// Removes the index of a document, if it is there.
    func delete(_ request: IndexRequest) async throws
    /// The ids of the documents this index type holds, for garbage collection; `nil` when
    /// the indexer cannot list.
    func documentIDs() async throws -> Set<String>?
}

/// One result of a search over a built-in index.
public struct SearchHit: Sendable, Hashable, Codable {
    /// The document id.
    public var documentId: String
    /// Its collection.
    public var collection: String?
    /// Higher is better; comparable only within one search.
    public var score: Double
    /// The best matching chunk of text.
    public var text: String

    /// Creates a hit.
    public init(documentId: String, collection: String?, score: Double, text: String) {
        self.documentId = documentId
        self.collection = collection
        self.score = score
        self.text = text
    }
}

/// An index that `indexops search` can query.
public protocol SearchableIndexer: Indexer {
    /// The best `limit` hits for a query, best first, optionally within a collection.
    func search(_ query: String, collection: String?, limit: Int) async throws -> [SearchHit]
}
