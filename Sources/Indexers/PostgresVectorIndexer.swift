import IndexOpsCore
import PostgresAccess
import PostgresNIO

/// The `postgres-vector` driver: one vector per chunk of a document — the feature-hashed term
/// vectors of `sqlite-vector`, lexical, not semantic — in a PostgreSQL table per index type,
/// searched by cosine similarity.
///
/// The table (``PostgresIndexSettings/tableName(indexType:)``) has the columns of
/// `postgres-fts` but `tsv`, and `embedding`: pgvector's `vector(1024)` with an HNSW index
/// `<table>_hnsw` (`vector_cosine_ops`) when the extension is there (see
/// ``PostgresIndexSettings/VectorStorage``), else `real[]`, searched by a dot product
/// computed in SQL over every row of the collection: the slow path, exact, fine for tens of
/// thousands of chunks. pgvector before 0.5 has no HNSW: its table gets no vector index and
/// is searched exactly. The driver creates the table on first use, as `postgres-fts` does.
public struct PostgresVectorIndexer: SearchableIndexer {
    /// How a table stores vectors, as found or made on first use.
    enum Storage: Sendable, Hashable {
        /// pgvector's `vector`; `hnsw`: the table has an HNSW index.
        case pgvector(hnsw: Bool)
        /// `real[]`.
        case array
    }

    /// The index type this indexer builds.
    public let indexType: String
    /// The database, table and vector storage.
    public let settings: PostgresIndexSettings
    /// The length of the vectors: ``SQLiteVectorIndexer/defaultDimensions``.
    public var dimensions: Int { hasher.dimensions }
    private let table: PostgresChunkTable
    private let hasher = TermHasher(dimensions: SQLiteVectorIndexer.defaultDimensions)
    private let chunker = TextChunker()

    /// Creates the indexer of an index type; connects to nothing yet.
    ///
    /// - Parameter pool: the connections to use; `nil`: the process's pool of the settings'
    ///   database, shared with every other index type on it.
    /// - Throws: ``IndexerError`` when `indexType`, the table or the schema is not a valid
    ///   name.
    public init(indexType: String, settings: PostgresIndexSettings, pool: PostgresPool? = nil) throws(IndexerError) {
        table = try PostgresChunkTable(driver: "postgres-vector", indexType: indexType, settings: settings, pool: pool)
        self.indexType = indexType
        self.settings = settings
    }

