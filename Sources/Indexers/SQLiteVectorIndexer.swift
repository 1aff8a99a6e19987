import IndexOpsCore
internal import FaultInjection

/// The `sqlite-vector` driver: one vector per chunk of a document, in SQLite, searched by
/// cosine similarity.
///
/// With an ``EmbeddingClient`` (the index type's `embedder`), the vectors are a model's
/// embeddings, chunks sent in batches, and a query is embedded the same way: semantic search.
/// Without one it is **lexical, not semantic**: it needs no model, a vector is the
/// L2-normalised, sign-hashed counts of a chunk's lower-cased words (see the README), so a
/// query finds the chunks that share its words, not their synonyms.
///
/// Each index type has one table, `vec_<type>` (`document_id`, `collection`, `seq`, `text`,
/// `vector`: a blob of `dimensions` little-endian `Float32`s). Create is an upsert in one
/// transaction; delete of a document that is not there succeeds; search is brute force over
/// the rows (of the collection, when one is given).
public struct SQLiteVectorIndexer: SearchableIndexer {
    /// The index type this indexer builds.
    public let indexType: String
    /// The SQLite database file.
    public let databasePath: String
    /// The length of the vectors.
    public var dimensions: Int { embedder?.dimensions ?? hasher.dimensions }
    private let hasher: TermHasher
    private let embedder: EmbeddingClient?
    private let store: SQLiteStore
    private let chunker = TextChunker()

    /// The default vector length.
    public static let defaultDimensions = 1_024

    /// Creates the indexer of an index type; opens nothing yet.
    ///
    /// - Parameters:
    ///   - dimensions: the length of the feature-hashed vectors (without an embedder).
    ///   - embedder: the embeddings endpoint; `nil`: feature-hashed vectors.
    /// - Throws: ``IndexerError`` when `indexType` is not a valid index type name or
    ///   `dimensions` is not positive.
    public init(
        indexType: String, databasePath: String, dimensions: Int = SQLiteVectorIndexer.defaultDimensions, embedder: EmbeddingClient? = nil
    ) throws(IndexerError) {
        if let problem = Identifier.indexTypeProblem(indexType) { throw IndexerError("sqlite-vector: \(problem)") }
        guard dimensions > 0 else { throw IndexerError("sqlite-vector: dimensions must be positive") }
        self.indexType = indexType
        self.databasePath = databasePath
        hasher = TermHasher(dimensions: dimensions)
        self.embedder = embedder
        store = SQLiteStore.shared(path: databasePath)
    }

    private var table: String { quotedIdentifier("vec_\(indexType)") }

    private var schema: String {
        """
        CREATE TABLE IF NOT EXISTS \(table)(
            id INTEGER PRIMARY KEY, document_id TEXT NOT NULL, collection TEXT,
            seq INTEGER NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL);
        CREATE INDEX IF NOT EXISTS \(quotedIdentifier("vec_\(indexType)_document")) ON \(table)(document_id);
        CREATE INDEX IF NOT EXISTS \(quotedIdentifier("vec_\(indexType)_collection")) ON \(table)(collection);
        """
    }

    private func run<T: Sendable>(_ body: @Sendable (SQLiteConnection) throws(IndexerError) -> T) async throws -> T {
        try Task.checkCancellation()
        return try await store.run(table: "vec_\(indexType)", schema: schema, body)
    }

    /// Replaces the document's vectors with those of the chunks of `request.content`;
    /// returns `{"chunks": N, "dimensions": D}`, and `"model"` with an embedder.
    ///
    /// - Throws: ``IndexerError`` when there is no content (a URI source: use an `exec`
    ///   indexer), when it is binary, when the embedder fails (see ``EmbeddingClient``) or
    ///   when SQLite fails; `CancellationError` when the task is cancelled before the write.
    public func create(_ request: IndexRequest) async throws -> JSONValue {
        guard let content = request.content else {
            throw IndexerError("sqlite-vector: the source has no content here (a URI source needs an exec indexer)")
        }
        let chunks = chunker.chunks(of: try TextChunker.text(of: content, driver: "sqlite-vector"))
        let vectors = try await embedder?.embed(chunks) ?? chunks.map(hasher.vector(of:))
        let rows = zip(chunks, vectors).map { (text: $0, blob: TermHasher.blob(of: $1)) }
        let table = table
        try await run { db throws(IndexerError) in
            try db.transaction { () throws(IndexerError) in
                try db.prepare("DELETE FROM \(table) WHERE document_id = ?").run([.text(request.documentId)])
                let insert = try db.prepare("INSERT INTO \(table)(document_id, collection, seq, text, vector) VALUES (?, ?, ?, ?, ?)")
                for (seq, row) in rows.enumerated() {
                    try insert.run([
                        .text(request.documentId), request.collection.map { .text($0) } ?? .null,
                        .int(Int64(seq)), .text(row.text), .blob(row.blob),
                    ])
                }
                try Failpoints.hit(.sqliteTransaction) { IndexerError($0) }
            }
        }
        var data: [String: JSONValue] = ["chunks": .int(Int64(chunks.count)), "dimensions": .int(Int64(dimensions))]
        if let embedder { data["model"] = .string(embedder.settings.model) }
        return .object(data)
    }

    /// Removes the document's vectors; succeeds when there are none.
    public func delete(_ request: IndexRequest) async throws {
        let table = table
        try await run { db throws(IndexerError) in
            try db.prepare("DELETE FROM \(table) WHERE document_id = ?").run([.text(request.documentId)])
        }
    }

    /// The documents that have at least one vector.
    public func documentIDs() async throws -> Set<String>? {
        let table = table
        return try await run { db throws(IndexerError) in
            let select = try db.prepare("SELECT DISTINCT document_id FROM \(table)")
            try select.bind([])
            var ids: Set<String> = []
            while try select.step() { if let id = select.text(0) { ids.insert(id) } }
            return ids
        }
    }

    /// The best chunk of each of the `limit` documents most similar to the query, by cosine
    /// similarity (in [-1, 1], higher is better), best first. Chunks with no similarity
    /// (score ≤ 0) are left out; a query without a word finds nothing. With an embedder the
    /// query is embedded first (one request).
    public func search(_ query: String, collection: String?, limit: Int) async throws -> [SearchHit] {
        guard !query.allSatisfy(\.isWhitespace) else { return [] }
        let vector = try await embedder?.embed([query]).first ?? hasher.vector(of: query)
        guard limit > 0, vector.contains(where: { $0 != 0 }) else { return [] }
        let table = table
        return try await run { db throws(IndexerError) in
            let select = try db.prepare("SELECT document_id, collection, text, vector FROM \(table) WHERE ?1 IS NULL OR collection = ?1")
            try select.bind([collection.map { .text($0) } ?? .null])
            var best: [String: SearchHit] = [:]
            while try select.step() {
                guard let score = select.withBlob(3, { TermHasher.dot(vector, blob: $0) }), score > 0,
                      let id = select.text(0) else { continue }
                if let current = best[id], current.score >= Double(score) { continue }
                best[id] = SearchHit(documentId: id, collection: select.text(1), score: Double(score), text: select.text(2) ?? "")
            }
            let ranked = best.values.sorted { $0.score != $1.score ? $0.score > $1.score : $0.documentId < $1.documentId }
            return Array(ranked.prefix(limit))
        }
    }
}
