import Foundation
import IndexOpsController
import IndexOpsCore
import Indexers
import Logging
import Testing

/// Status files are input too, secrets never reach git, and the idle check sees the whole
/// configuration: passes on a real repository that a person edits with `git`.
@Suite("Untrusted status files, secrets, the configuration fingerprint")
struct UntrustedStatusTests {
    let repo: PeopleRepository
    let vector = LedgerIndexer()
    let fulltext = LedgerIndexer()

    init() throws {
        repo = try PeopleRepository()
        try repo.write("specs/a.yaml", PeopleRepository.spec("doc-a"))
        try repo.write("specs/b.yaml", PeopleRepository.spec("doc-b", indexes: "{ vector: present }"))
        try repo.write("docs/doc-a.md", "Alpha text.\n")
        try repo.write("docs/doc-b.md", "Beta text.\n")
        try repo.commitAll("Add two documents")
    }

    /// A new reconciler, as a new process would make it. The previous one releases the
    /// clone's lock when it is freed, which may lag a moment behind its last use: poll.
    func reconciler(_ config: ControllerConfig = .embeddedDefaults) async throws -> Reconciler {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try Reconciler.testing(repo, config: config, ledgers: ["vector": vector, "fulltext": fulltext])
            } catch is IndexOpsError where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    @Test func anOrphansInvalidStatusStillDeletesItsIndexes() async throws {
        defer { repo.cleanup() }
        _ = try await reconciler().pass()
        #expect(await vector.live.keys.sorted() == ["doc-a", "doc-b"])
        let path = DocumentStatus.path(for: "doc-b")
        try repo.write(path, try repo.read(path).replacingOccurrences(of: "\"present\"", with: "\"gone\""))
        try repo.remove("specs/b.yaml")
        try repo.commitAll("Drop doc-b and break its status by hand")

        let report = try await reconciler().pass()
        #expect(report.diagnostics.map(\.description) == [
            "\(path):1:1: warning: invalid status file: indexes.vector.actualState: must be one of absent, creating, present, deleting, failed; "
                + "its document is reconciled from the last valid version in git history, and the file is written anew",
        ])
        #expect(report.outcomes.map { "\($0.operation.action.rawValue) \($0.operation.key)" } == ["delete doc-b/vector"])
        #expect(await vector.live.keys.sorted() == ["doc-a"])
        #expect(!repo.exists(path), "the file goes with its last index")
        #expect(try await reconciler().pass().diagnostics == [], "nothing left to report")
    }

    @Test func anOrphansInvalidStatusWithNoValidVersionIsKeptAndReported() async throws {
        defer { repo.cleanup() }
        _ = try await reconciler().pass()
        let path = DocumentStatus.path(for: "doc-c")
        try repo.write(path, "{\"retryCount\": 9223372036854775807}\n")
        try repo.commitAll("A status file by hand")

        let report = try await reconciler().pass()
        #expect(report.diagnostics.map(\.description) == [
            "\(path):1:1: error: invalid status file: retryCount: unknown field; no earlier version is valid: "
                + "a declared document's indexes are built again, an orphan's indexes are left alone (fix or remove the file)",
        ])
        #expect(report.outcomes.isEmpty)
        #expect(repo.exists(path))
    }

    @Test func aDeclaredDocumentsInvalidStatusIsRebuiltAndWrittenAnew() async throws {
        defer { repo.cleanup() }
        _ = try await reconciler().pass()
        let path = DocumentStatus.path(for: "doc-a")
        let broken = try repo.read(path).replacingOccurrences(of: "\"retryCount\": 0", with: "\"retryCount\": 9223372036854775807")
        try repo.write(path, broken)
        try repo.commitAll("Overflow doc-a's retries by hand")

        let report = try await reconciler().pass()
        #expect(report.outcomes.map { "\($0.operation.key) \($0.operation.reason.rawValue)" } == [
            "doc-a/fulltext status file was invalid", "doc-a/vector status file was invalid",
        ])
        let status = try DocumentStatus(fileText: repo.read(path))
        #expect(status.indexes.values.allSatisfy { $0.actualState == .present && $0.retryCount == 0 })
    }

    /// An indexer whose failure message carries a configured secret.
    struct LeakyIndexer: Indexer {
        func create(_ request: IndexRequest) async throws -> JSONValue {
            throw IndexerError("upstream said: bad token s3cr3t-token-value for https://bot:hunter2-secret@example.com")
        }
        func delete(_ request: IndexRequest) async throws {}
        func documentIDs() async throws -> Set<String>? { nil }
    }

    @Test func secretsNeverReachAStatusFileOrACommit() async throws {
        defer { repo.cleanup() }
        var config = ControllerConfig(indexTypes: ["graph": IndexTypeSettings(
            driver: .exec, command: ["/bin/true"], env: ["TOKEN": "s3cr3t-token-value", "ENDPOINT": "https://bot:hunter2-secret@example.com"])])
        config.reconcile.commitInterval = .seconds(3_600)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let reconciler = try Reconciler(
            repo: repo.path, config: config, configured: false, logger: logger,
            makeIndexer: { _, _, _ in LeakyIndexer() })
        let report = try await reconciler.pass()
        #expect(report.outcomes.count == 1, "doc-a/graph; doc-b declares only vector, which is not configured")
        for (_, outcome) in report.outcomes {
            #expect(outcome == .failed("upstream said: bad token <redacted> for <redacted>"))
        }
        let everything = try repo.git("log", "-p", "--all") + repo.read(DocumentStatus.path(for: "doc-a"))
        #expect(everything.contains("<redacted>"))
        #expect(!everything.contains("s3cr3t"))
        #expect(!everything.contains("hunter2"))
    }

    @Test func aChangedLimitMakesThePassNotIdle() async throws {
        defer { repo.cleanup() }
        var config = ControllerConfig.embeddedDefaults
        _ = try await reconciler(config).pass()
        #expect(try await reconciler(config).pass().idle)
        config.limits.maxFileSize = 2 << 20
        let changed = try await reconciler(config).pass()
        #expect(!changed.idle, "limits.maxFileSize changed: the specs are read again")
        #expect(try await reconciler(config).pass().idle)
    }
}
