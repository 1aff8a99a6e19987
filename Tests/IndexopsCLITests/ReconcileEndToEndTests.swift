import Foundation
import Testing

/// The loop as people live it: a bare repository as the remote, a person who commits and
/// pushes with `git`, and the built binary reconciling its own clone with the sqlite-fts,
/// sqlite-vector and exec drivers. The exec indexer is a shell script that keeps a ledger
/// of the indexes it holds, one file per index.
@Suite("reconcile end to end", .serialized)
struct ReconcileEndToEndTests {
    /// The scratch folder: remote.git, person/ (a clone), controller/ (indexops's clone),
    /// ledger/, indexops.yaml.
    final class World {
        let root: URL
        var remote: URL { root.appendingPathComponent("remote.git") }
        var person: URL { root.appendingPathComponent("person") }
        var controller: URL { root.appendingPathComponent("controller") }
        var ledger: URL { root.appendingPathComponent("ledger") }
        var config: String { root.appendingPathComponent("indexops.yaml").path }

        init() throws {
            root = try Harness.scratch()
            try Harness.git(["init", "-q", "--bare", "-b", "main", remote.path], in: root)
            try FileManager.default.copyItem(at: Harness.packageRoot.appendingPathComponent("examples/quickstart"), to: person)
            try Harness.git(["init", "-q", "-b", "main"], in: person)
            try Harness.git(["remote", "add", "origin", remote.path], in: person)
            try FileManager.default.createDirectory(at: ledger, withIntermediateDirectories: true)
            let script = root.appendingPathComponent("graph-indexer")
            try Data(Self.ledgerScript.utf8).write(to: script)
            chmod(script.path, 0o755)
            try Data("""
                apiVersion: indexops/v1
                kind: ControllerConfig
                repository: { path: controller, url: "\(remote.path)", branch: main }
                reconcile: { maxRetries: 3, retryBackoff: 1m, commitInterval: 1s, maxDeletePercent: 70, minDeleteCount: 0 }
                indexTypes:
                  fulltext: { driver: sqlite-fts, database: indexes.sqlite }
                  vector: { driver: sqlite-vector, database: indexes.sqlite }
                  graph: { driver: exec, command: ["./graph-indexer"], timeout: 30s, env: { LEDGER: "\(ledger.path)" } }

                """.utf8).write(to: URL(fileURLWithPath: config))
        }

        /// The exec indexer: request on stdin, `{"indexData": …}` on stdout, a file per index.
        static let ledgerScript = """
            #!/bin/sh
            request=$(cat)
            field() { printf '%s' "$request" | tr -d '\\n' | sed -n "s/.*\\"$1\\": *\\"\\([^\\"]*\\)\\".*/\\1/p"; }
            action=$(field action); doc=$(field documentId); revision=$(field revision)
            echo "$action $doc" >> "$LEDGER/calls.log"
            if [ -n "$DELAY" ]; then sleep 0.05; fi
            if [ -e "$LEDGER/slow" ]; then touch "$LEDGER/started"; sleep 2; fi
            if [ -e "$LEDGER/fail-$doc" ]; then echo "graph engine unavailable for $doc" >&2; exit 3; fi
            if [ "$action" = create ]; then printf '%s' "$revision" > "$LEDGER/$doc"; else rm -f "$LEDGER/$doc"; fi
            echo '{"indexData": {"nodes": 3}}'
            """

        func push(_ message: String) throws {
            try Harness.git(["add", "-A"], in: person)
            try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-q", "-m", message], in: person)
            if (try? Harness.output(["git", "ls-remote", "--heads", remote.path], in: root))?.isEmpty == false {
                try pull()
            }
            try Harness.git(["push", "-q", "origin", "main"], in: person)
        }

        func pull() throws {
            try Harness.git(["pull", "-q", "--rebase", "origin", "main"], in: person)
        }

        func indexops(_ arguments: [String]) throws -> Harness.Result {
            try Harness.run(arguments + ["--config", config], in: root)
        }

        func write(_ path: String, _ text: String) throws {
            try Harness.write(text, to: path, in: person)
        }

        func status(_ id: String) throws -> String {
            let hash = try Harness.output(["sh", "-c", "printf %s \(id) | sha256sum"], in: root).prefix(2)
            return try String(contentsOf: person.appendingPathComponent("status/\(hash)/\(id).json"), encoding: .utf8)
        }

