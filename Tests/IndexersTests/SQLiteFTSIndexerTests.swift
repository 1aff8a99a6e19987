import Foundation
import IndexOpsCore
import Indexers
import Testing

@Suite("sqlite-fts")
struct SQLiteFTSIndexerTests {
    let folder: TempFolder
    let database: String
    let indexer: SQLiteFTSIndexer

    init() throws {
        folder = try TempFolder()
        database = folder.file("state/nested/indexes.sqlite")
        indexer = try SQLiteFTSIndexer(indexType: "fulltext", databasePath: database)
    }

    private func count(_ doc: String) throws -> String {
        try sqlite(database, "SELECT count(*) FROM fts_fulltext_chunks WHERE document_id = '\(doc)'")
    }

    @Test func createMakesTheFileInWALModeAndTwiceLeavesOneSetOfRows() async throws {
        defer { folder.remove() }
        let text = (1...30).map { "Paragraph \($0) talks about retrieval augmented generation and chunking." }.joined(separator: "\n\n")
        let first = try await indexer.create(request(type: "fulltext", text: text))
        let second = try await indexer.create(request(type: "fulltext", text: text))
        #expect(first == second)
        let chunks = try #require(first["chunks"]?.intValue)
        #expect(chunks == 3)  // 30 paragraphs of ~73 characters, packed to ≤ 1,000
        #expect(try count("doc1") == "\(chunks)")
        #expect(try sqlite(database, "SELECT count(*) FROM fts_fulltext WHERE fts_fulltext MATCH 'paragraph'") == "\(chunks)")
        #expect(try sqlite(database, "PRAGMA journal_mode") == "wal")
        #expect(try sqlite(database, "SELECT max(length(text)) <= 1000 FROM fts_fulltext_chunks") == "1")
        #expect(try await indexer.documentIDs() == ["doc1"])
    }

    @Test func deleteOfAMissingIndexSucceeds() async throws {
        defer { folder.remove() }
        try await indexer.delete(request(.delete, type: "fulltext"))  // no table yet
        _ = try await indexer.create(request(doc: "other", type: "fulltext", text: "kept"))
        try await indexer.delete(request(.delete, type: "fulltext"))  // no rows of doc1
        #expect(try count("other") == "1")
        try await indexer.delete(request(.delete, doc: "other", type: "fulltext"))
        #expect(try count("other") == "0")
        #expect(try sqlite(database, "SELECT count(*) FROM fts_fulltext WHERE fts_fulltext MATCH 'kept'") == "0")
        #expect(try await indexer.documentIDs() == [])
    }

    @Test func recreateWithNewTextFindsTheNewWordsAndNotTheOld() async throws {
        defer { folder.remove() }
        _ = try await indexer.create(request(type: "fulltext", text: "The old walrus sings."))
        #expect(try await indexer.search("walrus", collection: nil, limit: 5).map(\.documentId) == ["doc1"])
        _ = try await indexer.create(request(type: "fulltext", revision: "rev2", text: "A new pelican dances."))
        #expect(try await indexer.search("walrus", collection: nil, limit: 5).isEmpty)
        let hits = try await indexer.search("pelican", collection: nil, limit: 5)
        #expect(hits.map(\.text) == ["A new pelican dances."])
        // The FTS index itself forgot the old words, not only the content table.
        #expect(try sqlite(database, "SELECT count(*) FROM fts_fulltext WHERE fts_fulltext MATCH 'walrus'") == "0")
    }

    @Test func collectionFilterAndRanking() async throws {
        defer { folder.remove() }
        _ = try await indexer.create(request(doc: "a", type: "fulltext", collection: "red", text: "rag retrieval with rag pipelines and retrieval"))
        _ = try await indexer.create(request(doc: "b", type: "fulltext", collection: "blue", text: "retrieval of documents about cooking"))
        _ = try await indexer.create(request(doc: "c", type: "fulltext", collection: "blue", text: "nothing relevant here"))
        let all = try await indexer.search("rag retrieval", collection: nil, limit: 10)
        #expect(all.map(\.documentId) == ["a", "b"])
        #expect(all[0].score > all[1].score)
        #expect(all[0].collection == "red")
        let blue = try await indexer.search("rag retrieval", collection: "blue", limit: 10)
        #expect(blue.map(\.documentId) == ["b"])
        #expect(try await indexer.search("rag retrieval", collection: nil, limit: 1).map(\.documentId) == ["a"])
    }

