import Foundation
import Git
import IndexOpsController
import IndexOpsCore
import Testing

/// A pass reads only what changed since the tree its cache describes (DESIGN.md §9). These
/// tests count the work a pass does, prove that a damaged cache gives the right result, and
/// compare, over random edits, a pass with a cache against a pass that reads everything.
@Suite("Incremental passes", .serialized)
struct IncrementalPassTests {
    // MARK: - Counting

    /// A repository of `count` documents written with `git fast-import` (fast enough for
    /// 10,000), with specs and sources in 100 folders each, as large repositories keep them.
    static func generated(_ count: Int) throws -> PeopleRepository {
        let repo = try PeopleRepository()
        var stream = "commit refs/heads/main\ncommitter Ana <ana@example.com> 1795946400 +0000\ndata 9\ngenerate\n"
        func inline(_ path: String, _ text: String) -> String { "M 100644 inline \(path)\ndata \(text.utf8.count)\n\(text)\n" }
        for i in 0..<count {
            stream += inline("specs/\(i % 100)/doc\(i).yaml", PeopleRepository.spec("doc\(i)", source: "docs/\(i % 100)/doc\(i).md"))
            stream += inline("docs/\(i % 100)/doc\(i).md", "Document \(i).\n")
        }
        try repo.fastImport(stream)
        try repo.git("reset", "-q", "--hard")
        return repo
    }

    @Test func afterOneEditAPassReadsOnlyWhatChanged() async throws {
        let repo = try Self.generated(10_000)
        defer { repo.cleanup() }
        let ledgers = ["vector": LedgerIndexer(), "fulltext": LedgerIndexer()]
        let reconciler = try Reconciler.testing(repo, ledgers: ledgers)
        let cold = try await reconciler.pass()
        #expect(cold.work.fullRead)
        #expect(cold.outcomes.count == 20_000)
        #expect(cold.work.specFilesParsed == 10_000)
        // Intents are committed first, then results, in several commits; the work tree gets
        // each status file once, and holds exactly what the branch holds.
        #expect(cold.work.statusFilesWritten > 10_000)
        #expect(cold.work.filesPublished == 10_001, "each status file and the diagnostics file: \(cold.work)")
        #expect(try repo.git("status", "--porcelain", "--untracked-files=all") == "")

        let idle = try await reconciler.pass()
        #expect(idle.idle)
        #expect(idle.work.blobsRead == 0 && idle.work.treesRead == 0, "an idle pass reads no git object: \(idle.work)")

        try repo.write("docs/42/doc42.md", "Document 42, edited.\n")
        try repo.commitAll("Edit one source")
        let source = try await reconciler.pass()
        #expect(!source.work.fullRead)
        #expect(source.work.changedPaths == 1)
        #expect(source.work.specFilesParsed == 0, "no spec changed")
        #expect(source.work.statusFilesRead == 0)
        #expect(source.work.documentsPlanned == 1)
        #expect(source.work.sourcesRead == 1, "one source blob, read once for both index types")
        #expect(source.work.blobsRead == 1, "the source, and nothing read back from what the pass wrote")
        #expect(source.outcomes.map { "\($0.operation.key)" }.sorted() == ["doc42/fulltext", "doc42/vector"])
        #expect(source.work.statusFilesWritten == 2, "one status file, written as its intent and then as its result")
        #expect(source.work.filesPublished == 1, "and published once, with its result")
        #expect(source.work.treesRead < 30, "the trees on the changed path, not the 200 folders: \(source.work)")

        try repo.write("specs/7/doc7.yaml", PeopleRepository.spec("doc7", source: "docs/7/doc7.md", indexes: "{ vector: present }"))
        try repo.commitAll("Edit one spec")
        let spec = try await reconciler.pass()
        #expect(spec.work.specFilesParsed == 1)
        #expect(spec.work.documentsPlanned == 1)
        #expect(spec.outcomes.map { "\($0.operation.key) \($0.operation.action)" } == ["doc7/fulltext delete"])
        #expect(spec.work.blobsRead == 1, "the spec file; a delete reads no source")
        #expect(spec.work.statusFilesWritten == 2)
        #expect(try await reconciler.pass().idle)
    }