        func statusExists(_ id: String) throws -> Bool {
            let hash = try Harness.output(["sh", "-c", "printf %s \(id) | sha256sum"], in: root).prefix(2)
            return FileManager.default.fileExists(atPath: person.appendingPathComponent("status/\(hash)/\(id).json").path)
        }

        var liveGraphIndexes: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: ledger.path)) ?? [])
                .filter { !$0.hasSuffix(".log") && !$0.hasPrefix("fail-") && $0 != "slow" && $0 != "started" }.sorted()
        }

        func cleanup() { try? FileManager.default.removeItem(at: root) }
    }

    @Test func theWholeLoop() throws {
        let world = try World()
        defer { world.cleanup() }
        try world.write("specs/doc123.yaml", """
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata:
              name: doc123
              createdBy: ana@example.com
            spec:
              source: docs/doc123.md
              indexes: { fulltext: present, vector: present, graph: present }

            """)
        try world.push("Add the quickstart")

        // Everything is created.
        let first = try world.indexops(["reconcile", "--once"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("Reconciling doc123:graph"))
        #expect(first.stderr.contains("Successfully created index"))
        try world.pull()
        #expect(world.liveGraphIndexes == ["doc123", "handbook-onboarding"], "the handbook declares every type but on-call's graph")
        let status = try world.status("doc123")
        #expect(status.contains("\"actualState\": \"present\""))
        #expect(status.contains("\"nodes\": 3"))
        let subjects = try Harness.output(["git", "log", "--format=%s", "-3"], in: world.person)
        #expect(subjects == "indexops: 7 indexes reconciled (7 created)\nindexops: 7 operations started\nAdd the quickstart\n")
        let search = try world.indexops(["search", "language model passages"])
        #expect(search.status == 0)
        #expect(search.stdoutLines.dropFirst().first?.contains("doc123") == true)

        // An idle pass commits nothing.
        let remoteHead = try Harness.output(["git", "rev-parse", "main"], in: world.remote)
        let idle = try world.indexops(["reconcile", "--once"])
        #expect(idle.status == 0)
        #expect(idle.stdout.contains("nothing to do"))
        #expect(try Harness.output(["git", "rev-parse", "main"], in: world.remote) == remoteHead)

        // An edited source is indexed again.
        try world.write("docs/doc123.md", "Zeppelins carry hydrogen across the ocean.\n")
        try world.push("Rewrite doc123")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        let found = try world.indexops(["search", "zeppelins", "-o", "json"])
        #expect(found.stdout.contains("\"document\": \"doc123\""))
        let gone = try world.indexops(["search", "retriever", "-o", "json"])
        #expect(gone.stdout.contains("\"hits\": []"))
        try world.pull()
        let revision = try String(contentsOf: world.ledger.appendingPathComponent("doc123"), encoding: .utf8)
        #expect(try world.status("doc123").contains("\"observedRevision\": \"\(revision)\""))

        // An index declared absent is deleted and leaves the status.
        try world.write("specs/doc123.yaml", try String(contentsOf: world.person.appendingPathComponent("specs/doc123.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "vector: present", with: "vector: absent"))
        try world.push("No vector index for doc123")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        try world.pull()
        #expect(!(try world.status("doc123")).contains("\"vector\""))

        // A removed spec file deletes its indexes and its status files.
        #expect(try world.statusExists("handbook-oncall"))
        try Harness.git(["rm", "-q", "specs/handbook/handbook.yaml"], in: world.person)
        try world.push("Drop the handbook")
        let dropped = try world.indexops(["reconcile", "--once"])
        #expect(dropped.status == 0, "\(dropped.stdout)")
        #expect(dropped.stderr.contains("Cleaning up orphaned status"))
        try world.pull()
        #expect(try !world.statusExists("handbook-oncall"))
        #expect(try !world.statusExists("handbook-onboarding"))
        #expect(world.liveGraphIndexes == ["doc123"])

        // A spec file that stops parsing is held and reported with its line.
        try world.write("specs/handbook/handbook.yaml", PeopleSpec.spec("handbook-oncall", source: "docs/handbook/oncall.md", indexes: "{ fulltext: present }"))
        try world.push("Bring back on-call")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        try world.write("specs/handbook/handbook.yaml", "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata: {name: handbook-oncall\n")
        try world.push("Break the handbook spec")
        let broken = try world.indexops(["reconcile", "--once"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("specs/handbook/handbook.yaml:4:1: error: "))
        #expect(broken.stdout.contains("held: handbook-oncall/fulltext: its spec cannot be read"))
        try world.pull()
        #expect(try world.statusExists("handbook-oncall"), "nothing is deleted because a file broke")

        // A failing indexer leaves `failed`; a retry annotation heals it.
        try world.write("specs/handbook/handbook.yaml", PeopleSpec.spec("handbook-oncall", source: "docs/handbook/oncall.md", indexes: "{ graph: present }"))
        FileManager.default.createFile(atPath: world.ledger.appendingPathComponent("fail-handbook-oncall").path, contents: nil)
        try world.push("Graph for on-call")
        let failing = try world.indexops(["reconcile", "--once"])
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("failed indexes: handbook-oncall/graph"))
        try world.pull()
        let failed = try world.status("handbook-oncall")
        #expect(failed.contains("\"actualState\": \"failed\""))
        #expect(failed.contains("graph-indexer exited with status 3: graph engine unavailable for handbook-oncall\""))
        #expect(failed.contains("\"retryCount\": 1"))
        #expect(!failed.contains("\"nextRetryAt\": null"))
        try FileManager.default.removeItem(at: world.ledger.appendingPathComponent("fail-handbook-oncall"))
        try world.write("specs/handbook/handbook.yaml", PeopleSpec.spec(
            "handbook-oncall", source: "docs/handbook/oncall.md", indexes: "{ graph: present }",
            extra: "  annotations: { indexops/retry-requested-at: \"2026-11-29T12:00:00Z\" }\n"))
        try world.push("Retry on-call")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        try world.pull()
        #expect(try world.status("handbook-oncall").contains("\"actualState\": \"present\""))

        // A push that lands while the controller works is kept; the controller replays on top.
        FileManager.default.createFile(atPath: world.ledger.appendingPathComponent("slow").path, contents: nil)
        try world.write("specs/late.yaml", PeopleSpec.spec("late", source: "docs/doc123.md", indexes: "{ graph: present }"))
        try world.push("Add late")
        let running = try Harness.start(["reconcile", "--once", "--config", world.config], in: world.root)
        try Harness.waitFor { FileManager.default.fileExists(atPath: world.ledger.appendingPathComponent("started").path) }
        try world.write("docs/notes.md", "A person's note.\n")
        try world.push("A note pushed while indexops works")
        let raced = try running.finish()
        #expect(raced.status == 0, "\(raced.stderr)")
        try FileManager.default.removeItem(at: world.ledger.appendingPathComponent("slow"))
        let history = try Harness.output(["git", "log", "--format=%s", "-4", "main"], in: world.remote)
        #expect(history.hasPrefix("indexops: 1 index reconciled (1 created)\nindexops: 1 operation started\nA note pushed while indexops works\n"),
                "our unpushed commits are replayed on top of the person's push")
        #expect(try Harness.output(["git", "log", "--merges", "--oneline", "main"], in: world.remote) == "")

        // Removing every spec trips the brake until --allow-mass-delete.
        try world.pull()
        try Harness.git(["rm", "-q", "-r", "specs"], in: world.person)
        try world.push("Remove every spec")
        let braked = try world.indexops(["reconcile", "--once"])
        #expect(braked.status == 1)
        #expect(braked.stdout.contains("deletions held: this pass would delete"))
        #expect(world.liveGraphIndexes == ["doc123", "handbook-oncall", "late"])
        let allowed = try world.indexops(["reconcile", "--once", "--allow-mass-delete"])
        #expect(allowed.status == 0, "\(allowed.stdout)")
        #expect(world.liveGraphIndexes == [])

        // Git agrees that what indexops wrote is sound, and no lock is left.
        try Harness.git(["fsck", "--strict", "--no-progress"], in: world.remote)
        try Harness.git(["fsck", "--strict", "--no-progress"], in: world.controller)
        let locks = try Harness.output(["find", ".", "-name", "*.lock", "-not", "-name", "controller.lock"], in: world.controller.appendingPathComponent(".git"))
        #expect(locks == "")
        #expect(try Harness.output(["git", "status", "--porcelain"], in: world.controller) == "")
    }
}

/// Spec text for the end-to-end tests.
enum PeopleSpec {
    static func spec(_ id: String, source: String, indexes: String? = nil, extra: String = "") -> String {
        var text = "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: \(id)\n  createdBy: ana@example.com\n\(extra)spec:\n  source: \(source)\n"
        if let indexes { text += "  indexes: \(indexes)\n" }
        return text
    }
}
