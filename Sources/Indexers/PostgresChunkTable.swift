import IndexOpsCore
import Logging
import PostgresAccess
import PostgresNIO

/// The table of chunks of one postgres index type, and what both postgres drivers do with
/// it: set it up once per pool, replace or delete a document's rows in one transaction,
/// list the documents.
///
/// A document's rows are replaced under a transaction-scoped advisory lock on (table,
/// document), so that two replicas writing one document (during a reshard, say) take turns
/// instead of both deleting nothing and inserting twice; the primary key (`document_id`,
/// `seq`) would refuse a second set anyway. A create that dies midway (a killed process, a
/// dropped connection) is rolled back by the server: the next create finds the rows of the
/// last create that committed, and replaces them.
struct PostgresChunkTable: Sendable {
    /// `postgres-fts` or `postgres-vector`, for messages.
    let driver: String
    /// The index type.
    let indexType: String
    /// The connections.
    let pool: PostgresPool
    /// The schema, or `nil` for the search path.
    let schema: String?
    /// The table name, unqualified.
    let name: String

    static let logger = Logger(label: "indexops.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(driver: String, indexType: String, settings: PostgresIndexSettings, pool: PostgresPool?) throws(IndexerError) {
        if let problem = Identifier.indexTypeProblem(indexType) { throw IndexerError("\(driver): \(problem)", terminal: true) }
        let name = settings.tableName(indexType: indexType)
        for (label, value, length) in [("table", name, PostgresIndexSettings.maxTableNameLength), ("schema", settings.schema, 63)] {
            if let value, let problem = PostgresIndexSettings.identifierProblem(value, maxLength: length) {
                throw IndexerError("\(driver) \(indexType): \(label): \(problem)", terminal: true)
            }
        }
        self.driver = driver
        self.indexType = indexType
        self.pool = pool ?? PostgresPool.shared(settings.connection)
        schema = settings.schema
        self.name = name
    }

    /// The table as SQL: quoted, schema-qualified when a schema is set.
    var sql: String { schema.map { "\"\($0)\".\"\(name)\"" } ?? "\"\(name)\"" }
    /// The table as people write it.
    var display: String { schema.map { "\($0).\(name)" } ?? name }

    /// `driver: doing (table at URL)`, the start of every message.
    func context(_ doing: String) -> String { "\(driver): \(doing) (\(display) at \(pool.settings.url))" }

    /// Runs `body`, turning a ``PostgresAccessError`` into an ``IndexerError`` that is
    /// terminal for a configuration error.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresAccessError {
            throw IndexerError(error.message, terminal: error.isConfigurationError)
        }
    }

    /// Sets the table up once per pool with `make` (which gets the DDL lock's connection and
    /// whether the table exists), then runs `body`.
    func prepared<Setup: Sendable>(
        _ make: @escaping @Sendable (PostgresConnection, _ exists: Bool) async throws -> Setup
    ) async throws -> Setup {
        let table = self
        return try await pool.prepared("\(driver) \(sql)") {
            try await table.pool.withTransaction(table.context("setting up the table")) { connection in
                // One replica at a time sets tables up: CREATE ... IF NOT EXISTS is not safe
                // against another session doing the same at once.
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('indexops: table setup', 0))", logger: Self.logger)
                var exists = false
                for try await found in try await connection.query("SELECT to_regclass(\(table.sql)) IS NOT NULL", logger: Self.logger)
                    .decode(Bool.self) { exists = found }
                return try await make(connection, exists)
            }
        }
    }

    /// Replaces the rows of `documentId` with what `insert` writes, in one transaction that
    /// holds the document's lock.
    func replace(
        _ documentId: String, context: String, insert: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async throws {
        let table = self
        try await pool.withTransaction(context) { connection in
            try await table.lockAndDelete(documentId, on: connection)
            try Task.checkCancellation()
            try await insert(connection)
        }
    }

    /// Deletes the rows of `documentId`; succeeds when there are none.
    func delete(_ documentId: String) async throws {
        let table = self
        try await pool.withTransaction(context("deleting \(documentId)")) { connection in
            try await table.lockAndDelete(documentId, on: connection)
        }
    }

    private func lockAndDelete(_ documentId: String, on connection: PostgresConnection) async throws {
        let key = "\(sql)/\(documentId)"
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))", logger: Self.logger)
        try await connection.query("DELETE FROM \(unescaped: sql) WHERE document_id = \(documentId)", logger: Self.logger)
    }

    /// The documents that have at least one row.
    func documentIDs() async throws -> Set<String> {
        let sql = sql
        return try await pool.withConnection(context("listing documents")) { connection in
            var ids: Set<String> = []
            for try await id in try await connection.query("SELECT DISTINCT document_id FROM \(unescaped: sql)", logger: Self.logger)
                .decode(String.self) { ids.insert(id) }
            return ids
        }
    }

    /// The hits of a search query whose rows are `(document_id, collection, text, score)`,
    /// the shape both drivers' searches select.
    static func hits(_ rows: PostgresRowSequence) async throws -> [SearchHit] {
        var hits: [SearchHit] = []
        for try await (id, collection, text, score) in rows.decode((String, String?, String, Double).self) {
            hits.append(SearchHit(documentId: id, collection: collection, score: score, text: text))
        }
        return hits
    }

    /// The columns both drivers' tables start with.
    static let commonColumns = """
        document_id text NOT NULL,
            seq integer NOT NULL,
            collection text,
            revision text NOT NULL,
            text text NOT NULL
        """
}

/// The words of a typed query: whitespace-separated, those with a letter or a digit.
func queryWords(_ query: String) -> [String] {
    query.split(whereSeparator: \.isWhitespace).filter { $0.contains { $0.isLetter || $0.isNumber } }.map(String.init)
}
