import Foundation
import Git
import IndexOpsCore
import Logging
import Testing
@testable import IndexOpsController

/// Passes over a clone of a bare remote that a person pushes to.
@Suite("Passes over a remote", .serialized)
struct RemotePassTests {
    /// What the sync brings in reaches the work tree with the pass's own statuses, in one
    /// publish (one rewrite of the git index, 0.25-0.35 s at 100,000 documents), not one for
    /// the sync and one for the statuses; a pass with nothing to reconcile still publishes
    /// what came in, and an idle pass publishes nothing.
    @Test func whatTheSyncBringsInIsPublishedOnceWithTheStatuses() async throws {
        let people = try IncrementalPassTests.generated(20)
        defer { people.cleanup() }
        let remote = people.path + "/../" + people.root.lastPathComponent + "-remote.git"
        let controller = people.path + "/../" + people.root.lastPathComponent + "-controller"
        defer {
            try? FileManager.default.removeItem(atPath: remote)
            try? FileManager.default.removeItem(atPath: controller)
        }
        _ = try people.git("init", "-q", "--bare", "-b", "main", remote)
        _ = try people.git("push", "-q", remote, "main")
        var config = ControllerConfig.embeddedDefaults
        config.repository.url = remote
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let ledgers = ["vector": LedgerIndexer(), "fulltext": LedgerIndexer()]
        let reconciler = try Reconciler(repo: controller, config: config, configured: false, logger: logger, makeIndexer: { name, _, _ in ledgers[name]! })
        _ = try await reconciler.pass()
        func clean() throws -> String { try people.git("-C", controller, "status", "--porcelain", "--untracked-files=all") }
        func push(_ path: String, _ text: String) throws {
            _ = try people.git("pull", "-q", "--rebase", remote, "main")
            try people.write(path, text)
            try people.commitAll("Edit \(path)")
            _ = try people.git("push", "-q", remote, "main")
        }

        try push("docs/3/doc3.md", "Document 3, edited.\n")
        let edited = try await reconciler.pass()
        #expect(edited.outcomes.count == 2)
        #expect(edited.work.publishes == 1, "the person's edit and the statuses in one publish: \(edited.work)")
        #expect(edited.work.filesPublished == 2, "the edited source and the document's status file")
        #expect(try String(contentsOfFile: controller + "/docs/3/doc3.md", encoding: .utf8) == "Document 3, edited.\n")
        #expect(try clean() == "")

        try push("README.md", "# Specs\n")
        let unrelated = try await reconciler.pass()
        #expect(!unrelated.idle && unrelated.outcomes.isEmpty)
        #expect(unrelated.work.publishes == 1)
        #expect(FileManager.default.fileExists(atPath: controller + "/README.md"))
        #expect(try clean() == "")

        let idle = try await reconciler.pass()
        #expect(idle.idle && idle.work.publishes == 0)
    }
}
