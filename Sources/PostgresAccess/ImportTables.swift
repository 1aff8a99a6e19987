import IndexOpsCore
import Logging
import PostgresNIO

/// The tables of a table-based index system that `indexops import` reads (DESIGN.md §11):
/// which layout a database has, and its rows, streamed, one JSON object a row — the same
/// text a `--from` dump has, so that both paths read rows alike.
public enum ImportTables {
    /// The layout of the database: the one whose tables exist.
    ///
    /// - Throws: ``ImportError`` when neither layout's tables exist, or both do;
    ///   ``PostgresAccessError`` when the database cannot be read.
    public static func layout(in pool: PostgresPool) async throws -> ImportLayout {
        let found = try await pool.withConnection("looking for the tables to import") { connection in
            let rows = try await connection.query(
                """
                SELECT to_regclass('document_index_specs') IS NOT NULL AND to_regclass('document_index_statuses') IS NOT NULL,
                       to_regclass('document_index') IS NOT NULL AND to_regclass('document') IS NOT NULL
                """, logger: logger)
            var result: (Bool, Bool) = (false, false)
            for try await (specStatus, single) in rows.decode((Bool, Bool).self) { result = (specStatus, single) }
            return result
        }
        switch found {
        case (true, false): return .specStatus
        case (false, true): return .singleTable
        case (true, true):
            throw ImportError("\(pool.settings.url) has both layouts' tables; choose one with --layout spec-status or --layout single-table")
        case (false, false):
            throw ImportError("\(pool.settings.url) has neither layout: no document_index_specs and document_index_statuses tables, no document_index and document tables")
        }
    }

    /// How many rows ``rows(of:in:_:)`` gives: for the progress line.
    public static func count(of layout: ImportLayout, in pool: PostgresPool) async throws -> Int {
        try await pool.withConnection("counting the rows to import") { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM (\(query(layout))) AS r"), logger: logger)
            var count = 0
            for try await value in rows.decode(Int.self) { count = value }
            return count
        }
    }

    /// Streams the rows of `layout`, ordered by document id, to `body`: one JSON object's
    /// text at a time, read from the server as `body` takes them (PostgresNIO's row
    /// sequence has backpressure), so memory holds a few rows whatever the table's size.
    ///
    /// - Throws: ``PostgresAccessError`` for a failure of the database; what `body` throws.
    public static func rows(of layout: ImportLayout, in pool: PostgresPool, _ body: @escaping @Sendable (String) throws -> Void) async throws {
        try await pool.withConnection("reading the \(layout.rawValue) tables") { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: query(layout)), logger: logger)
            for try await text in rows.decode(String.self) { try body(text) }
        }
    }

    /// The query of a layout: one `json` text per row, ordered by document id. The README
    /// shows it for a `--from` dump (`psql -Atc "<query>" > rows.jsonl`).
    public static func query(_ layout: ImportLayout) -> String {
        switch layout {
        case .specStatus:
            return """
                SELECT json_build_object('document_id', coalesce(s.document_id, t.document_id), \
                'index_type', coalesce(s.index_type, t.index_type), 'desired_state', s.desired_state, \
                'created_by', s.created_by, 'actual_state', t.actual_state, 'index_data', t.index_data, \
                'error_message', t.error_message, 'retry_count', t.retry_count, \
                'gmt_created', coalesce(t.gmt_created, s.gmt_created), 'gmt_updated', coalesce(t.gmt_updated, s.gmt_updated), \
                'gmt_last_reconciled', t.gmt_last_reconciled)::text \
                FROM document_index_specs s FULL JOIN document_index_statuses t \
                ON t.document_id = s.document_id AND t.index_type = s.index_type \
                ORDER BY coalesce(s.document_id, t.document_id)
                """
        case .singleTable:
            return """
                SELECT json_build_object('document_id', i.document_id, 'index_type', i.index_type, 'status', i.status, \
                'version', i.version, 'observed_version', i.observed_version, 'index_data', i.index_data, \
                'error_message', i.error_message, 'gmt_created', i.gmt_created, 'gmt_updated', i.gmt_updated, \
                'gmt_last_reconciled', i.gmt_last_reconciled, \
                'document', CASE WHEN d.id IS NULL THEN NULL ELSE json_build_object('id', d.id, 'name', d.name, \
                'user', d."user", 'collection_id', d.collection_id, 'object_path', d.object_path, 'gmt_deleted', d.gmt_deleted) END)::text \
                FROM document_index i LEFT JOIN document d ON d.id = i.document_id \
                ORDER BY i.document_id
                """
        }
    }

    private static let logger = Logger(label: "indexops.import", factory: { _ in SwiftLogNoOpLogHandler() })
}