    /// With a commit after every result, the work tree is not published with each of them
    /// (``PublishBudget``), but the pass's last publish leaves it complete: every status file
    /// as the branch has it, and `git status` clean.
    @Test func aPassThatCommitsEveryResultEndsWithTheWholeWorkTree() async throws {
        let repo = try Self.generated(300)
        defer { repo.cleanup() }
        let reconciler = try Reconciler.testing(repo, commitInterval: .zero, ledgers: ["vector": LedgerIndexer(), "fulltext": LedgerIndexer()])
        let cold = try await reconciler.pass()
        #expect(cold.outcomes.count == 600 && cold.outcomes.allSatisfy { if case .succeeded = $0.outcome { true } else { false } })
        #expect(cold.commits.count > 100, "a results commit after (nearly) every operation: \(cold.commits.count)")
        #expect(cold.work.publishes >= 1, "the pass's last results commit is published")
        #expect(cold.work.filesPublished >= 301, "each status file and the diagnostics file, at least once: \(cold.work)")
        #expect(try repo.git("status", "--porcelain", "--untracked-files=all") == "")
        for i in [0, 150, 299] {
            let path = DocumentStatus.path(for: "doc\(i)")
            let committed = try repo.git("show", "HEAD:\(path)")
            #expect(try String(contentsOfFile: repo.path + "/" + path, encoding: .utf8) == committed)
            #expect(committed.contains("\"present\""))
        }
    }

    // MARK: - A damaged cache

    func twoDocuments() throws -> PeopleRepository {
        let repo = try PeopleRepository()
        try repo.write("specs/a.yaml", PeopleRepository.spec("doc-a"))
        try repo.write("specs/b.yaml", PeopleRepository.spec("doc-b", indexes: "{ vector: present }"))
        try repo.write("docs/doc-a.md", "Alpha.\n")
        try repo.write("docs/doc-b.md", "Beta.\n")
        try repo.commitAll("Two documents")
        return repo
    }

    var cacheFile: (PeopleRepository) -> URL {
        { $0.root.appendingPathComponent(".git/indexops/cache.sqlite") }
    }

