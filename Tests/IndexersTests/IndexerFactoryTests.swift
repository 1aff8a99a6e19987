import IndexOpsCore
import Indexers
import Testing

@Suite("Factory and noop")
struct IndexerFactoryTests {
    @Test func makesEachDriver() async throws {
        let fts = try IndexerFactory.make(name: "fulltext", settings: IndexTypeSettings(driver: .sqliteFTS), defaultDatabase: "/tmp/x/default.sqlite")
        #expect((fts as? SQLiteFTSIndexer)?.databasePath == "/tmp/x/default.sqlite")
        let vector = try IndexerFactory.make(name: "vector", settings: IndexTypeSettings(driver: .sqliteVector, database: "/tmp/y.sqlite"), defaultDatabase: "/tmp/x/default.sqlite")
        #expect((vector as? SQLiteVectorIndexer)?.databasePath == "/tmp/y.sqlite")
        let exec = try IndexerFactory.make(name: "graph", settings: IndexTypeSettings(driver: .exec, command: ["/opt/graph"], timeout: .seconds(300), env: ["A": "b"]), defaultDatabase: "")
        #expect((exec as? ExecIndexer)?.timeout == .seconds(300))
        #expect((exec as? ExecIndexer)?.environment == ["A": "b"])
        #expect(try await exec.documentIDs() == nil)
        let noop = try IndexerFactory.make(name: "bench", settings: IndexTypeSettings(driver: .noop), defaultDatabase: "")
        #expect(try await noop.create(request(type: "bench", text: "x")) == .object([:]))
        try await noop.delete(request(.delete, type: "bench"))
        #expect(try await noop.documentIDs() == nil)
        #expect(throws: IndexerError.self) {
            try IndexerFactory.make(name: "Bad_Name", settings: IndexTypeSettings(driver: .sqliteFTS), defaultDatabase: "/tmp/z.sqlite")
        }
    }
}
