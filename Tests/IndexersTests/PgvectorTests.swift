import Foundation
import IndexOpsCore
import Indexers
import PostgresAccess
import PostgresTestSupport
import Testing

/// `postgres-vector` on pgvector's `vector` type with an HNSW index. Debian bookworm has no
/// pgvector package, so this runs only where a server with pgvector is named by
/// `INDEXOPS_TEST_PGVECTOR_BIN` (a folder with its initdb, pg_ctl and postgres).
@Suite("postgres-vector on pgvector", .enabled(
    if: ProcessInfo.processInfo.environment["INDEXOPS_TEST_PGVECTOR_BIN"] != nil,
    "no server with pgvector: set INDEXOPS_TEST_PGVECTOR_BIN to the bin folder of one"))
struct PgvectorTests {
    @Test func vectorsGoInAVectorColumnWithAnHNSWIndexAndAreSearched() async throws {
        let server = try PostgresTestServer.start(binDirectory: ProcessInfo.processInfo.environment["INDEXOPS_TEST_PGVECTOR_BIN"]!)
        defer { server.stop() }
        #expect(try server.hasExtension("vector"))
        let database = try server.makeDatabase()
        let connection = try PostgresConnectionSettings(url: server.url(database: database), tls: .disable)
        func indexer(_ type: String, _ storage: PostgresIndexSettings.VectorStorage) throws -> PostgresVectorIndexer {
            try PostgresVectorIndexer(
                indexType: type, settings: PostgresIndexSettings(connection: connection, vectorStorage: storage),
                pool: PostgresPool(settings: connection, environment: ["PGPASSWORD": server.password]))
        }

        // auto, before the extension is installed: real[]; the type sticks to its table.
        let early = try indexer("early", .auto)
        _ = try await early.create(request(type: "early", text: "walrus"))
        // pgvector: the driver creates the extension (as a superuser here).
        let vector = try indexer("vector", .pgvector)
        _ = try await vector.create(request(doc: "a", type: "vector", collection: "red", text: "rag retrieval with rag pipelines and retrieval"))
        _ = try await vector.create(request(doc: "b", type: "vector", collection: "blue", text: "retrieval of documents about cooking"))
        _ = try await vector.create(request(doc: "c", type: "vector", collection: "blue", text: "nothing relevant here"))
        let late = try indexer("late", .auto)
        _ = try await late.create(request(type: "late", text: "walrus"))

        func columnType(_ table: String) throws -> String {
            try server.psql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '\(table)'::regclass AND attname = 'embedding'", database: database)
        }
        #expect(try columnType("indexops_early") == "real[]")
        #expect(try columnType("indexops_vector") == "vector(1024)")
        #expect(try columnType("indexops_late") == "vector(1024)")
        #expect(try server.psql("SELECT indexdef LIKE '%USING hnsw (embedding vector_cosine_ops)' FROM pg_indexes WHERE indexname = 'indexops_vector_hnsw'", database: database) == "t")

        let all = try await vector.search("rag retrieval", collection: nil, limit: 10)
        #expect(all.map(\.documentId) == ["a", "b"])
        #expect(all[0].score > all[1].score && all[1].score > 0)
        #expect(try await vector.search("rag retrieval", collection: "blue", limit: 10).map(\.documentId) == ["b"])
        #expect(try await early.search("walrus", collection: nil, limit: 3).map(\.documentId) == ["doc1"])
        #expect(try await late.search("walrus", collection: nil, limit: 3).map(\.documentId) == ["doc1"])

        // The same query scores the same on both storages: one vector, one cosine.
        let viaArray = try await early.search("walrus", collection: nil, limit: 1)[0].score
        let viaVector = try await late.search("walrus", collection: nil, limit: 1)[0].score
        #expect(abs(viaArray - viaVector) < 1e-5)

        let refused = await terminalError { _ = try await indexer("early", .pgvector).create(request(type: "early", text: "x")) }
        #expect(refused?.contains("the table stores real[], not pgvector vectors (vectorStorage: pgvector)") == true, "\(refused ?? "")")
    }
}