    @Test(arguments: ["deleted", "truncated", "garbage"])
    func aDamagedCacheIsRebuilt(_ damage: String) async throws {
        let repo = try twoDocuments()
        defer { repo.cleanup() }
        let ledgers = ["vector": LedgerIndexer(), "fulltext": LedgerIndexer()]
        _ = try await Reconciler.testing(repo, ledgers: ledgers).pass()
        let statusTree = try repo.git("rev-parse", "HEAD:status")
        let file = cacheFile(repo)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file.path + suffix) }
        switch damage {
        case "deleted": try FileManager.default.removeItem(at: file)
        case "truncated": try FileHandle(forWritingTo: file).truncate(atOffset: 100)
        default: try Data(repeating: 0x5a, count: 4096).write(to: file)
        }
        let report = try await Reconciler.testing(repo, ledgers: ledgers).pass()
        #expect(report.work.fullRead, "the whole tree is read again")
        #expect(report.outcomes.isEmpty, "and nothing is done twice")
        #expect(report.commits.isEmpty)
        #expect(try repo.git("rev-parse", "HEAD:status") == statusTree)
        #expect(await ledgers["vector"]!.calls.count == 2, "two creates in all, from the first pass")
    }

    @Test func aCacheWhoseTreeIsGoneStartsOver() async throws {
        let repo = try twoDocuments()
        defer { repo.cleanup() }
        let ledgers = ["vector": LedgerIndexer(), "fulltext": LedgerIndexer()]
        _ = try await Reconciler.testing(repo, ledgers: ledgers).pass()
        // A person rewinds the branch past our status commits and collects the garbage: the
        // tree the cache describes is no longer in the repository when indexops starts again.
        try repo.git("reset", "-q", "--hard", "HEAD~2")
        try repo.git("reflog", "expire", "--expire=now", "--all")
        try repo.git("gc", "-q", "--prune=now")
        let reconciler = try Reconciler.testing(repo, ledgers: ledgers)
        let report = try await reconciler.pass()
        #expect(report.work.fullRead)
        #expect(report.outcomes.count == 3, "no status is left: the indexes are created again (idempotently)")
        #expect(try await reconciler.pass().idle)
    }

    @Test func aStaleCacheReadsWhatChangedSinceItsTree() async throws {
        let repo = try twoDocuments()
        defer { repo.cleanup() }
        let ledgers = ["vector": LedgerIndexer(), "fulltext": LedgerIndexer()]
        var reconciler: Reconciler? = try Reconciler.testing(repo, ledgers: ledgers)
        _ = try await reconciler!.pass()
        let old = try ["", "-wal"].map { try Data(contentsOf: URL(fileURLWithPath: cacheFile(repo).path + $0)) }
        try repo.write("specs/c.yaml", PeopleRepository.spec("doc-c", source: "docs/doc-a.md", indexes: "{ vector: present }"))
        try repo.remove("specs/b.yaml")
        try repo.commitAll("Add c, remove b")
        let second = try await reconciler!.pass()
        reconciler = nil
        #expect(second.outcomes.map { "\($0.operation.key) \($0.operation.action)" }.sorted() == ["doc-b/vector delete", "doc-c/vector create"])
        let statusTree = try repo.git("rev-parse", "HEAD:status")
        let calls = await ledgers["vector"]!.calls.count

        // The cache of the first pass, as a crash before the second pass remembered would leave it.
        try? FileManager.default.removeItem(atPath: cacheFile(repo).path + "-shm")
        for (suffix, data) in zip(["", "-wal"], old) { try data.write(to: URL(fileURLWithPath: cacheFile(repo).path + suffix)) }
        let third = try await Reconciler.testing(repo, ledgers: ledgers).pass()
        #expect(!third.work.fullRead)
        #expect(third.outcomes.isEmpty, "the statuses the second pass committed are read, nothing is done again")
        #expect(third.commits.isEmpty)
        #expect(try repo.git("rev-parse", "HEAD:status") == statusTree)
        #expect(await ledgers["vector"]!.calls.count == calls)
    }

    // MARK: - Incremental equals full

    /// Random edits, the same in two repositories: one reconciled with its cache, the other
    /// from an empty cache at every pass. After every pass, the plans and the status trees are
    /// the same. `INCREMENTAL_STEPS` and `INCREMENTAL_SEED` run it longer or differently.
    @Test func incrementalAndFullPassesAgree() async throws {
        let environment = ProcessInfo.processInfo.environment
        let steps = environment["INCREMENTAL_STEPS"].flatMap(Int.init) ?? 40
        let seed = environment["INCREMENTAL_SEED"].flatMap(UInt64.init) ?? 11
        print("incremental property test: \(steps) steps, seed \(seed)")
        var random = SplitMix64(seed: seed)
        let incremental = try World()
        let full = try World()
        defer { incremental.repo.cleanup(); full.repo.cleanup() }
        let reconciler = try incremental.reconciler()

        for step in 0..<steps {
            let edit = Edit.random(&random, step: step)
            try await incremental.apply(edit)
            try await full.apply(edit)
            let a = try await reconciler.pass()
            try? FileManager.default.removeItem(atPath: full.repo.root.appendingPathComponent(".git/indexops").path)
            let b = try await full.reconciler().pass()
            let context = "step \(step) (\(edit)), seed \(seed)"
            #expect(describe(a.plan) == describe(b.plan), "\(context)")
            #expect(a.plan.brake == b.plan.brake, "\(context)")
            #expect(a.diagnostics == b.diagnostics, "\(context)")
            #expect(try incremental.repo.git("ls-tree", "-r", "HEAD", "status") == full.repo.git("ls-tree", "-r", "HEAD", "status"),
                    "the same status files, byte for byte: \(context)")
            if try incremental.repo.git("ls-tree", "-r", "HEAD", "status") != full.repo.git("ls-tree", "-r", "HEAD", "status") { break }
        }
    }

    private func describe(_ plan: ReconcilePlan) -> [String] {
        plan.operations.map { "\($0.action.rawValue) \($0.key) \($0.revision) \($0.reason.rawValue)" }
            + plan.intents.keys.sorted().map { "intent \($0): \(plan.intents[$0]!.map(\.fileText) ?? "remove")" }
    }

    /// One random change a person (or the clock, or an index engine) makes.
    enum Edit: CustomStringConvertible {
        case writeSpec(file: Int, ids: [Int], variant: Int)
        case breakSpec(file: Int)
        case removeSpec(file: Int)
        case writeSource(Int, version: Int)
        case removeSource(Int)
        case handEditStatus(id: Int, how: Int)
        case rewind(commits: Int)
        case failing([Int])
        case wait(seconds: Double)

        static func random(_ r: inout SplitMix64, step: Int) -> Edit {
            switch r.next() % 20 {
            case 0...5: .writeSpec(file: Int(r.next() % 6), ids: (0..<Int(1 + r.next() % 2)).map { _ in Int(r.next() % 8) }, variant: Int(r.next() % 6))
            case 6: .breakSpec(file: Int(r.next() % 6))
            case 7, 8: .removeSpec(file: Int(r.next() % 6))
            case 9, 10: .writeSource(Int(r.next() % 8), version: step)
            case 11: .removeSource(Int(r.next() % 8))
            case 12, 13: .handEditStatus(id: Int(r.next() % 8), how: Int(r.next() % 3))
            case 14: .rewind(commits: Int(1 + r.next() % 3))
            case 15, 16: .failing((0..<Int(r.next() % 3)).map { _ in Int(r.next() % 8) })
            default: .wait(seconds: [5, 40, 400, 2_000][Int(r.next() % 4)])
            }
        }

        var description: String {
            switch self {
            case .writeSpec(let file, let ids, let variant): "write specs/f\(file).yaml with \(ids.map { "d\($0)" }) variant \(variant)"
            case .breakSpec(let file): "break specs/f\(file).yaml"
            case .removeSpec(let file): "remove specs/f\(file).yaml"
            case .writeSource(let n, let version): "write docs/d\(n).md v\(version)"
            case .removeSource(let n): "remove docs/d\(n).md"
            case .handEditStatus(let id, let how): "hand-edit the status of d\(id) (\(how))"
            case .rewind(let commits): "force the branch back \(commits) commit(s)"
            case .failing(let ids): "the engine fails for \(ids.map { "d\($0)" })"
            case .wait(let seconds): "wait \(seconds) s"
            }
        }
    }

    /// One of the two repositories, with its clock and index engines.
    final class World {
        let repo: PeopleRepository
        let clock = TestClock()
        let ledgers = ["vector": LedgerIndexer(), "fulltext": LedgerIndexer()]
        var config = ControllerConfig.embeddedDefaults

        init() throws {
            repo = try PeopleRepository()
            config.reconcile.maxRetries = 3
            config.reconcile.maxDeletePercent = 60
            for n in 0..<8 { try repo.write("docs/d\(n).md", "Source \(n).\n") }
            try repo.write("specs/f0.yaml", PeopleRepository.spec("d0", source: "docs/d0.md"))
            try repo.commitAll("Start")
        }

        func reconciler() throws -> Reconciler {
            try Reconciler.testing(repo, config: config, clock: clock, ledgers: ledgers)
        }

        func apply(_ edit: Edit) async throws {
            switch edit {
            case .writeSpec(let file, let ids, let variant):
                let documents = ids.map { id -> String in
                    let indexes = ["{ vector: present }", "{ vector: present, fulltext: absent }", "{ fulltext: present }", "", "", "{ vector: absent }"][variant]
                    let source = variant == 4 ? "docs/missing.md" : "docs/d\(id).md"
                    var extra = variant == 3 ? "  collection: c\(id % 2)\n" : ""
                    if variant == 1 { extra += "  annotations:\n    indexops/retry-requested-at: \"\(Timestamp(secondsSinceEpoch: clock.now.timeIntervalSince1970).text)\"\n" }
                    return PeopleRepository.spec("d\(id)", source: source, indexes: indexes.isEmpty ? nil : indexes, extra: extra)
                }
                try repo.write("specs/f\(file).yaml", documents.joined(separator: "---\n"))
                try commit("write f\(file)")
            case .breakSpec(let file):
                guard repo.exists("specs/f\(file).yaml") else { return }
                try repo.write("specs/f\(file).yaml", try repo.read("specs/f\(file).yaml") + "spec: [unclosed\n")
                try commit("break f\(file)")
            case .removeSpec(let file):
                guard repo.exists("specs/f\(file).yaml") else { return }
                try repo.remove("specs/f\(file).yaml")
                try commit("remove f\(file)")
            case .writeSource(let n, let version):
                try repo.write("docs/d\(n).md", "Source \(n), version \(version).\n")
                try commit("source d\(n)")
            case .removeSource(let n):
                guard repo.exists("docs/d\(n).md") else { return }
                try repo.remove("docs/d\(n).md")
                try commit("remove source d\(n)")
            case .handEditStatus(let id, let how):
                let path = DocumentStatus.path(for: "d\(id)")
                guard repo.exists(path) else { return }
                switch how {
                case 0: try repo.remove(path)
                case 1: try repo.write(path, "{ not json")
                default: try repo.write(path, try repo.read(path).replacingOccurrences(of: "\"retryCount\": 0", with: "\"retryCount\": 2"))
                }
                try commit("hand-edit the status of d\(id)")
            case .rewind(let commits):
                let count = Int(try repo.git("rev-list", "--count", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1
                guard count > commits else { return }
                try repo.git("reset", "-q", "--hard", "HEAD~\(commits)")
            case .failing(let ids):
                let names = Set(ids.map { "d\($0)" })
                for ledger in ledgers.values { await ledger.fail(names) }
            case .wait(let seconds):
                clock.advance(seconds)
            }
        }

        private func commit(_ message: String) throws {
            try repo.git("add", "-A")
            if try !repo.git("status", "--porcelain").isEmpty { try repo.git("commit", "-q", "-m", message) }
        }
    }
}

/// A seeded random source, so that a failure can be replayed.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
