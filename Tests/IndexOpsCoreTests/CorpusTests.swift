import Foundation
import IndexOpsCore
import Testing

/// The corpus: each file under Corpus/bad states the diagnostics it must produce in
/// `# expect: line:column: severity: message` comments (and, where some documents are valid,
/// `# documents: N`); each file under Corpus/good must load without any diagnostic.
@Suite("Spec corpus")
struct CorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static func files(_ folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(folder).path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted()
    }

    static func load(_ folder: String, _ name: String) throws -> (SpecFile, text: String) {
        let data = try Data(contentsOf: corpus.appendingPathComponent(folder).appendingPathComponent(name))
        return (SpecFile(path: name, bytes: [UInt8](data)), String(decoding: data, as: UTF8.self))
    }

    static func header(_ text: String, _ key: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            line.hasPrefix("# \(key): ") ? String(line.dropFirst(key.count + 4)) : nil
        }
    }

    @Test func corpusIsThere() {
        #expect(Self.files("bad").count >= 20)
        #expect(Self.files("good").count >= 4)
    }

    @Test(arguments: CorpusTests.files("bad"))
    func badFileReportsExactly(_ name: String) throws {
        let (file, text) = try Self.load("bad", name)
        let expected = Self.header(text, "expect").map { "\(name):\($0)" }
        #expect(!expected.isEmpty, "\(name) has no # expect: line")
        #expect(file.diagnostics.map(\.description) == expected)
        let documents = Self.header(text, "documents").first.flatMap { Int($0) } ?? 0
        #expect(file.resources.count == documents)
    }

    @Test(arguments: CorpusTests.files("good"))
    func goodFileLoadsCleanly(_ name: String) throws {
        let (file, text) = try Self.load("good", name)
        #expect(file.diagnostics.map(\.description) == [])
        #expect(file.isComplete)
        let documents = Self.header(text, "documents").first.flatMap { Int($0) } ?? 1
        #expect(file.resources.count == documents)
    }

    @Test func goodFileMeansWhatItSays() throws {
        let (file, _) = try Self.load("good", "all-features.yaml")
        let first = try #require(file.resources.first?.index)
        #expect(first.id == "no")
        #expect(first.metadata.collection == "007")
        #expect(first.metadata.createdBy == "on")
        #expect(first.metadata.annotations["team"] == "search")
        #expect(first.metadata.retryRequestedAt == Timestamp("2026-11-29T10:00:00Z"))
        #expect(first.metadata.recreateRequestedAt == Timestamp("2026-11-29T10:00:00.5Z"))
        #expect(first.spec.indexes == ["vector": .present, "fulltext": .absent])
        let second = try #require(file.resources.dropFirst().first?.index)
        #expect(second.spec.source == .uri("s3://bucket/doc2.pdf", revision: "v7"))
        #expect(second.spec.indexes == ["vector": .present, "fulltext": .present])
        #expect(file.resources.last?.index.spec.source == .path("docs/doc3.md"))
        #expect(file.resources.last?.index.spec.indexes == nil)
        #expect(file.resources.map(\.nameMark.line) == [7, 22, 34])
        let bom = try Self.load("good", "utf8-bom.yaml").0
        #expect(bom.resources.first?.index.spec.source == .path("docs/été.md"))
    }

    @Test func brokenDocumentsAreHeldByName() throws {
        let (file, _) = try Self.load("bad", "bad-second-document.yaml")
        #expect(file.isComplete)
        #expect(file.heldIDs == ["bad"])
        let (broken, _) = try Self.load("bad", "syntax-after-good-document.yaml")
        #expect(!broken.isComplete)
        #expect(broken.resources.map(\.index.id) == ["good"])
    }
}
