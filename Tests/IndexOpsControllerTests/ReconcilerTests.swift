import Foundation
import Git
import IndexOpsController
import IndexOpsCore
import Indexers
import Testing

/// The pass of DESIGN.md §5 on a real repository that a person edits with `git`, with a
/// ledger indexer standing in for the index engine.
@Suite("Reconcile pass")
struct ReconcilerTests {
    let repo: PeopleRepository
    let vector = LedgerIndexer()
    let fulltext = LedgerIndexer()
    let clock = TestClock()

    init() throws {
        repo = try PeopleRepository()
        try repo.write("specs/a.yaml", PeopleRepository.spec("doc-a"))
        try repo.write("specs/b.yaml", PeopleRepository.spec("doc-b", indexes: "{ vector: present }"))
        try repo.write("docs/doc-a.md", "Alpha text.\n")
        try repo.write("docs/doc-b.md", "Beta text.\n")
        try repo.commitAll("Add two documents")
    }

    func reconciler() throws -> Reconciler {
        try Reconciler.testing(repo, clock: clock, ledgers: ["vector": vector, "fulltext": fulltext])
    }

    func status(_ id: String) throws -> DocumentStatus {
        try DocumentStatus(fileText: repo.read(DocumentStatus.path(for: id)))
    }

    /// An index engine that never answers.
    actor SilentIndexer: Indexer {
        func create(_ request: IndexRequest) async throws -> JSONValue {
            try await Task.sleep(for: .seconds(3_600))
            return .null
        }
        func delete(_ request: IndexRequest) async throws {}
        func documentIDs() async throws -> Set<String>? { nil }
    }

    /// The timeout waits a second at a time (``OperationRunner``): an operation that outlives
    /// a timeout of several seconds still fails when it is up, with the setting's name.
    @Test func anOperationPastItsTimeoutFailsWithTheTimeoutsName() async throws {
        defer { repo.cleanup() }
        var config = ControllerConfig.embeddedDefaults
        config.reconcile.operationTimeout = .milliseconds(2_500)
        let silent = SilentIndexer()
        let reconciler = try Reconciler.testing(repo, config: config, clock: clock, indexer: { _ in silent })
        let started = ContinuousClock.now
        let report = try await reconciler.pass()
        #expect(ContinuousClock.now - started >= .milliseconds(2_500))
        #expect(report.outcomes.count == 3)
        for (_, outcome) in report.outcomes {
            guard case .failed(let failure) = outcome else { Issue.record("\(outcome)"); continue }
            #expect(failure.message == "timed out after 2s500ms (operationTimeout)")
        }
    }

