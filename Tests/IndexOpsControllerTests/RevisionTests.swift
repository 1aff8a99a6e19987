import Foundation
import IndexOpsController
import IndexOpsCore
import Testing

/// `observedRevision` is what was indexed: the source blob and the index type's driver
/// settings, hashed. It must stay byte for byte what earlier versions wrote, or an upgrade
/// rebuilds every index.
@Suite("Revisions")
struct RevisionTests {
    let repo: PeopleRepository

    init() throws {
        repo = try PeopleRepository()
        try repo.write("specs/a.yaml", PeopleRepository.spec("doc-a", indexes: "{ vector: present }"))
        try repo.write("docs/doc-a.md", "Alpha text.\n")
        try repo.commitAll("Add alpha")
    }

    func vectorRevision() throws -> String? {
        try DocumentStatus(fileText: repo.read(DocumentStatus.path(for: "doc-a"))).indexes["vector"]?.observedRevision
    }

    @Test func aRevisionIsWhatItWasAndAnEmbedderModelChangesIt() async throws {
        defer { repo.cleanup() }
        let vector = LedgerIndexer()
        do {
            _ = try await Reconciler.testing(repo, ledgers: ["vector": vector, "fulltext": LedgerIndexer()]).pass()
        }
        // printf 'blob:%s\nsqlite-vector\0\0\0' "$(printf 'Alpha text.\n' | git hash-object --stdin)" | sha256sum | cut -c1-40
        #expect(try vectorRevision() == "927891114e3be22efa3b761fd313617329857de0")

        var config = ControllerConfig.embeddedDefaults
        config.indexTypes["vector"]?.embedder = EmbedderSettings(url: "http://127.0.0.1:9/v1/embeddings", model: "nomic-embed-text", dimensions: 768)
        do {
            let report = try await Reconciler.testing(repo, config: config, ledgers: ["vector": vector, "fulltext": LedgerIndexer()]).pass()
            #expect(report.outcomes.map { "\($0.operation.key) \($0.operation.reason.rawValue)" } == ["doc-a/vector source or settings changed"])
        }
        let embedded = try vectorRevision()
        #expect(embedded != "927891114e3be22efa3b761fd313617329857de0")

        config.indexTypes["vector"]?.embedder?.url = "http://elsewhere:11434/v1/embeddings"
        config.indexTypes["vector"]?.embedder?.batchSize = 4
        do {
            let report = try await Reconciler.testing(repo, config: config, ledgers: ["vector": vector, "fulltext": LedgerIndexer()]).pass(PassOptions(force: true))
            #expect(report.outcomes.isEmpty, "the same model elsewhere is the same index")
        }
        config.indexTypes["vector"]?.embedder?.model = "mxbai-embed-large"
        do {
            let report = try await Reconciler.testing(repo, config: config, ledgers: ["vector": vector, "fulltext": LedgerIndexer()]).pass()
            #expect(report.outcomes.count == 1, "another model rebuilds")
        }
        #expect(try vectorRevision() != embedded)
    }
}