    /// Sets the table up on first use (see the type's documentation) and says how it stores
    /// vectors.
    func storage() async throws -> Storage {
        let table = table, wanted = settings.vectorStorage, dimensions = dimensions
        return try await table.prepared { connection, exists in
            let logger = PostgresChunkTable.logger
            func fail(_ message: String) -> PostgresAccessError {
                PostgresAccessError(table.context(message), kind: .configuration)
            }
            func installedVersion() async throws -> String? {
                var version: String?
                for try await text in try await connection.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'", logger: logger)
                    .decode(String.self) { version = text }
                return version
            }
            var version = try await installedVersion()
            if exists {
                var type: String?
                for try await text in try await connection.query("""
                    SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                    WHERE attrelid = to_regclass(\(table.sql)) AND attname = 'embedding' AND NOT attisdropped
                    """, logger: logger).decode(String.self) { type = text }
                switch type {
                case "vector(\(dimensions))"?:
                    guard wanted != .array else { throw fail("the table stores pgvector vectors, not real[] (vectorStorage: array)") }
                    return .pgvector(hnsw: Self.hasHNSW(version))
                case "real[]"?:
                    guard wanted != .pgvector else { throw fail("the table stores real[], not pgvector vectors (vectorStorage: pgvector): drop it to rebuild it") }
                    return .array
                case let other?:
                    throw fail("the table's embedding column is \(other), not vector(\(dimensions)) or real[]")
                case nil:
                    throw fail("the table has no embedding column: it was not made by postgres-vector")
                }
            }
            if wanted == .pgvector, version == nil {
                // Fails with a configuration error when the extension is not installed on
                // the server (0A000) or the role may not create it (42501).
                try await connection.query("CREATE EXTENSION IF NOT EXISTS vector", logger: logger)
                version = try await installedVersion()
            }
            let storage: Storage = wanted == .array || version == nil ? .array : .pgvector(hnsw: Self.hasHNSW(version))
            let column = storage == .array ? "real[]" : "vector(\(dimensions))"
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS \(unescaped: table.sql) (
                    \(unescaped: PostgresChunkTable.commonColumns),
                    embedding \(unescaped: column) NOT NULL,
                    PRIMARY KEY (document_id, seq))
                """, logger: logger)
            try await connection.query(
                "CREATE INDEX IF NOT EXISTS \(unescaped: table.name)_coll ON \(unescaped: table.sql) (collection)", logger: logger)
            if storage == .pgvector(hnsw: true) {
                try await connection.query(
                    "CREATE INDEX IF NOT EXISTS \(unescaped: table.name)_hnsw ON \(unescaped: table.sql) USING hnsw (embedding vector_cosine_ops)",
                    logger: logger)
            }
            return storage
        }
    }

    /// Whether a pgvector version has HNSW (0.5.0 and later).
    static func hasHNSW(_ version: String?) -> Bool {
        guard let version else { return false }
        let parts = version.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return parts.lexicographicallyPrecedes([0, 5]) == false
    }

    /// A vector as text: `[a,b,…]` for pgvector, `{a,b,…}` for `real[]`; cast in SQL.
    static func literal(_ vector: [Float], storage: Storage) -> String {
        let body = vector.map { $0 == 0 ? "0" : "\($0)" }.joined(separator: ",")
        return storage == .array ? "{\(body)}" : "[\(body)]"
    }

    private static func sqlType(_ storage: Storage) -> String { storage == .array ? "real[]" : "vector" }

    /// Replaces the document's vectors with those of the chunks of `request.content`;
    /// returns `{"chunks": N, "dimensions": D}`, as `sqlite-vector` does.
    ///
    /// - Throws: ``IndexerError`` when there is no content (a URI source: use an `exec`
    ///   indexer), when it is binary, or when PostgreSQL fails (terminal for a configuration
    ///   error: bad credentials, a missing table, privilege or extension);
    ///   `CancellationError` when the task is cancelled (the transaction is rolled back).
    public func create(_ request: IndexRequest) async throws -> JSONValue {
        guard let content = request.content else {
            throw IndexerError("postgres-vector: the source has no content here (a URI source needs an exec indexer)")
        }
        let chunks = chunker.chunks(of: try TextChunker.text(of: content, driver: "postgres-vector"))
        let table = table, hasher = hasher
        try await table.run {
            let storage = try await storage()
            let vectors = chunks.map { Self.literal(hasher.vector(of: $0), storage: storage) }
            try await table.replace(request.documentId, context: table.context("indexing \(request.documentId)")) { connection in
                guard !chunks.isEmpty else { return }
                try await connection.query("""
                    INSERT INTO \(unescaped: table.sql) (document_id, seq, collection, revision, text, embedding)
                    SELECT \(request.documentId), (u.seq - 1)::integer, \(request.collection), \(request.revision),
                        u.text, u.embedding::\(unescaped: Self.sqlType(storage))
                    FROM unnest(\(chunks)::text[], \(vectors)::text[]) WITH ORDINALITY AS u(text, embedding, seq)
                    """, logger: PostgresChunkTable.logger)
            }
        }
        return .object(["chunks": .int(Int64(chunks.count)), "dimensions": .int(Int64(dimensions))])
    }

    /// Removes the document's vectors; succeeds when there are none.
    public func delete(_ request: IndexRequest) async throws {
        let table = table
        try await table.run {
            _ = try await storage()
            try await table.delete(request.documentId)
        }
    }

    /// The documents that have at least one vector.
    public func documentIDs() async throws -> Set<String>? {
        let table = table
        return try await table.run {
            _ = try await storage()
            return try await table.documentIDs()
        }
    }

    /// The best chunk of each of the `limit` documents most similar to the query, by cosine
    /// similarity (higher is better), best first; chunks with no similarity (≤ 0) are left
    /// out, and a query without a word finds nothing — as `sqlite-vector` does.
    ///
    /// With an HNSW index the search is approximate: the index gives the nearest
    /// `max(40, 10 × limit)` chunks (at most 1,000; `hnsw.ef_search` is raised to match),
    /// filtered by collection, and the best chunk of each document among them is kept.
    /// Without one (`real[]`, or pgvector before 0.5) it is exact.
    public func search(_ query: String, collection: String?, limit: Int) async throws -> [SearchHit] {
        let vector = hasher.vector(of: query)
        guard limit > 0, vector.contains(where: { $0 != 0 }) else { return [] }
        let table = table
        return try await table.run {
            let storage = try await storage()
            let literal = Self.literal(vector, storage: storage)
            let type = Self.sqlType(storage)
            if storage == .pgvector(hnsw: true) {
                let candidates = min(1_000, max(40, limit * 10))
                return try await table.pool.withTransaction(table.context("searching")) { connection in
                    try await connection.query("SELECT set_config('hnsw.ef_search', \(String(candidates)), true)", logger: PostgresChunkTable.logger)
                    let rows = try await connection.query("""
                        SELECT document_id, collection, text, (1 - (embedding <=> \(literal)::vector))::float8
                        FROM \(unescaped: table.sql)
                        WHERE \(collection)::text IS NULL OR collection = \(collection)
                        ORDER BY embedding <=> \(literal)::vector
                        LIMIT \(candidates)
                        """, logger: PostgresChunkTable.logger)
                    var best: [String: SearchHit] = [:]
                    for try await (id, collection, text, score) in rows.decode((String, String?, String, Double).self) {
                        guard score > 0, best[id] == nil else { continue }  // rows come nearest first
                        best[id] = SearchHit(documentId: id, collection: collection, score: score, text: text)
                    }
                    let ranked = best.values.sorted { $0.score != $1.score ? $0.score > $1.score : $0.documentId < $1.documentId }
                    return Array(ranked.prefix(limit))
                }
            }
            let similarity = storage == .array
                ? "(SELECT sum(a::float8 * b) FROM unnest(c.embedding, q.v) AS p(a, b))"
                : "(1 - (c.embedding <=> q.v))::float8"
            return try await table.pool.withConnection(table.context("searching")) { connection in
                let rows = try await connection.query("""
                    WITH q AS (SELECT \(literal)::\(unescaped: type) AS v)
                    SELECT document_id, collection, text, score FROM (
                        SELECT DISTINCT ON (c.document_id) c.document_id, c.collection, c.text, \(unescaped: similarity) AS score
                        FROM \(unescaped: table.sql) AS c, q
                        WHERE \(collection)::text IS NULL OR c.collection = \(collection)
                        ORDER BY c.document_id, score DESC, c.seq) AS best
                    WHERE score > 0
                    ORDER BY score DESC, document_id
                    LIMIT \(limit)
                    """, logger: PostgresChunkTable.logger)
                return try await PostgresChunkTable.hits(rows)
            }
        }
    }
}
