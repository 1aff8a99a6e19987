import FaultInjection
import Foundation
import Testing

/// Every failpoint (`INDEXOPS_FAILPOINTS`), as a crash (SIGKILL) and as an error, in a pass
/// that has creates, re-creates and deletes in flight (an exec indexer keeping a ledger, and
/// sqlite-fts); then one clean pass, after which everything a user would check holds: every
/// declared index present, no status for a removed document, the ledger and the SQLite
/// table equal to what is declared, every status commit once on the remote and no empty one,
/// `git fsck --strict` clean on both sides, no lock or temporary file anywhere.
@Suite("Failpoint matrix", .serialized)
struct FailpointMatrixTests {
    /// The failpoints and the hit that fails: every failpoint's first hit, and the later hits
    /// that reach a different step (the results commit, the intent commit's publish).
    static let points: [String] = Failpoint.allCases.map(\.rawValue) + ["commit-objects-written@2", "commit-before-publish@2", "publish-midway@2"]

    static let cases: [(String, FailpointAction)] = points.flatMap { [($0, FailpointAction.crash), ($0, .error)] }

    /// The declared indexes after the spec change: document → index types.
    static let declared: [String: Set<String>] = [
        "doc2": ["fulltext", "graph"], "doc3": ["fulltext"], "doc4": ["fulltext", "graph"],
        "doc5": ["fulltext", "graph"], "doc6": ["fulltext", "graph"],
    ]

    @Test(arguments: cases)
    func failThenHeal(_ point: String, _ action: FailpointAction) throws {
        let world = try MatrixWorld()
        defer { world.cleanup() }
        // Four documents, indexed cleanly.
        for id in ["doc1", "doc2", "doc3", "doc4"] {
            try world.world.write("docs/\(id).md", "The first text of \(id).\n")
            try world.world.write("specs/\(id).yaml", PeopleSpec.spec(id, source: "docs/\(id).md", indexes: "{ fulltext: present, graph: present }"))
        }
        try world.world.push("Four documents")
        var first = try world.reconcile()
        // A test running in parallel may fork while the script was open for writing, and hold
        // it (ETXTBSY) until its exec: the setup pass is done again then (no backoff here).
        for _ in 0..<3 where first.status != 0 && first.stdout.contains("Text file busy") {
            usleep(200_000)
            first = try world.reconcile()
        }
        try #require(first.status == 0, "\(first.stdout)\n\(first.stderr)")

        // People change things: a document goes, two come, a source changes, an index is dropped.
        try FileManager.default.removeItem(at: world.world.person.appendingPathComponent("specs/doc1.yaml"))
        try world.world.write("docs/doc2.md", "The second text of doc2.\n")
        try world.world.write("specs/doc3.yaml", PeopleSpec.spec("doc3", source: "docs/doc3.md", indexes: "{ fulltext: present, graph: absent }"))
        for id in ["doc5", "doc6"] {
            try world.world.write("docs/\(id).md", "The first text of \(id).\n")
            try world.world.write("specs/\(id).yaml", PeopleSpec.spec(id, source: "docs/\(id).md", indexes: "{ fulltext: present, graph: present }"))
        }
        try world.world.push("Change the documents")

        let parts = point.split(separator: "@").map(String.init)
        let name = parts[0], setting = "\(name)=\(action.rawValue)" + (parts.count > 1 ? "@" + parts[1] : "")
        let broken = try Harness.start(["reconcile", "--once", "--config", world.config], in: world.root,
                                       environment: world.environment.merging([Failpoints.variable: setting]) { $1 })
        let result = try broken.finish()
        let said = result.stdout + result.stderr
        switch action {
        case .crash:
            #expect(broken.process.terminationReason == .uncaughtSignal && result.status == SIGKILL, "\(point): not killed: \(said)")
            #expect(said.contains("failpoint \(name): crash"), "\(point): \(said)")
        case .error:
            // A results commit that fails mid-pass is logged and done again by the next one:
            // the pass may still end well. The message says the failpoint was reached.
            #expect(said.contains("failpoint \(name): injected error (INDEXOPS_FAILPOINTS)"), "\(point): the failpoint was not reached: \(said)")
        }

        let clean = try world.reconcile()
        #expect(clean.status == 0, "\(point)=\(action): the clean pass failed:\n\(clean.stdout)\n\(clean.stderr)")
        if point == "publish-midway", action == .crash {
            // The publish had staged every file before renaming the first: the rest are removed at start.
            #expect(clean.stderr.contains("Removed a temporary file a stopped publish left in the work tree"), "\(clean.stderr)")
        }
        try world.checkInvariants(Self.declared, removed: ["doc1"], context: "\(point)=\(action)")

        // Converged: the next pass does nothing.
        let calls = try String(contentsOf: world.world.ledger.appendingPathComponent("calls.log"), encoding: .utf8)
        let head = try world.git(["rev-parse", "main"], in: world.world.remote)
        let idle = try world.reconcile()
        #expect(idle.status == 0, "\(point)=\(action): \(idle.stdout)\n\(idle.stderr)")
        #expect(try String(contentsOf: world.world.ledger.appendingPathComponent("calls.log"), encoding: .utf8) == calls, "\(point)=\(action): more work after the clean pass")
        #expect(try world.git(["rev-parse", "main"], in: world.world.remote) == head, "\(point)=\(action): a commit after the clean pass")
    }

