import Foundation
import Testing

/// Statuses on a branch of their own, where `main` is protected: the remote is served over
/// smart http (``LoopbackServer/git(root:)``), so its `pre-receive` hook runs, and the hook
/// refuses every push to `main` that carries a commit by the indexops author. People push with
/// `git` over the local path (which runs the hook too).
@Suite("status branch", .serialized)
struct StatusBranchTests {
    static let statusBranch = "indexops/status"

    final class World {
        let root: URL
        let server: LoopbackServer
        var remote: URL { root.appendingPathComponent("remote.git") }
        var person: URL { root.appendingPathComponent("person") }
        var controller: URL { root.appendingPathComponent("controller") }
        var config: String { root.appendingPathComponent("indexops.yaml").path }
        var url: String { "http://127.0.0.1:\(server.port)/remote.git" }

        /// The remote with its hook, the quickstart pushed by a person, and a configuration
        /// with a status branch (`statusBranch: nil`: none).
        init(statusBranch: String? = StatusBranchTests.statusBranch, protected: Bool = true) throws {
            let root = try Harness.scratch()
            self.root = root
            server = try LoopbackServer.git(root: root.path)
            try Harness.git(["init", "-q", "--bare", "-b", "main", remote.path], in: root)
            try Harness.git(["-C", remote.path, "config", "http.receivepack", "true"], in: root)
            if protected { try protect() }
            try FileManager.default.copyItem(at: Harness.packageRoot.appendingPathComponent("examples/quickstart"), to: person)
            try Harness.git(["init", "-q", "-b", "main"], in: person)
            try Harness.git(["remote", "add", "origin", remote.path], in: person)
            try commit("Add the quickstart")
            try Harness.git(["push", "-q", "origin", "main"], in: person)
            try writeConfig(statusBranch: statusBranch)
        }

        /// Installs the hook that refuses the indexops author on main.
        func protect() throws {
            let hook = remote.appendingPathComponent("hooks/pre-receive")
            try Data(Self.hook.utf8).write(to: hook)
            chmod(hook.path, 0o755)
        }

        func writeConfig(statusBranch: String?) throws {
            try Data("""
                apiVersion: indexops/v1
                kind: ControllerConfig
                repository: { path: controller, url: "\(url)", branch: main\(statusBranch.map { ", statusBranch: \"\($0)\"" } ?? "") }
                reconcile: { commitInterval: 1s, maxDeletePercent: 100, minDeleteCount: 0 }
                indexTypes:
                  fulltext: { driver: sqlite-fts, database: indexes.sqlite }
                  vector: { driver: sqlite-vector, database: indexes.sqlite }

                """.utf8).write(to: URL(fileURLWithPath: config))
        }

        /// Refuses a push to main that brings a commit by indexops@localhost.
        static let hook = """
            #!/bin/sh
            zero=0000000000000000000000000000000000000000
            while read old new ref; do
              if [ "$ref" = refs/heads/main ] && [ "$new" != "$zero" ]; then
                if [ "$old" = "$zero" ]; then range="$new"; else range="$old..$new"; fi
                if git log --format=%ae "$range" | grep -qx 'indexops@localhost'; then
                  echo "main is protected: indexops may not push to it" >&2
                  exit 1
                fi
              fi
            done
            exit 0

            """

        func commit(_ message: String, amend: Bool = false) throws {
            try Harness.git(["add", "-A"], in: person)
            try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-q"] + (amend ? ["--amend"] : []) + ["-m", message], in: person)
        }

        @discardableResult
        func indexops(_ arguments: [String]) throws -> Harness.Result {
            let result = try Harness.run(arguments + ["--config", config], in: root)
            #expect(result.status == 0, "indexops \(arguments.joined(separator: " ")): \(result.stderr)")
            return result
        }

