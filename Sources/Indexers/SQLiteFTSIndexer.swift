import IndexOpsCore
internal import FaultInjection

/// The `sqlite-fts` driver: a document's text in chunks of about 1,000 characters, in an
/// SQLite FTS5 full-text index ranked by BM25.
///
/// Each index type has its own tables in the database file: `fts_<type>_chunks` (one row per
/// chunk: `document_id`, `collection`, `seq`, `text`) and the external-content FTS5 table
/// `fts_<type>` over it, kept in step by triggers. Create is an upsert (the document's rows
/// are deleted and inserted again in one transaction); delete of a document that is not
/// there succeeds. The file, its folder and the tables are created on first use.
public struct SQLiteFTSIndexer: SearchableIndexer {
    /// The index type this indexer builds.
    public let indexType: String
    /// The SQLite database file.
    public let databasePath: String
    private let store: SQLiteStore
    private let chunker = TextChunker()

    /// Creates the indexer of an index type; opens nothing yet.
    ///
    /// - Throws: ``IndexerError`` when `indexType` is not a valid index type name.
    public init(indexType: String, databasePath: String) throws(IndexerError) {
        if let problem = Identifier.indexTypeProblem(indexType) { throw IndexerError("sqlite-fts: \(problem)") }
        self.indexType = indexType
        self.databasePath = databasePath
        store = SQLiteStore.shared(path: databasePath)
    }

    private var chunksTable: String { quotedIdentifier("fts_\(indexType)_chunks") }
    private var ftsTable: String { quotedIdentifier("fts_\(indexType)") }

    private var schema: String {
        let chunks = chunksTable, fts = ftsTable
        return """
            CREATE TABLE IF NOT EXISTS \(chunks)(
                id INTEGER PRIMARY KEY, document_id TEXT NOT NULL, collection TEXT,
                seq INTEGER NOT NULL, text TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS \(quotedIdentifier("fts_\(indexType)_chunks_document")) ON \(chunks)(document_id);
            CREATE VIRTUAL TABLE IF NOT EXISTS \(fts) USING fts5(
                text, content='fts_\(indexType)_chunks', content_rowid='id',
                tokenize='unicode61 remove_diacritics 2');
            CREATE TRIGGER IF NOT EXISTS \(quotedIdentifier("fts_\(indexType)_insert")) AFTER INSERT ON \(chunks) BEGIN
                INSERT INTO \(fts)(rowid, text) VALUES (new.id, new.text);
            END;
            CREATE TRIGGER IF NOT EXISTS \(quotedIdentifier("fts_\(indexType)_delete")) AFTER DELETE ON \(chunks) BEGIN
                INSERT INTO \(fts)(\(fts), rowid, text) VALUES ('delete', old.id, old.text);
            END;
            """
    }

    private func run<T: Sendable>(_ body: @Sendable (SQLiteConnection) throws(IndexerError) -> T) async throws -> T {
        try Task.checkCancellation()
        return try await store.run(table: "fts_\(indexType)", schema: schema, body)
    }

    /// Replaces the document's chunks with the chunks of `request.content`; returns
    /// `{"chunks": N}`.
    ///
    /// - Throws: ``IndexerError`` when there is no content (a URI source: use an `exec`
    ///   indexer), when it is binary, or when SQLite fails; `CancellationError` when the task
    ///   is cancelled before the write.
    public func create(_ request: IndexRequest) async throws -> JSONValue {
        guard let content = request.content else {
            throw IndexerError("sqlite-fts: the source has no content here (a URI source needs an exec indexer)")
        }
        let chunks = chunker.chunks(of: try TextChunker.text(of: content, driver: "sqlite-fts"))
        let chunksTable = chunksTable
        try await run { db throws(IndexerError) in
            try db.transaction { () throws(IndexerError) in
                try db.prepare("DELETE FROM \(chunksTable) WHERE document_id = ?").run([.text(request.documentId)])
                let insert = try db.prepare("INSERT INTO \(chunksTable)(document_id, collection, seq, text) VALUES (?, ?, ?, ?)")
                for (seq, chunk) in chunks.enumerated() {
                    try insert.run([.text(request.documentId), request.collection.map { .text($0) } ?? .null, .int(Int64(seq)), .text(chunk)])
                }
                try Failpoints.hit(.sqliteTransaction) { IndexerError($0) }
            }
        }
        return .object(["chunks": .int(Int64(chunks.count))])
    }

    /// Removes the document's chunks; succeeds when there are none.
    public func delete(_ request: IndexRequest) async throws {
        let chunksTable = chunksTable
        try await run { db throws(IndexerError) in
            try db.prepare("DELETE FROM \(chunksTable) WHERE document_id = ?").run([.text(request.documentId)])
        }
    }

    /// The documents that have at least one chunk.
    public func documentIDs() async throws -> Set<String>? {
        let chunksTable = chunksTable
        return try await run { db throws(IndexerError) in
            let select = try db.prepare("SELECT DISTINCT document_id FROM \(chunksTable)")
            try select.bind([])
            var ids: Set<String> = []
            while try select.step() { if let id = select.text(0) { ids.insert(id) } }
            return ids
        }
    }

    /// The best chunk of each of the `limit` best documents by BM25, best first; the score
    /// is the negated BM25 value, so higher is better.
    ///
    /// The query is what a person types, not FTS5 syntax: each whitespace-separated word is
    /// quoted (quotes doubled), and the words are joined with OR, so punctuation, quotes and
    /// FTS5 keywords are plain text, and a document with more of the words ranks higher.
    public func search(_ query: String, collection: String?, limit: Int) async throws -> [SearchHit] {
        guard limit > 0, let match = Self.matchExpression(for: query) else { return [] }
        let chunksTable = chunksTable, ftsTable = ftsTable
        return try await run { db throws(IndexerError) in
            let select = try db.prepare("""
                SELECT c.document_id, c.collection, c.text, bm25(\(ftsTable))
                FROM \(ftsTable) JOIN \(chunksTable) AS c ON c.id = \(ftsTable).rowid
                WHERE \(ftsTable) MATCH ?1 AND (?2 IS NULL OR c.collection = ?2)
                ORDER BY bm25(\(ftsTable))
                """)
            try select.bind([.text(match), collection.map { .text($0) } ?? .null])
            var hits: [SearchHit] = []
            var seen: Set<String> = []
            while hits.count < limit, try select.step() {
                guard let id = select.text(0), seen.insert(id).inserted else { continue }
                hits.append(SearchHit(documentId: id, collection: select.text(1), score: -select.double(3), text: select.text(2) ?? ""))
            }
            return hits
        }
    }

    /// The FTS5 expression of a typed query: its words quoted and joined with OR; `nil` when
    /// it has no letter or digit.
    static func matchExpression(for query: String) -> String? {
        let terms = query.split(whereSeparator: \.isWhitespace)
            .filter { $0.contains { $0.isLetter || $0.isNumber } }
            .map { "\"" + String($0.flatMap { $0 == "\"" ? "\"\"" : String($0) }) + "\"" }
        return terms.isEmpty ? nil : terms.joined(separator: " OR ")
    }
}