    @Test(arguments: [
        "rag retrieval", "\"unbalanced quote", "AND OR NOT", "c++ (x) * ^", "text:value", "NEAR(a b)", "don't stop", "\"\"", "-", "",
    ])
    func typedQueriesAreNeverSyntaxErrors(query: String) async throws {
        defer { folder.remove() }
        _ = try await indexer.create(request(type: "fulltext", text: "Don't stop: rag retrieval in C++ with text values near AND gates."))
        _ = try await indexer.search(query, collection: nil, limit: 5)
    }

    @Test func anUnusableDatabasePathIsAnErrorNotACrash() async throws {
        defer { folder.remove() }
        try "not a folder".write(toFile: folder.file("file"), atomically: true, encoding: .utf8)
        let blocked = try SQLiteFTSIndexer(indexType: "fulltext", databasePath: folder.file("file/indexes.sqlite"))
        #expect(await indexerError { _ = try await blocked.create(request(type: "fulltext", text: "x")) }
            == "sqlite: \(folder.file("file")) is not a folder")
        try "not a database, but long enough to be read as one by sqlite.".write(toFile: folder.file("garbage.sqlite"), atomically: true, encoding: .utf8)
        let garbage = try SQLiteFTSIndexer(indexType: "fulltext", databasePath: folder.file("garbage.sqlite"))
        #expect(await indexerError { _ = try await garbage.create(request(type: "fulltext", text: "x")) }?.contains("file is not a database") == true)
    }

    @Test func binaryContentAndURISourcesAreErrors() async throws {
        defer { folder.remove() }
        let nul = IndexRequest(action: .create, documentId: "d", indexType: "fulltext", collection: nil, revision: "r", source: .path("x.bin"), content: [0x50, 0x4B, 0x00, 0x01])
        #expect(await indexerError { _ = try await indexer.create(nul) } == "sqlite-fts: the source is binary, not text (a NUL byte at offset 2)")
        var invalid = nul
        invalid.content = [0x61, 0xFF, 0xFE]
        #expect(await indexerError { _ = try await indexer.create(invalid) } == "sqlite-fts: the source is not UTF-8 text")
        let uri = request(type: "fulltext", text: nil, source: .uri("s3://bucket/doc.pdf", revision: "v7"))
        #expect(await indexerError { _ = try await indexer.create(uri) } == "sqlite-fts: the source has no content here (a URI source needs an exec indexer)")
    }
}

@Suite("Chunking")
struct ChunkingTests {
    @Test func paragraphsStayTogetherAndLongOnesAreCutAtSpaces() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let indexer = try SQLiteFTSIndexer(indexType: "fulltext", databasePath: folder.file("i.sqlite"))
        let long = Array(repeating: "word", count: 600).joined(separator: " ")  // 2,999 characters
        let text = "Title\r\n\r\nShort paragraph one.\n   \nShort paragraph two.\n\n" + long
        let data = try await indexer.create(request(type: "fulltext", text: text))
        #expect(data == .object(["chunks": .int(4)]))  // the three short paragraphs, then 999 + 999 + 999
        let rows = try sqlite(folder.file("i.sqlite"), "SELECT text FROM fts_fulltext_chunks ORDER BY seq")
        #expect(rows.hasPrefix("Title\n\nShort paragraph one.\n\nShort paragraph two.\nword word"))
        #expect(try sqlite(folder.file("i.sqlite"), "SELECT max(length(text)) <= 1000, min(length(text)) > 0 FROM fts_fulltext_chunks") == "1|1")
        #expect(try sqlite(folder.file("i.sqlite"), "SELECT count(*) FROM fts_fulltext_chunks WHERE seq > 0 AND replace(replace(text, 'word', ''), ' ', '') != ''") == "0")
        #expect(try await indexer.create(request(doc: "blank", type: "fulltext", text: " \n\n \t")) == .object(["chunks": .int(0)]))
    }
}