    /// A bad `INDEXOPS_FAILPOINTS` stops every command at once, naming the variable and the
    /// known names; a good one is announced on stderr.
    @Test func aBadValueIsAStartupError() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let environment = ProcessInfo.processInfo.environment
        let unknown = try Harness.run(["--version"], in: folder, environment: environment.merging([Failpoints.variable: "push-sent=crash,nowhere=error"]) { $1 })
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "indexops: error: INDEXOPS_FAILPOINTS: unknown failpoint \"nowhere\" in \"nowhere=error\"; known: "
            + Failpoint.allCases.map(\.rawValue).joined(separator: ", ") + "\n")
        let action = try Harness.run(["--version"], in: folder, environment: environment.merging([Failpoints.variable: "push-sent=explode"]) { $1 })
        #expect(action.status == 2)
        #expect(action.stderr.contains("INDEXOPS_FAILPOINTS: \"push-sent=explode\" must be push-sent=crash or push-sent=error, optionally followed by @N"), "\(action.stderr)")
        let armed = try Harness.run(["--version"], in: folder, environment: environment.merging([Failpoints.variable: "push-sent=crash@3"]) { $1 })
        #expect(armed.status == 0)
        #expect(armed.stderr == "indexops: warning: failpoints armed (INDEXOPS_FAILPOINTS): push-sent=crash@3\n")
        let unset = try Harness.run(["--version"], in: folder, environment: environment.filter { $0.key != Failpoints.variable })
        #expect(unset.status == 0 && unset.stderr == "")
    }

    /// Parsing, without a process: names, actions, hits, and what is refused.
    @Test func parsing() throws {
        #expect(try Failpoints.parse("") == nil)
        #expect(try Failpoints.parse(" , ") == nil)
        #expect(try Failpoints.parse("pass-cache-write=error, sqlite-transaction=crash@2") != nil)
        for bad in ["push-sent", "push-sent=", "push-sent=crash@0", "push-sent=crash@x", "push-sent=error,push-sent=crash", "=crash"] {
            #expect(throws: FailpointError.self, "\(bad)") { try Failpoints.parse(bad) }
        }
    }
}

/// A repository, its remote, and a controller with two index types: `graph` (an exec program
/// keeping a file per index in a ledger) and `fulltext` (sqlite-fts in the default database).
/// Operations retry at once (no backoff), so one clean pass finishes what a failure left.
final class MatrixWorld {
    let world: ReconcileEndToEndTests.World
    var root: URL { world.root }
    var tmp: URL { root.appendingPathComponent("tmp") }
    var config: String { root.appendingPathComponent("matrix.yaml").path }
    var environment: [String: String] {
        ProcessInfo.processInfo.environment.filter { $0.key != Failpoints.variable }.merging(["TMPDIR": tmp.path]) { $1 }
    }
    var database: URL { world.controller.appendingPathComponent(".git/indexops/indexes.sqlite") }