    @Test func firstPassCreatesEverythingAndCommitsIntentsThenResults() async throws {
        defer { repo.cleanup() }
        let report = try await reconciler().pass()
        #expect(report.outcomes.count == 3)
        #expect(await vector.live.keys.sorted() == ["doc-a", "doc-b"])
        #expect(await fulltext.live.keys.sorted() == ["doc-a"])
        #expect(report.commits.count == 2)
        let a = try status("doc-a")
        #expect(a.indexes["vector"]?.actualState == .present)
        #expect(a.indexes["fulltext"]?.indexData == .object(["bytes": .int(12)]))
        #expect(a.specFile == "specs/a.yaml")

        let log = try repo.git("log", "--format=%an|%s", "-3")
        #expect(log == """
            indexops|indexops: 3 indexes reconciled (3 created)
            indexops|indexops: 3 operations started
            Ana|Add two documents

            """)
        let body = try repo.git("log", "-1", "--format=%b")
        #expect(body.contains("doc-a/fulltext: creating -> present\ndoc-a/vector: creating -> present\ndoc-b/vector: creating -> present"))
        #expect(body.contains("Indexops-Spec-Commit: \(report.specCommit!.hex)"))
        #expect(try repo.git("status", "--porcelain") == "", "the work tree is published and clean")
        try repo.git("fsck", "--strict")
    }

    @Test func idlePassParsesAndCommitsNothing() async throws {
        defer { repo.cleanup() }
        do {
            let reconciler = try reconciler()
            _ = try await reconciler.pass()
            let head = try repo.git("rev-parse", "HEAD")
            let idle = try await reconciler.pass()
            #expect(idle.idle)
            #expect(idle.filesParsed == 0)
            #expect(idle.commits.isEmpty)
            #expect(try repo.git("rev-parse", "HEAD") == head)

            let forced = try await reconciler.pass(PassOptions(force: true))
            #expect(forced.filesParsed == 0, "unchanged blobs come from the cache")
            #expect(forced.commits.isEmpty, "nothing changed: no commit, never an empty one")
            #expect(throws: IndexOpsError.self, "one controller per clone") { try self.reconciler() }
        }
        // The first reconciler releases the clone's lock when it is freed, which may lag a
        // moment behind its last use on a busy machine: poll for it.
        var fresh: Reconciler?
        let deadline = ContinuousClock.now + .seconds(30)
        while fresh == nil {
            do {
                fresh = try reconciler()
            } catch is IndexOpsError where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let another = fresh!
        #expect(try await another.pass().idle, "a new process finds the last pass's state and stops at once")
    }

    @Test func editedSourceIsReindexed() async throws {
        defer { repo.cleanup() }
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        let before = try status("doc-a").indexes["vector"]?.observedRevision
        try repo.write("docs/doc-a.md", "Alpha, rewritten.\n")
        try repo.commitAll("Rewrite alpha")
        let report = try await reconciler.pass()
        #expect(report.filesParsed == 0, "the spec files did not change")
        #expect(report.outcomes.map { "\($0.operation.key)" } == ["doc-a/fulltext", "doc-a/vector"])
        let after = try status("doc-a").indexes["vector"]?.observedRevision
        #expect(after != before)
        #expect(await vector.live["doc-a"] == after)
    }

    @Test func absentIndexIsDeletedAndLeavesTheStatus() async throws {
        defer { repo.cleanup() }
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        try repo.write("specs/a.yaml", PeopleRepository.spec("doc-a", indexes: "{ vector: present, fulltext: absent }"))
        try repo.commitAll("No full-text index for alpha")
        let report = try await reconciler.pass()
        #expect(report.outcomes.map { "\($0.operation.action) \($0.operation.key)" } == ["delete doc-a/fulltext"])
        #expect(await fulltext.live["doc-a"] == nil)
        #expect(try status("doc-a").indexes.keys.sorted() == ["vector"])
    }

    @Test func removedSpecDeletesIndexesAndStatusFile() async throws {
        defer { repo.cleanup() }
        try repo.write("specs/c.yaml", PeopleRepository.spec("doc-c", source: "docs/doc-a.md"))
        try repo.commitAll("Add c")
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        #expect(repo.exists(DocumentStatus.path(for: "doc-c")))
        try repo.git("rm", "-q", "specs/c.yaml")
        try repo.git("commit", "-q", "-m", "Remove c")
        let report = try await reconciler.pass()
        #expect(report.plan.brake == nil)
        #expect(await vector.live["doc-c"] == nil)
        #expect(await fulltext.live["doc-c"] == nil)
        #expect(!repo.exists(DocumentStatus.path(for: "doc-c")))
        #expect(try repo.git("log", "-1", "--format=%s") == "indexops: 2 indexes reconciled (2 deleted)\n")
    }

    @Test func brokenSpecIsHeldAndReported() async throws {
        defer { repo.cleanup() }
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        try repo.write("specs/a.yaml", "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: doc-a\n  createdBy: [ana\n")
        try repo.commitAll("Break a")
        let report = try await reconciler.pass()
        #expect(report.outcomes.isEmpty, "nothing is deleted because a file broke")
        #expect(report.plan.held.keys.map(\.description).sorted() == ["doc-a/fulltext", "doc-a/vector"])
        #expect(report.diagnostics.map(\.description).contains {
            $0.hasPrefix("specs/a.yaml:6:1: error: ")
        })
        #expect(await vector.live["doc-a"] != nil)
        let diagnostics = try repo.read("status/_diagnostics.json")
        #expect(diagnostics.contains("\"file\": \"specs/a.yaml\""))
        #expect(diagnostics.contains("\"line\": 6"))
    }

    @Test func failureIsRecordedAndRetryAnnotationHeals() async throws {
        defer { repo.cleanup() }
        await vector.fail(["doc-b"])
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        let failed = try #require(try status("doc-b").indexes["vector"])
        #expect(failed.actualState == .failed)
        #expect(failed.errorMessage == "connection refused")
        #expect(failed.retryCount == 1)
        let delay = try #require(failed.nextRetryAt).secondsSinceEpoch - clock.now.timeIntervalSince1970
        #expect(delay >= 27 && delay <= 33, "30 s, jittered by 10 %")
        #expect(try repo.git("log", "-1", "--format=%s") == "indexops: 3 indexes reconciled (2 created, 1 failed)\n")

        #expect(try await reconciler.pass().idle, "no retry is due yet")
        await vector.fail([])
        try repo.write("specs/b.yaml", PeopleRepository.spec(
            "doc-b", indexes: "{ vector: present }",
            extra: "  annotations:\n    indexops/retry-requested-at: \"2026-11-29T10:00:00Z\"\n"))
        try repo.commitAll("Retry b")
        let healed = try await reconciler.pass()
        #expect(healed.outcomes.map { "\($0.operation.key)" } == ["doc-b/vector"])
        let entry = try #require(try status("doc-b").indexes["vector"])
        #expect(entry.actualState == .present)
        #expect(entry.retryCount == 0)
        #expect(entry.errorMessage == nil)
        #expect(try status("doc-b").lastHandledRetryAt == Timestamp("2026-11-29T10:00:00Z"))
    }

    @Test func dueRetryRunsWithoutAnyChange() async throws {
        defer { repo.cleanup() }
        await vector.fail(["doc-b"])
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        await vector.fail([])
        clock.advance(60)
        let report = try await reconciler.pass()
        #expect(!report.idle)
        #expect(report.outcomes.map { "\($0.operation.key) \($0.operation.reason.rawValue)" } == ["doc-b/vector retry after failure"])
        #expect(try status("doc-b").indexes["vector"]?.actualState == .present)
    }

    @Test func interruptedOperationsRunAgain() async throws {
        defer { repo.cleanup() }
        // A crash right after the intents were committed leaves `creating` entries.
        let crashed = DocumentStatus(documentId: "doc-b", specFile: "specs/b.yaml", indexes: [
            "vector": IndexStatus(actualState: .creating, desiredState: .present, updatedAt: Timestamp("2026-11-29T09:00:00Z")!,
                                  lastReconciledAt: Timestamp("2026-11-29T09:00:00Z")!),
        ])
        try repo.write(DocumentStatus.path(for: "doc-b"), crashed.fileText)
        try repo.commitAll("A status left by a crashed controller")
        let report = try await reconciler().pass()
        #expect(report.outcomes.contains { "\($0.operation.key) \($0.operation.reason.rawValue)" == "doc-b/vector interrupted operation" })
        #expect(try status("doc-b").indexes["vector"]?.actualState == .present)
    }

    /// A document whose every index is declared absent never reads its source: removing the
    /// source file in the same commit still deletes its indexes (a warning, not a hold), and
    /// the delete gets the source the status kept.
    @Test func indexesDeclaredAbsentAreDeletedWhenTheSourceIsGone() async throws {
        defer { repo.cleanup() }
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        #expect(try status("doc-b").source == .path("docs/doc-b.md"))
        try repo.write("specs/b.yaml", PeopleRepository.spec("doc-b", indexes: "{ vector: absent }"))
        try repo.git("rm", "-q", "docs/doc-b.md")
        try repo.commitAll("doc-b goes, source and all")
        let report = try await reconciler.pass()
        #expect(report.outcomes.map { "\($0.operation.key) \($0.operation.reason.rawValue)" } == ["doc-b/vector declared absent"])
        #expect(report.diagnostics.map(\.description) == [
            "specs/b.yaml:7:11: warning: source \"docs/doc-b.md\" does not exist in the repository; every index is declared absent, so it is not read",
        ])
        #expect(await vector.live.keys.sorted() == ["doc-a"])
        #expect(!repo.exists(DocumentStatus.path(for: "doc-b")))
    }

    @Test func wipedSpecsTripTheBrakeUntilAllowed() async throws {
        defer { repo.cleanup() }
        var config = ControllerConfig.embeddedDefaults
        config.reconcile.minDeleteCount = 0  // three indexes: below the default, the brake would not apply
        let reconciler = try Reconciler.testing(repo, config: config, clock: clock, ledgers: ["vector": vector, "fulltext": fulltext])
        _ = try await reconciler.pass()
        try repo.git("rm", "-q", "-r", "specs")
        try repo.git("commit", "-q", "-m", "Oops")
        let braked = try await reconciler.pass()
        #expect(braked.plan.brake == MassDeleteBrake(wouldDelete: 3, present: 3, maxDeletePercent: 50))
        #expect(braked.outcomes.isEmpty)
        #expect(await vector.live.count == 2)
        #expect(try repo.read("status/_diagnostics.json").contains("deletions held: this pass would delete 3 of 3 present indexes"))
        let again = try await reconciler.pass()
        #expect(again.idle && again.plan.brake != nil, "held, and reported again, until the operator acts")
        let allowed = try await reconciler.pass(PassOptions(allowMassDelete: true))
        #expect(allowed.outcomes.count == 3)
        #expect(await vector.live.isEmpty)
        #expect(!repo.exists("status/\(DocumentStatus.path(for: "doc-a").dropFirst(7))"))
        #expect(!(try repo.read("status/_diagnostics.json")).contains("deletions held"))
    }

    @Test func aSpecCommittedDuringAPassIsReconciledByTheNext() async throws {
        defer { repo.cleanup() }
        let reconciler = try reconciler()
        let repo = self.repo
        await vector.setDuringFirstCreate {
            try repo.write("specs/c.yaml", PeopleRepository.spec("doc-c", source: "docs/doc-a.md", indexes: "{ vector: present }"))
            try repo.commitAll("Add c while indexops works")
        }
        let first = try await reconciler.pass()
        #expect(!first.outcomes.contains { $0.operation.key.documentId == "doc-c" })
        let next = try await reconciler.pass()
        #expect(!next.idle, "the pass did not plan against the commit that came in: the next one must")
        #expect(next.outcomes.map { "\($0.operation.key)" } == ["doc-c/vector"])
    }

    @Test func misspeltKindOrUnreadableNameHoldsTheDocument() async throws {
        defer { repo.cleanup() }
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        try repo.write("specs/a.yaml", PeopleRepository.spec("doc-a").replacingOccurrences(of: "kind: DocumentIndex", with: "kind: DocumentIndx"))
        try repo.write("specs/b.yaml", PeopleRepository.spec("doc-b").replacingOccurrences(of: "metadata:", with: "metdata:"))
        try repo.commitAll("Two typos")
        let report = try await reconciler.pass()
        #expect(report.outcomes.isEmpty, "a typo deletes nothing")
        #expect(report.plan.held.keys.map(\.documentId).sorted() == ["doc-a", "doc-a", "doc-b"])
        #expect(report.diagnostics.map(\.description).contains("specs/a.yaml:2:7: warning: unknown kind \"DocumentIndx\"; only DocumentIndex is read from specs (skipped)"))
        #expect(await vector.live.keys.sorted() == ["doc-a", "doc-b"])
    }

    @Test func personCommittingDuringThePassIsKept() async throws {
        defer { repo.cleanup() }
        let reconciler = try reconciler()
        _ = try await reconciler.pass()
        try repo.write("docs/notes.md", "unrelated\n")
        try repo.commitAll("A person's commit")
        try repo.write("specs/a.yaml", PeopleRepository.spec("doc-a", indexes: "{ vector: present }"))
        try repo.commitAll("Only vector for a")
        _ = try await reconciler.pass()
        let subjects = try repo.git("log", "--format=%s", "-4")
        #expect(subjects.contains("Only vector for a"))
        #expect(subjects.contains("A person's commit"))
        try repo.git("fsck", "--strict")
    }
}

@Suite("Status views")
struct StatusViewTests {
    @Test func systemCountsAndFailures() throws {
        let now = Timestamp("2026-11-29T10:00:00Z")!
        func entry(_ state: ActualState, error: String? = nil) -> IndexStatus {
            IndexStatus(actualState: state, desiredState: .present, updatedAt: now, lastReconciledAt: now, errorMessage: error,
                        retryCount: error == nil ? 0 : 2, nextRetryAt: error == nil ? nil : now.adding(.seconds(60)))
        }
        let statuses = [
            DocumentStatus(documentId: "b", collection: "col", indexes: ["vector": entry(.present), "fulltext": entry(.failed, error: "boom")]),
            DocumentStatus(documentId: "a", collection: "col", indexes: ["vector": entry(.creating)]),
            DocumentStatus(documentId: "c", indexes: ["vector": entry(.present)]),
        ]
        let system = StatusViews.system(statuses)
        #expect(system["documents"] == .int(3))
        #expect(system["collections"] == .array([.string("col")]))
        #expect(system["indexes"]?["total"] == .int(4))
        #expect(system["indexes"]?["byState"]?["present"] == .int(2))
        #expect(system["indexes"]?["byState"]?["deleting"] == .int(0))
        #expect(system["indexes"]?["byType"]?["vector"]?["creating"] == .int(1))
        #expect(system["failed"] == .array([.object([
            "documentId": .string("b"), "indexType": .string("fulltext"), "desiredState": .string("present"),
            "errorMessage": .string("boom"), "retryCount": .int(2), "nextRetryAt": .string("2026-11-29T10:01:00Z"),
            "updatedAt": .string("2026-11-29T10:00:00Z"),
        ])]))
        let collection = StatusViews.collection("col", statuses)
        #expect(collection["documents"].map { if case .array(let items) = $0 { items.compactMap { $0["documentId"]?.stringValue } } else { [] } } == ["a", "b"])
        #expect(collection["indexes"]?["total"] == .int(3))
    }
}
