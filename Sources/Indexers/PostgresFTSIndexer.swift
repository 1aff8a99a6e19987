import IndexOpsCore
import PostgresAccess
import PostgresNIO

/// The `postgres-fts` driver: a document's text in the chunks `sqlite-fts` makes (about 1,000
/// characters, paragraphs kept together), in a PostgreSQL table per index type with a
/// generated `tsvector` column and a GIN index, ranked by `ts_rank_cd`.
///
/// The table (``PostgresIndexSettings/tableName(indexType:)``: `indexops_<type>` unless set)
/// has the columns `document_id`, `seq`, `collection`, `revision`, `text` and
/// `tsv tsvector GENERATED ALWAYS AS (to_tsvector('<config>'::regconfig, text)) STORED`, the
/// primary key (`document_id`, `seq`), a GIN index `<table>_tsv` and an index
/// `<table>_coll` on `collection`. The driver creates them on first use when they are
/// missing; a role that may not create them gets a configuration error, and the table can
/// be made beforehand by its owner (the README has the statement). Create replaces the
/// document's rows in one transaction; delete of a document that is not there succeeds.
public struct PostgresFTSIndexer: SearchableIndexer {
    /// The index type this indexer builds.
    public let indexType: String
    /// The database, table and text search configuration.
    public let settings: PostgresIndexSettings
    private let table: PostgresChunkTable
    private let chunker = TextChunker()

    /// Creates the indexer of an index type; connects to nothing yet.
    ///
    /// - Parameter pool: the connections to use; `nil`: the process's pool of the settings'
    ///   database, shared with every other index type on it.
    /// - Throws: ``IndexerError`` when `indexType`, the table, the schema or the text search
    ///   configuration is not a valid name.
    public init(indexType: String, settings: PostgresIndexSettings, pool: PostgresPool? = nil) throws(IndexerError) {
        if let problem = PostgresIndexSettings.identifierProblem(settings.textSearchConfig) {
            throw IndexerError("postgres-fts \(indexType): textSearchConfig: \(problem)", terminal: true)
        }
        table = try PostgresChunkTable(driver: "postgres-fts", indexType: indexType, settings: settings, pool: pool)
        self.indexType = indexType
        self.settings = settings
    }

    /// The text search configuration as an SQL constant; a checked name needs no escaping.
    private var config: String { "'\(settings.textSearchConfig)'::regconfig" }

    /// Creates the table and its indexes when missing; checks that an existing table
    /// indexes text with the configured text search configuration.
    private func prepare() async throws {
        let table = table, config = config, configName = settings.textSearchConfig
        _ = try await table.prepared { connection, exists in
            let logger = PostgresChunkTable.logger
            guard exists else {
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS \(unescaped: table.sql) (
                        \(unescaped: PostgresChunkTable.commonColumns),
                        tsv tsvector GENERATED ALWAYS AS (to_tsvector(\(unescaped: config), text)) STORED,
                        PRIMARY KEY (document_id, seq))
                    """, logger: logger)
                try await connection.query(
                    "CREATE INDEX IF NOT EXISTS \(unescaped: table.name)_tsv ON \(unescaped: table.sql) USING gin (tsv)", logger: logger)
                try await connection.query(
                    "CREATE INDEX IF NOT EXISTS \(unescaped: table.name)_coll ON \(unescaped: table.sql) (collection)", logger: logger)
                return true
            }
            var expression: String?
            for try await text in try await connection.query("""
                SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                WHERE d.adrelid = to_regclass(\(table.sql)) AND a.attname = 'tsv'
                """, logger: logger).decode(String.self) { expression = text }
            guard let expression else {
                throw PostgresAccessError(
                    table.context("the table has no generated tsv column: it was not made by postgres-fts"), kind: .configuration)
            }
            guard expression.contains(config) else {
                throw PostgresAccessError(
                    table.context("the table's tsv column is \(expression), not of the text search configuration \(configName) (textSearchConfig): drop the table to rebuild it, or set textSearchConfig to the table's"),
                    kind: .configuration)
            }
            return true
        }
    }

    /// Replaces the document's chunks with the chunks of `request.content`; returns
    /// `{"chunks": N}`, as `sqlite-fts` does.
    ///
    /// - Throws: ``IndexerError`` when there is no content (a URI source: use an `exec`
    ///   indexer), when it is binary, or when PostgreSQL fails (terminal for a configuration
    ///   error: bad credentials, a missing table or privilege); `CancellationError` when the
    ///   task is cancelled (the transaction is rolled back).
    public func create(_ request: IndexRequest) async throws -> JSONValue {
        guard let content = request.content else {
            throw IndexerError("postgres-fts: the source has no content here (a URI source needs an exec indexer)")
        }
        let chunks = chunker.chunks(of: try TextChunker.text(of: content, driver: "postgres-fts"))
        let table = table
        try await table.run {
            try await prepare()
            try await table.replace(request.documentId, context: table.context("indexing \(request.documentId)")) { connection in
                guard !chunks.isEmpty else { return }
                try await connection.query("""
                    INSERT INTO \(unescaped: table.sql) (document_id, seq, collection, revision, text)
                    SELECT \(request.documentId), (u.seq - 1)::integer, \(request.collection), \(request.revision), u.text
                    FROM unnest(\(chunks)::text[]) WITH ORDINALITY AS u(text, seq)
                    """, logger: PostgresChunkTable.logger)
            }
        }
        return .object(["chunks": .int(Int64(chunks.count))])
    }

    /// Removes the document's chunks; succeeds when there are none.
    public func delete(_ request: IndexRequest) async throws {
        let table = table
        try await table.run {
            try await prepare()
            try await table.delete(request.documentId)
        }
    }

    /// The documents that have at least one chunk.
    public func documentIDs() async throws -> Set<String>? {
        let table = table
        return try await table.run {
            try await prepare()
            return try await table.documentIDs()
        }
    }

    /// The best chunk of each of the `limit` best documents by `ts_rank_cd`, best first.
    ///
    /// The query is what a person types, not `tsquery` syntax: each whitespace-separated
    /// word with a letter or digit goes through `plainto_tsquery`, and the words are joined
    /// with OR (`|`), so punctuation and operators are plain text and a chunk with more of
    /// the words ranks higher — as `sqlite-fts` does.
    public func search(_ query: String, collection: String?, limit: Int) async throws -> [SearchHit] {
        let words = queryWords(query)
        guard limit > 0, !words.isEmpty else { return [] }
        let table = table, config = config
        return try await table.run {
            try await prepare()
            return try await table.pool.withConnection(table.context("searching")) { connection in
                let rows = try await connection.query("""
                    WITH q AS (
                        SELECT string_agg('(' || plainto_tsquery(\(unescaped: config), w)::text || ')', ' | ')::tsquery AS query
                        FROM unnest(\(words)::text[]) AS w
                        WHERE plainto_tsquery(\(unescaped: config), w)::text <> '')
                    SELECT document_id, collection, text, score FROM (
                        SELECT DISTINCT ON (c.document_id) c.document_id, c.collection, c.text,
                            ts_rank_cd(c.tsv, q.query)::float8 AS score
                        FROM \(unescaped: table.sql) AS c, q
                        WHERE q.query IS NOT NULL AND c.tsv @@ q.query AND (\(collection)::text IS NULL OR c.collection = \(collection))
                        ORDER BY c.document_id, score DESC, c.seq) AS best
                    ORDER BY score DESC, document_id
                    LIMIT \(limit)
                    """, logger: PostgresChunkTable.logger)
                return try await PostgresChunkTable.hits(rows)
            }
        }
    }
}
