import Foundation
import IndexOpsController
import IndexOpsCore
import Testing

/// The service API on real repositories: it edits spec files as the given user and commits;
/// the reconciler does the rest.
@Suite("Service API")
struct IndexServiceTests {
    static let handbook = """
        # Team handbook. Keep this comment.
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: onboarding     # first
          collection: handbook
          createdBy: ops@example.com
        spec:
          source: docs/a.md
        ---
        # On-call.
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: oncall
          collection: handbook
          createdBy: ops@example.com
        spec:
          source: docs/a.md
          indexes:
            fulltext: present  # keyword search
            vector: absent

        """

    let repo: PeopleRepository
    let clock = TestClock()

    init() throws {
        repo = try PeopleRepository()
        try repo.write("specs/handbook.yaml", Self.handbook)
        try repo.write("docs/a.md", "A.\n")
        try repo.write("docs/new.md", "New.\n")
        try repo.commitAll("Handbook")
    }

    func service() throws -> IndexService {
        try IndexService(repo: repo.path, config: .embeddedDefaults, configured: false, clock: { clock.now })
    }

    @Test func createWritesItsOwnFileAsTheUser() async throws {
        defer { repo.cleanup() }
        let path = try await service().createDocumentIndexes(
            documentId: "new", user: "Bo Chen <bo@example.com>", indexTypes: ["vector"], collection: "team", source: "docs/new.md")
        #expect(path == "specs/team/new.yaml")
        #expect(try repo.read("specs/team/new.yaml") == """
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata:
              name: "new"
              collection: "team"
              createdBy: "Bo Chen <bo@example.com>"
            spec:
              source: "docs/new.md"
              indexes:
                vector: present

            """)
        #expect(try repo.git("log", "-1", "--format=%an <%ae>|%s") == "Bo Chen <bo@example.com>|Declare new\n")
        #expect(try repo.git("status", "--porcelain") == "")
        #expect(SpecFile(path: "x", bytes: Array(try repo.read("specs/team/new.yaml").utf8)).diagnostics.isEmpty)
    }

    @Test func createRefusesWhatWouldBeWrong() async throws {
        defer { repo.cleanup() }
        let service = try service()
        await #expect(throws: IndexOpsError("document oncall is already declared in specs/handbook.yaml:15")) {
            try await service.createDocumentIndexes(documentId: "oncall", user: "bo@example.com")
        }
        await #expect(throws: IndexOpsError("source docs/missing.md is not a file in the repository; add it first, or pass --source")) {
            try await service.createDocumentIndexes(documentId: "missing", user: "bo@example.com")
        }
        await #expect(throws: IndexOpsError("index type \"graph\" is not configured (configured: fulltext, vector)")) {
            try await service.createDocumentIndexes(documentId: "new", user: "bo@example.com", indexTypes: ["graph"])
        }
        await #expect(throws: IndexOpsError.self) {
            try await service.createDocumentIndexes(documentId: "Bad/Id", user: "bo@example.com")
        }
        #expect(try repo.git("log", "--format=%s") == "Handbook\n", "nothing was committed")
    }

    @Test func retryEditsOnlyItsDocumentByteForByte() async throws {
        defer { repo.cleanup() }
        try await service().retryFailedIndexes(documentId: "oncall", user: "ana@example.com")
        #expect(try repo.read("specs/handbook.yaml") == Self.handbook.replacingOccurrences(
            of: "  name: oncall\n  collection: handbook\n  createdBy: ops@example.com\n",
            with: "  name: oncall\n  collection: handbook\n  createdBy: ops@example.com\n  annotations:\n    indexops/retry-requested-at: \"2026-11-29T10:00:00Z\"\n"))
        #expect(try repo.git("show", "--stat", "--format=%an|%s", "HEAD") == """
            ana@example.com|Retry the failed indexes of oncall

             specs/handbook.yaml | 2 ++
             1 file changed, 2 insertions(+)

            """)
    }

    @Test func deleteDeclaresAbsentAndRecreateAnnotates() async throws {
        defer { repo.cleanup() }
        let service = try service()
        try await service.deleteDocumentIndexes(documentId: "oncall", indexTypes: ["fulltext"], user: "ana@example.com")
        try await service.forceRecreateIndexes(documentId: "onboarding", user: "ana@example.com")
        let text = try repo.read("specs/handbook.yaml")
        #expect(text.contains("    fulltext: absent  # keyword search\n"))
        #expect(text.contains("  createdBy: ops@example.com\n  annotations:\n    indexops/recreate-requested-at: \"2026-11-29T10:00:00Z\"\nspec:\n  source: docs/a.md\n---"))
        try await service.deleteDocumentIndexes(documentId: "onboarding", indexTypes: ["vector"], user: "ana@example.com")
        let one = SpecFile(path: "h", bytes: Array(try repo.read("specs/handbook.yaml").utf8))
        #expect(one.resources.first?.index.spec.indexes == ["fulltext": .present, "vector": .absent],
                "a document without indexes had every type present; only vector goes")
        try await service.deleteDocumentIndexes(documentId: "onboarding", user: "ana@example.com")
        let file = SpecFile(path: "h", bytes: Array(try repo.read("specs/handbook.yaml").utf8))
        #expect(file.resources.first?.index.spec.indexes == ["fulltext": .absent, "vector": .absent])
    }

    @Test func cleanupRemovesTheDocumentThenTheFile() async throws {
        defer { repo.cleanup() }
        let service = try service()
        try await service.cleanupDocumentIndexes(documentId: "onboarding", user: "ana@example.com")
        #expect(try repo.read("specs/handbook.yaml").hasPrefix("# Team handbook. Keep this comment.\n# On-call.\napiVersion"))
        try await service.cleanupDocumentIndexes(documentId: "oncall", user: "ana@example.com")
        #expect(!repo.exists("specs/handbook.yaml"))
        await #expect(throws: IndexOpsError("unknown document oncall: no spec under specs/ declares it")) {
            try await service.cleanupDocumentIndexes(documentId: "oncall", user: "ana@example.com")
        }
    }

    @Test func uncommittedEditsAreNeverOverwritten() async throws {
        defer { repo.cleanup() }
        try repo.write("specs/handbook.yaml", Self.handbook + "# a note in progress\n")
        await #expect(throws: IndexOpsError("specs/handbook.yaml has changes that are not committed; commit or stash them first")) {
            try await service().retryFailedIndexes(documentId: "oncall", user: "ana@example.com")
        }
        #expect(try repo.read("specs/handbook.yaml").hasSuffix("# a note in progress\n"))
    }

    @Test func statusAndHistoryAfterPasses() async throws {
        defer { repo.cleanup() }
        let vector = LedgerIndexer()
        let fulltext = LedgerIndexer()
        await fulltext.fail(["oncall"])
        do {
            let reconciler = try Reconciler.testing(repo, clock: clock, ledgers: ["vector": vector, "fulltext": fulltext])
            _ = try await reconciler.pass()
        }
        let service = try service()
        let status = try #require(try await service.documentIndexStatus(documentId: "oncall"))
        #expect(status.indexes["fulltext"]?.actualState == .failed)
        #expect(try await service.collectionIndexStatus(collection: "handbook").map(\.documentId) == ["onboarding", "oncall"])
        #expect(try await service.systemIndexStatus().count == 2)
        #expect(try await service.documentIndexStatus(documentId: "nope") == nil)
        let history = try await service.history(documentId: "oncall")
        #expect(history.map { "\($0.indexType): \($0.from) -> \($0.to)" } == ["fulltext: creating -> failed", "fulltext: absent -> creating"])
        #expect(history.first?.errorMessage == "connection refused")
        #expect(history.first?.author == "indexops <indexops@localhost>")
    }
}

extension IndexOpsError: Equatable {
    public static func == (a: IndexOpsError, b: IndexOpsError) -> Bool { a.message == b.message }
}