    init(reconcile: String = "concurrency: 2, commitInterval: 1ms, maxRetries: 100, retryBackoff: 1ms, maxRetryBackoff: 1ms, maxDeletePercent: 100, minDeleteCount: 0",
         graphEnvironment: String = "") throws {
        world = try ReconcileEndToEndTests.World()
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs"))
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("docs"))
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: controller, url: "\(world.remote.path)", branch: main }
            reconcile: { \(reconcile) }
            indexTypes:
              fulltext: { driver: sqlite-fts }
              graph: { driver: exec, command: ["./graph-indexer"], timeout: 30s, env: { LEDGER: "\(world.ledger.path)"\(graphEnvironment) } }

            """.utf8).write(to: URL(fileURLWithPath: config))
    }

    func reconcile() throws -> Harness.Result {
        try Harness.run(["reconcile", "--once", "--config", config], in: root, environment: environment)
    }

    func git(_ arguments: [String], in folder: URL) throws -> String {
        try Harness.output(["git"] + arguments, in: folder)
    }

    /// The documents with rows in the sqlite-fts table of `fulltext`.
    func fulltextDocuments() throws -> Set<String> {
        let out = try Harness.output(["sqlite3", database.path, "SELECT DISTINCT document_id FROM fts_fulltext_chunks"], in: root)
        return Set(out.split(separator: "\n").map(String.init))
    }

    /// What a user checks once the controller has converged on `declared` (document → index
    /// types) after `removed` documents went away.
    func checkInvariants(_ declared: [String: Set<String>], removed: [String], context: String, sourcePrefix: String = "docs/") throws {
        try world.pull()
        // Every declared index present, and nothing else in the statuses.
        for (id, types) in declared {
            let status = try world.status(id)
            let present = status.components(separatedBy: "\"actualState\": \"present\"").count - 1
            #expect(present == types.count, "\(context): \(id) has \(present) present indexes, not \(types.count): \(status)")
            for word in ["creating", "deleting", "failed"] {
                #expect(!status.contains("\"actualState\": \"\(word)\""), "\(context): \(id) is \(word): \(status)")
            }
        }
        for id in removed { #expect(try !world.statusExists(id), "\(context): \(id) was removed but has a status") }

        // The indexers' own records: the ledger (graph) and the SQLite table (fulltext).
        let graph = Set(declared.filter { $0.value.contains("graph") }.keys)
        #expect(Set(world.liveGraphIndexes) == graph, "\(context): ledger \(world.liveGraphIndexes.sorted()), declared \(graph.sorted())")
        for id in graph {
            let indexed = try String(contentsOf: world.ledger.appendingPathComponent(id), encoding: .utf8)
            #expect(try world.status(id).contains("\"observedRevision\": \"\(indexed)\""), "\(context): \(id): the ledger holds an older revision")
        }
        let fulltext = Set(declared.filter { $0.value.contains("fulltext") }.keys)
        let inTable = try fulltextDocuments()
        #expect(inTable == fulltext, "\(context): the sqlite-fts table has \(inTable.sorted())")
        for id in fulltext {
            let text = try String(contentsOf: world.person.appendingPathComponent("\(sourcePrefix)\(id).md"), encoding: .utf8)
            let rows = try Harness.output(["sqlite3", database.path, "SELECT text FROM fts_fulltext_chunks WHERE document_id = '\(id)'"], in: root)
            #expect(rows.trimmingCharacters(in: .whitespacesAndNewlines) == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(context): \(id)'s chunks are not its source")
        }

        // Every commit pushed, once: the clone and the remote agree, the history is linear,
        // and no commit repeats its parent's tree (a status commit written twice).
        #expect(try git(["rev-parse", "main"], in: world.controller) == git(["rev-parse", "main"], in: world.remote), "\(context): unpushed commits")
        #expect(try git(["log", "--merges", "--oneline", "main"], in: world.remote) == "", "\(context): a merge on the remote")
        let trees = try git(["log", "--format=%T", "main"], in: world.remote).split(separator: "\n")
        #expect(!zip(trees, trees.dropFirst()).contains { $0 == $1 }, "\(context): an empty commit (a status commit repeated)")

        try Harness.git(["fsck", "--strict", "--no-progress"], in: world.controller)
        try Harness.git(["fsck", "--strict", "--no-progress"], in: world.remote)

        // No lock or temporary file: git's and libgit2's, the work tree's, the exec content files.
        let gitLeftovers = try Harness.output(["find", ".git", world.remote.path,
            "(", "-name", "*.lock", "-o", "-name", "tmp_*", "-o", "-name", "pack_git2_*", "-o", "-name", "incoming-*", "-o", "-name", "*-journal", ")",
            "-not", "-name", "controller.lock"], in: world.controller)
        #expect(gitLeftovers == "", "\(context): left behind: \(gitLeftovers)")
        let untracked = try git(["status", "--porcelain", "--untracked-files=all", "--ignored"], in: world.controller)
        #expect(untracked == "", "\(context): the work tree is not clean: \(untracked)")
        let content = ((try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []).filter { $0.hasPrefix("indexops-content-") }
        #expect(content == [], "\(context): content files left: \(content)")
    }

    func cleanup() { world.cleanup() }
}
