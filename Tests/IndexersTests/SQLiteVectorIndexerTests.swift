import Foundation
import IndexOpsCore
@testable import Indexers
import Testing

@Suite("sqlite-vector")
struct SQLiteVectorIndexerTests {
    let folder: TempFolder
    let database: String
    let indexer: SQLiteVectorIndexer

    init() throws {
        folder = try TempFolder()
        database = folder.file("indexes.sqlite")
        indexer = try SQLiteVectorIndexer(indexType: "vector", databasePath: database)
    }

    @Test func hashingIsFNV1aAndStableAcrossRuns() {
        // 64-bit FNV-1a of "retrieval" is 0xe8d86d0667a9989b (computed independently):
        // slot 0x...9b % 1024 = 155, top bit set: negative.
        #expect(TermHasher.fnv1a("retrieval") == 0xe8d8_6d06_67a9_989b)
        let hasher = TermHasher(dimensions: 1_024)
        #expect(hasher.slot(of: "retrieval").index == 155)
        #expect(hasher.slot(of: "retrieval").sign == -1)
        let vector = hasher.vector(of: "Retrieval!")
        #expect(vector[155] == -1)
        #expect(vector.filter { $0 != 0 }.count == 1)
        #expect(TermHasher.tokens(of: "RAG-based Retrieval, 2026 édition") == ["rag", "based", "retrieval", "2026", "édition"])
    }

    @Test func searchRanksTheDocumentAboutTheQueryFirst() async throws {
        defer { folder.remove() }
        _ = try await indexer.create(request(doc: "cooking", type: "vector", text: "Recipes for bread, butter and slow cooking of soups."))
        _ = try await indexer.create(request(doc: "rag", type: "vector", text: "Vector retrieval for RAG: chunk documents, embed chunks, retrieval by cosine similarity."))
        _ = try await indexer.create(request(doc: "mixed", type: "vector", text: "A bakery blog that once mentioned retrieval of bread orders."))
        let hits = try await indexer.search("cosine retrieval chunks", collection: nil, limit: 10)
        #expect(hits.first?.documentId == "rag")
        #expect(hits.map(\.documentId).contains("mixed"))
        #expect(!hits.map(\.documentId).contains("cooking"))
        #expect(hits.allSatisfy { $0.score > 0 && $0.score <= 1.0001 })
        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
        #expect(try await indexer.search("?!", collection: nil, limit: 10).isEmpty)
    }

    @Test func createTwiceDeleteAndRecreate() async throws {
        defer { folder.remove() }
        let text = Array(repeating: "A paragraph about vectors and hashing of terms into slots.", count: 40).joined(separator: "\n\n")
        let data = try await indexer.create(request(type: "vector", text: text))
        _ = try await indexer.create(request(type: "vector", text: text))
        #expect(data == .object(["chunks": .int(3), "dimensions": .int(1_024)]))
        #expect(try sqlite(database, "SELECT count(*), min(length(vector)), max(length(vector)) FROM vec_vector WHERE document_id = 'doc1'") == "3|4096|4096")
        _ = try await indexer.create(request(type: "vector", revision: "rev2", text: "Giraffes eat acacia leaves."))
        #expect(try await indexer.search("hashing vectors", collection: nil, limit: 5).isEmpty)
        #expect(try await indexer.search("giraffes", collection: nil, limit: 5).map(\.text) == ["Giraffes eat acacia leaves."])
        try await indexer.delete(request(.delete, type: "vector"))
        try await indexer.delete(request(.delete, type: "vector"))
        try await indexer.delete(request(.delete, doc: "never-there", type: "vector"))
        #expect(try sqlite(database, "SELECT count(*) FROM vec_vector") == "0")
        #expect(try await indexer.documentIDs() == [])
    }

    @Test func collectionFilter() async throws {
        defer { folder.remove() }
        _ = try await indexer.create(request(doc: "a", type: "vector", collection: "red", text: "graph databases"))
        _ = try await indexer.create(request(doc: "b", type: "vector", collection: "blue", text: "graph theory"))
        _ = try await indexer.create(request(doc: "c", type: "vector", text: "graph paper"))
        #expect(Set(try await indexer.search("graph", collection: nil, limit: 10).map(\.documentId)) == ["a", "b", "c"])
        let blue = try await indexer.search("graph", collection: "blue", limit: 10)
        #expect(blue.map(\.documentId) == ["b"])
        #expect(blue.first?.collection == "blue")
        #expect(try await indexer.search("graph", collection: nil, limit: 2).count == 2)
        #expect(try await indexer.documentIDs() == ["a", "b", "c"])
    }

    @Test func twoIndexTypesShareOneDatabaseFile() async throws {
        defer { folder.remove() }
        let fulltext = try SQLiteFTSIndexer(indexType: "fulltext", databasePath: database)
        let other = try SQLiteFTSIndexer(indexType: "full-text-2", databasePath: database)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask { _ = try await fulltext.create(request(doc: "d\(i)", type: "fulltext", text: "shared file \(i)")) }
                group.addTask { _ = try await indexer.create(request(doc: "d\(i)", type: "vector", text: "shared file \(i)")) }
                group.addTask { _ = try await other.create(request(doc: "d\(i)", type: "full-text-2", text: "shared file \(i)")) }
            }
            try await group.waitForAll()
        }
        #expect(try sqlite(database, "SELECT count(*) FROM fts_fulltext_chunks") == "20")
        #expect(try sqlite(database, "SELECT count(*) FROM \"fts_full-text-2_chunks\"") == "20")
        #expect(try sqlite(database, "SELECT count(*) FROM vec_vector") == "20")
        #expect(try await other.search("file", collection: nil, limit: 100).count == 20)
    }
}