        func git(_ arguments: [String], in folder: URL? = nil) throws -> String {
            try Harness.output(["git", "-C", (folder ?? remote).path] + arguments, in: root).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func lines(_ arguments: [String], in folder: URL? = nil) throws -> [String] {
            try git(arguments, in: folder).split(separator: "\n").map(String.init)
        }

        /// The path of `id`'s status file on the remote's `branch`, or nil.
        func statusPath(_ id: String, branch: String = StatusBranchTests.statusBranch) -> String? {
            (try? lines(["ls-tree", "-r", "--name-only", branch, "status"]))?.first { $0.hasSuffix("/\(id).json") }
        }

        /// The status file of `id` on the remote's `branch`, or nil.
        func remoteStatus(_ id: String, branch: String = StatusBranchTests.statusBranch) -> String? {
            statusPath(id, branch: branch).flatMap { try? git(["show", "\(branch):\($0)"]) }
        }

        func stop() {
            server.stop()
            Harness.cleanup(root)
        }
    }

    /// Every document converges; main holds only people's commits; the status branch holds
    /// only `status/`, each commit naming its spec commit; the work tree shows the statuses,
    /// and `git status` in the clone is clean.
    @Test func convergesWithoutWritingMain() throws {
        let world = try World()
        defer { world.stop() }
        try world.indexops(["reconcile", "--once"])

        #expect(try world.lines(["log", "--format=%ae", "main"]) == ["ana@example.com"])
        let files = try world.lines(["ls-tree", "-r", "--name-only", Self.statusBranch])
        #expect(!files.isEmpty && files.allSatisfy { $0.hasPrefix("status/") }, "\(files)")
        let ids = ["doc123", "handbook-onboarding", "handbook-oncall"]
        for id in ids {
            #expect(world.remoteStatus(id)?.contains("\"actualState\": \"present\"") == true, "\(id)")
        }
        try expectEveryStatusCommitNamesItsSpecCommit(world)

        // The clone: statuses in the work tree, excluded, on no branch of people.
        for id in ids {
            let path = try #require(world.statusPath(id))
            #expect(try String(contentsOf: world.controller.appendingPathComponent(path), encoding: .utf8) == world.remoteStatus(id).map { $0 + "\n" })
        }
        #expect(try world.git(["status", "--porcelain"], in: world.controller) == "")
        #expect(try String(contentsOf: world.controller.appendingPathComponent(".git/info/exclude"), encoding: .utf8).contains("/status/"))

        // status, history and the daemon agree.
        let status = try world.indexops(["status", "doc123", "-o", "json"]).stdout
        #expect(status.contains("\"actualState\": \"present\"") || status.contains("\"actualState\":\"present\""), "\(status)")
        let history = try world.indexops(["history", "doc123"]).stdout
        #expect(history.contains("absent -> creating") && history.contains("creating -> present"), "\(history)")
        #expect(history.contains("(spec)") && history.contains("specs/doc123.yaml added"), "\(history)")
        let all = try world.indexops(["status", "-o", "json"]).stdout
        // plan reads the statuses from the status branch too: nothing to do.
        let plan = try world.indexops(["plan"]).stdout
        #expect(plan.contains("nothing to do"), "\(plan)")
        let daemon = try DaemonProcess(["--config", world.config], in: world.root)
        defer { daemon.stop() }
        let api = try daemon.get("/api/v1/status")
        #expect(api.status == 200)
        #expect(api.body.trimmingCharacters(in: .whitespacesAndNewlines) == all.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(all.contains("\"documents\": 3") || all.contains("\"documents\":3"), "\(all)")
        let one = try daemon.get("/api/v1/status/doc123")
        #expect(one.status == 200)
        #expect(one.body.trimmingCharacters(in: .whitespacesAndNewlines) == status.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A person's force push of main is taken; the status branch is not touched by it.
    /// A person's force push of the status branch (dropping doc123's status) and its deletion
    /// are taken as they are: the documents are reconciled again, and no dropped commit is
    /// pushed again.
    @Test func forcePushesOfBothBranchesAreSurvived() throws {
        let world = try World()
        defer { world.stop() }
        try world.indexops(["reconcile", "--once"])

        // main rewritten: doc123's spec removed in an amended commit.
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/doc123.yaml"))
        try world.commit("The quickstart, without doc123", amend: true)
        try Harness.git(["push", "-q", "-f", "origin", "main"], in: world.person)
        let statusBefore = try world.git(["rev-parse", Self.statusBranch])
        try world.indexops(["reconcile", "--once"])
        #expect(world.remoteStatus("doc123") == nil, "the orphan's status is removed")
        #expect(try world.git(["merge-base", "--is-ancestor", statusBefore, Self.statusBranch]) == "")
        #expect(try world.lines(["log", "--format=%ae", "main"]) == ["ana@example.com"])

        // The status branch rewound by a person to its first commit (only intents).
        let first = try world.lines(["rev-list", "--reverse", Self.statusBranch]).first!
        let dropped = try world.git(["rev-parse", Self.statusBranch])
        try Harness.git(["fetch", "-q", "origin", Self.statusBranch], in: world.person)
        try Harness.git(["push", "-q", "-f", "origin", "\(first):refs/heads/\(Self.statusBranch)"], in: world.person)
        try world.indexops(["reconcile", "--once"])
        for id in ["handbook-onboarding", "handbook-oncall"] {
            #expect(world.remoteStatus(id)?.contains("\"actualState\": \"present\"") == true, "\(id)")
        }
        #expect((try? world.git(["merge-base", "--is-ancestor", dropped, Self.statusBranch])) == nil, "a dropped commit came back")

        // The status branch deleted by a person.
        let deleted = try world.git(["rev-parse", Self.statusBranch])
        try Harness.git(["push", "-q", "origin", ":refs/heads/\(Self.statusBranch)"], in: world.person)
        try world.indexops(["reconcile", "--once"])
        for id in ["handbook-onboarding", "handbook-oncall"] {
            #expect(world.remoteStatus(id)?.contains("\"actualState\": \"present\"") == true, "\(id)")
        }
        #expect((try? world.git(["merge-base", "--is-ancestor", deleted, Self.statusBranch])) == nil, "a deleted commit came back")
        try expectEveryStatusCommitNamesItsSpecCommit(world)
        #expect(try world.git(["status", "--porcelain"], in: world.controller) == "")
    }

    /// The trailer of every commit of the status branch names a commit of main.
    func expectEveryStatusCommitNamesItsSpecCommit(_ world: World) throws {
        let commits = try world.lines(["rev-list", Self.statusBranch])
        #expect(!commits.isEmpty)
        for commit in commits {
            let message = try world.git(["log", "-1", "--format=%B", commit])
            let trailer = message.split(separator: "\n").first { $0.hasPrefix("Indexops-Spec-Commit: ") }
            let spec = try #require(trailer.map { String($0.dropFirst("Indexops-Spec-Commit: ".count)) }, "\(message)")
            #expect(try world.git(["cat-file", "-t", spec]) == "commit", "\(commit) names \(spec)")
            #expect(try world.git(["log", "-1", "--format=%ae", commit]) == "indexops@localhost")
        }
    }

    /// `create --push-branch` pushes a branch the hook accepts, prints its name, and leaves
    /// main alone; a plain `create` on the protected main is refused by the hook and changes
    /// nothing.
    @Test func createPushesABranchForAPullRequest() throws {
        let world = try World()
        defer { world.stop() }
        let main = try world.git(["rev-parse", "main"])
        let user = ["--user", "Bea <bea@example.com>"]
        let result = try world.indexops(["create", "oncall2", "--source", "docs/handbook/oncall.md", "--push-branch", "propose/oncall2"] + user)
        #expect(result.stdout.contains("propose/oncall2"), "\(result.stdout)")
        #expect(try world.git(["rev-parse", "main"]) == main)
        #expect(try world.git(["show", "propose/oncall2:specs/oncall2.yaml"]).contains("oncall2"))
        #expect(try world.git(["log", "-1", "--format=%ae", "propose/oncall2"]) == "bea@example.com")
        #expect(try world.git(["rev-parse", "propose/oncall2~1"]) == main)
        // The clone's own main and work tree are as they were.
        #expect(!FileManager.default.fileExists(atPath: world.controller.appendingPathComponent("specs/oncall2.yaml").path))

        // Under the indexops author, a push to main is refused by the hook, and nothing changes.
        let refused = try Harness.run(["create", "oncall3", "--source", "docs/handbook/oncall.md", "--config", world.config,
                                       "--user", "indexops <indexops@localhost>"], in: world.root)
        #expect(refused.status != 0)
        #expect(try world.git(["rev-parse", "main"]) == main)
    }

    /// An existing repository with statuses on main switched to a status branch and back:
    /// every status survives both moves, and no index is built again.
    @Test func switchingOverAndBackLosesNoStatus() throws {
        let world = try World(statusBranch: nil, protected: false)
        defer { world.stop() }
        try world.indexops(["reconcile", "--once"])
        let ids = ["doc123", "handbook-onboarding", "handbook-oncall"]
        var onMain: [String: String] = [:]
        for id in ids { onMain[id] = world.remoteStatus(id, branch: "main") }
        #expect(onMain.values.allSatisfy { $0.contains("\"actualState\": \"present\"") })

        let over = try world.indexops(["migrate-status", "--to-branch", Self.statusBranch])
        #expect(over.stdout.contains("copied 3 status file(s)") || over.stdout.contains("copied 4 status file(s)"), "\(over.stdout)")
        for id in ids { #expect(world.remoteStatus(id) == onMain[id], "\(id)") }
        let files = try world.lines(["ls-tree", "-r", "--name-only", Self.statusBranch])
        #expect(files.allSatisfy { $0.hasPrefix("status/") }, "\(files)")
        let mainBefore = try world.git(["rev-parse", "main"])

        try world.protect()
        try world.writeConfig(statusBranch: Self.statusBranch)
        let migrated = try world.git(["rev-parse", Self.statusBranch])
        try world.indexops(["reconcile", "--once"])
        #expect(try world.git(["rev-parse", Self.statusBranch]) == migrated, "nothing was rebuilt")
        #expect(try world.git(["rev-parse", "main"]) == mainBefore)
        let status = try world.indexops(["status", "-o", "json"]).stdout
        #expect(status.contains("\"documents\": 3") || status.contains("\"documents\":3"), "\(status)")

        // A person removes doc123 meanwhile: its status goes from the status branch only.
        try Harness.git(["pull", "-q", "--ff-only", "origin", "main"], in: world.person)
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/doc123.yaml"))
        try world.commit("Drop doc123")
        try Harness.git(["push", "-q", "origin", "main"], in: world.person)
        try world.indexops(["reconcile", "--once"])
        #expect(world.remoteStatus("doc123") == nil)
        var onStatusBranch: [String: String] = [:]
        for id in ["handbook-onboarding", "handbook-oncall"] { onStatusBranch[id] = world.remoteStatus(id) }

        // And back, main writable again: main's status folder becomes the status branch's.
        try FileManager.default.removeItem(at: world.remote.appendingPathComponent("hooks/pre-receive"))
        try world.indexops(["migrate-status", "--to-spec-branch"])
        try world.writeConfig(statusBranch: nil)
        #expect(world.remoteStatus("doc123", branch: "main") == nil)
        for id in ["handbook-onboarding", "handbook-oncall"] { #expect(world.remoteStatus(id, branch: "main") == onStatusBranch[id], "\(id)") }
        let mainAfterMove = try world.git(["rev-parse", "main"])
        try world.indexops(["reconcile", "--once"])
        #expect(try world.git(["rev-parse", "main"]) == mainAfterMove, "nothing was rebuilt")
    }
}
