import Foundation
import Testing

/// What goes wrong around a controller, tried through the built binary as an operator meets
/// it: a kill -9 while an exec program runs, an orphan's delete, a retry with no spec left,
/// a full disk, a remote that goes away or goes silent, a program that ignores SIGTERM, and
/// SIGTERM while `indexops run` commits and pushes.
@Suite("Faults", .serialized)
struct FaultTests {
    /// A world whose index types are exec programs written by the test (`<name>-indexer`,
    /// with `$LEDGER`), with no spec but the test's own, and a TMPDIR of its own.
    final class FaultWorld {
        let world: ReconcileEndToEndTests.World
        let indexers: [String]
        var root: URL { world.root }
        var ledger: URL { world.ledger }
        var controller: URL { world.controller }
        var remote: URL { world.remote }
        var person: URL { world.person }
        /// The controller's TMPDIR, where exec content files go.
        var tmp: URL { root.appendingPathComponent("tmp") }
        var config: String { root.appendingPathComponent("faults.yaml").path }
        var environment: [String: String] { ProcessInfo.processInfo.environment.merging(["TMPDIR": tmp.path]) { $1 } }

        init(_ indexers: [String: String]) throws {
            world = try ReconcileEndToEndTests.World()
            self.indexers = indexers.keys.sorted()
            for (name, script) in indexers {
                let file = root.appendingPathComponent("\(name)-indexer")
                try Data(script.utf8).write(to: file)
                chmod(file.path, 0o755)
            }
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
            try FileManager.default.removeItem(at: person.appendingPathComponent("specs"))
            try writeConfig()
        }

        /// Writes the configuration: the world's remote (or `url`), the exec types with
        /// `typeSettings` each, the `reconcile` settings, and extra `repository` settings.
        func writeConfig(
            url: String? = nil, reconcile: String = "interval: 1h, maxRetries: 3, retryBackoff: 1m, commitInterval: 1s",
            repository: String = "", typeSettings: String = ""
        ) throws {
            let types = indexers.map {
                "  \($0): { driver: exec, command: [\"./\($0)-indexer\"]\(typeSettings), env: { LEDGER: \"\(ledger.path)\" } }"
            }
            try Data("""
                apiVersion: indexops/v1
                kind: ControllerConfig
                repository: { path: controller, url: "\(url ?? remote.path)", branch: main\(repository) }
                reconcile: { \(reconcile) }
                indexTypes:
                \(types.joined(separator: "\n"))

                """.utf8).write(to: URL(fileURLWithPath: config))
        }

        /// Declares documents with one index of `type` (source docs/doc123.md unless given).
        func declare(_ ids: [String], type: String, source: String = "docs/doc123.md") throws {
            for id in ids { try world.write("specs/\(id).yaml", PeopleSpec.spec(id, source: source, indexes: "{ \(type): present }")) }
        }

        func reconcile(_ extra: [String] = [], wrapper: [String] = []) throws -> Harness.Result {
            try Harness.run(["reconcile", "--once", "--config", config] + extra, in: root, environment: environment, wrapper: wrapper)
        }

        func startReconcile() throws -> Harness.Running {
            try Harness.start(["reconcile", "--once", "--config", config], in: root, environment: environment)
        }

        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: ledger.appendingPathComponent(name).path) }
        func touch(_ name: String) { _ = FileManager.default.createFile(atPath: ledger.appendingPathComponent(name).path, contents: nil) }
        func remove(_ name: String) throws { try FileManager.default.removeItem(at: ledger.appendingPathComponent(name)) }
        func read(_ name: String) throws -> String { try String(contentsOf: ledger.appendingPathComponent(name), encoding: .utf8) }
        func pid(_ name: String) throws -> pid_t {
            guard let pid = pid_t(try read(name).trimmingCharacters(in: .whitespacesAndNewlines)) else { throw HarnessError("no pid in \(name)") }
            return pid
        }

        /// The exec content files in the controller's TMPDIR, but `except`.
        func contentFiles(except: String? = nil) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [])
                .filter { $0.hasPrefix("indexops-content-") && $0 != except }.sorted()
        }

        /// `git` in a folder of the world, its output.
        func git(_ arguments: [String], in folder: URL) throws -> String {
            try Harness.output(["git"] + arguments, in: folder)
        }

        func cleanup() { world.cleanup() }
    }

    /// Whether a process is alive (a zombie waiting for its reaper is not).
    static func alive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"), stat.distance(from: close, to: stat.endIndex) > 2
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// A program that keeps a lock per document while it runs (a second one running at the
    /// same time on the same document is written to `overlaps`), logs its start and end,
    /// and, while `$LEDGER/hang` exists, starts a grandchild, writes both pids and waits.
    static let sleepyIndexer = #"""
        #!/bin/sh
        doc=$(tr -d '\n' | sed -n 's/.*"documentId": *"\([^"]*\)".*/\1/p')
        exec 9>"$LEDGER/lock-$doc"
        flock -n 9 || echo "$doc" >> "$LEDGER/overlaps"
        echo "start $doc" >> "$LEDGER/calls.log"
        if [ -e "$LEDGER/hang" ]; then
          sleep 300 &
          echo $! > "$LEDGER/grandchild.pid"
          echo $$ > "$LEDGER/child.tmp" && mv "$LEDGER/child.tmp" "$LEDGER/child.pid"
          wait
        fi
        echo "end $doc" >> "$LEDGER/calls.log"
        echo '{"indexData": {}}'

        """#

    /// kill -9 of the controller while an exec program runs: the program and its grandchild
    /// die with it, and the next start removes the content file it left, runs the operation
    /// again, and never while the old one still runs; another clone's content file stays.
    @Test func execChildrenDieWithTheController() throws {
        let world = try FaultWorld(["sleepy": Self.sleepyIndexer])
        defer { world.cleanup() }
        try world.declare(["doc123"], type: "sleepy")
        try world.world.push("doc123")
        let decoy = "indexops-content-000000000000-Decoy1"
        try Data("another clone's operation\n".utf8).write(to: world.tmp.appendingPathComponent(decoy))
        world.touch("hang")

        let running = try world.startReconcile()
        var finished = false
        defer { if !finished { kill(running.process.processIdentifier, SIGKILL); _ = try? running.finish() } }
        try Harness.waitFor(seconds: 120) { world.exists("child.pid") }
        let child = try world.pid("child.pid"), grandchild = try world.pid("grandchild.pid")
        #expect(Self.alive(child) && Self.alive(grandchild))
        #expect(world.contentFiles(except: decoy).count == 1, "the running operation has its content file")

        kill(running.process.processIdentifier, SIGKILL)
        _ = try running.finish()
        finished = true
        try Harness.waitFor(seconds: 10) { !Self.alive(child) && !Self.alive(grandchild) }
        #expect(world.contentFiles(except: decoy).count == 1, "a killed controller cannot remove its content file")

        try world.remove("hang")
        let next = try world.reconcile()
        #expect(next.status == 0, "\(next.stdout)\n\(next.stderr)")
        #expect(next.stderr.contains("Removed a content file left by a stopped run"))
        #expect(world.contentFiles(except: decoy) == [])
        #expect(world.contentFiles() == [decoy], "another clone's content file is not this controller's to remove")
        #expect(!world.exists("overlaps"), "two operations on doc123/sleepy ran at once")
        #expect(try world.read("calls.log") == "start doc123\nstart doc123\nend doc123\n")
        try world.world.pull()
        #expect(try world.world.status("doc123").contains("\"actualState\": \"present\""))
    }

    /// The source a document was created with is kept in its status, and the delete of an
    /// orphan (its spec removed) gets it: a path, or a URI with its revision.
    @Test func orphanDeletesGetTheSourceTheirCreateGot() throws {
        let script = #"""
            #!/bin/sh
            request=$(tr -d '\n')
            field() { printf '%s' "$request" | sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }
            echo "$(field action) $(field documentId) path=$(field path) uri=$(field uri) revision=$(field revision)" >> "$LEDGER/calls.log"
            echo '{"indexData": {}}'

            """#
        let world = try FaultWorld(["src": script])
        defer { world.cleanup() }
        try world.declare(["doc123"], type: "src")
        try world.declare(["report7"], type: "src", source: "{ uri: \"s3://bucket/report7.pdf\", revision: v7 }")
        try world.world.push("Two documents")
        #expect(try world.reconcile().status == 0)
        try world.world.pull()
        #expect(try world.world.status("doc123").contains("\"source\": {\n    \"path\": \"docs/doc123.md\"\n  }"))

        try Harness.git(["rm", "-q", "specs/doc123.yaml", "specs/report7.yaml"], in: world.person)
        try world.world.push("Remove both")
        let removed = try world.reconcile()
        #expect(removed.status == 0, "\(removed.stdout)\n\(removed.stderr)")
        let calls = Set(try world.read("calls.log").split(separator: "\n").map(String.init))
        let revision = try world.world.status("doc123").firstMatch(of: /"observedRevision": "([0-9a-f]+)"/).map { String($0.1) } ?? "?"
        #expect(calls.contains("delete doc123 path=docs/doc123.md uri= revision=\(revision)"), "\(calls)")
        #expect(calls.contains { $0.hasPrefix("delete report7 path= uri=s3://bucket/report7.pdf revision=") }, "\(calls)")
        #expect(!calls.contains { $0.hasPrefix("delete") && $0.contains("path= uri= ") }, "no delete got an empty source")
    }

    /// An orphan whose delete failed until its retries ran out has no spec to annotate:
    /// `indexops retry` declares it again with that index absent and the annotation, and the
    /// next pass retries the delete at once instead of at the longest backoff.
    @Test func retryWorksOnADocumentWithOnlyAStatus() throws {
        let script = #"""
            #!/bin/sh
            request=$(tr -d '\n')
            action=$(printf '%s' "$request" | sed -n 's/.*"action": *"\([^"]*\)".*/\1/p')
            echo "$action" >> "$LEDGER/calls.log"
            if [ "$action" = delete ] && [ -e "$LEDGER/refuse" ]; then echo "the graph store refuses the delete" >&2; exit 3; fi
            echo '{"indexData": {}}'

            """#
        let world = try FaultWorld(["graph": script])
        defer { world.cleanup() }
        try world.writeConfig(reconcile: "interval: 1h, maxRetries: 1, retryBackoff: 1h, maxRetryBackoff: 1h")
        try world.declare(["doc123"], type: "graph")
        try world.world.push("doc123")
        #expect(try world.reconcile().status == 0)

        world.touch("refuse")
        try Harness.git(["rm", "-q", "specs/doc123.yaml"], in: world.person)
        try world.world.push("Remove doc123")
        let failed = try world.reconcile()
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("failed indexes: doc123/graph"))
        #expect(try world.reconcile().status == 1, "the failure stays visible")
        #expect(try world.read("calls.log") == "create\ndelete\n", "the next try waits an hour")

        try world.remove("refuse")
        try world.world.pull()
        let user = "Ana <ana@example.com>"
        let unknown = try Harness.run(["retry", "nope", "--user", user, "--repo", world.person.path], in: world.root)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown document nope: no spec under specs/ declares it and it has no status"))
        let retry = try Harness.run(["retry", "doc123", "--user", user, "--repo", world.person.path], in: world.root)
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("doc123 has no spec: declared its failed indexes absent in specs/doc123.yaml with a retry annotation"))
        let spec = try String(contentsOf: world.person.appendingPathComponent("specs/doc123.yaml"), encoding: .utf8)
        #expect(spec.contains("    graph: absent\n") && spec.contains("indexops/retry-requested-at") && spec.contains("source: \"docs/doc123.md\""))
        #expect(try world.git(["log", "-1", "--format=%an|%s"], in: world.person) == "Ana|Retry the failed indexes of doc123\n")
        try Harness.git(["push", "-q", "origin", "main"], in: world.person)

        let retried = try world.reconcile()
        #expect(retried.status == 0, "\(retried.stdout)\n\(retried.stderr)")
        #expect(retried.stdout.contains("doc123/graph  delete  retry requested  deleted"), "\(retried.stdout)")
        try world.world.pull()
        #expect(try !world.world.statusExists("doc123"))

        let cleanup = try Harness.run(["cleanup", "doc123", "--user", user, "--repo", world.person.path], in: world.root)
        #expect(cleanup.status == 0, "\(cleanup.stderr)")
        try Harness.git(["push", "-q", "origin", "main"], in: world.person)
        let idle = try world.reconcile()
        #expect(idle.status == 0)
        #expect(try world.read("calls.log") == "create\ndelete\ndelete\n")
    }

    /// The disk fills up while the results are committed (a file-size limit makes the big
    /// status file unwritable): the pass fails and says why, the branch holds the intent
    /// commit and nothing half-written, and once there is room again the next pass runs the
    /// interrupted operation and pushes.
    @Test func aFullDiskWhileStatusesAreWritten() throws {
        let world = try FaultWorld(["big": Self.bigIndexer])
        defer { world.cleanup() }
        try world.world.write("docs/doc123.md", "A document.\n")
        try world.world.push("A document, no spec yet")
        #expect(try world.reconcile().status == 0, "the clone is made with room to spare")
        try world.declare(["doc123"], type: "big")
        try world.world.push("doc123")
        let before = try world.git(["rev-parse", "main"], in: world.remote)

        // Files may not grow past 32 KiB; SIGXFSZ is ignored so that a write fails with EFBIG.
        let full = try world.reconcile(wrapper: ["/bin/sh", "-c", "trap '' XFSZ; exec prlimit --fsize=32768 -- \"$@\"", "sh"])
        #expect(full.status == 2, "\(full.stdout)\n\(full.stderr)")
        // Whichever write hits the limit first (the status commit, or the pass cache beside it),
        // the pass stops and says why, with the system's reason.
        #expect(full.stderr.contains("indexops: error: "), "\(full.stderr)")
        #expect(full.stderr.contains("File too large"), "\(full.stderr)")
        let head = try world.git(["log", "-1", "--format=%s", "main"], in: world.controller)
        #expect(head == "indexops: 1 operation started\n" || head == "doc123\n", "the branch is unchanged, or holds the intent only: \(head)")
        #expect(try world.git(["rev-parse", "main"], in: world.remote) == before, "nothing was pushed")
        try Harness.git(["fsck", "--strict", "--no-progress", "--no-dangling"], in: world.controller)
        let leftovers = try Harness.output(
            ["find", ".", "(", "-name", "tmp_*", "-o", "-name", "*.lock", "-o", "-name", "*.tmp*", ")", "-not", "-name", "controller.lock"],
            in: world.controller.appendingPathComponent(".git"))
        #expect(leftovers == "", "no temporary file is left")

        let healed = try world.reconcile()
        #expect(healed.status == 0, "\(healed.stdout)\n\(healed.stderr)")
        #expect(healed.stdout.contains("doc123/big  create"), "\(healed.stdout)")
        #expect(healed.stdout.contains("present"), "\(healed.stdout)")
        try world.world.pull()
        #expect(try world.world.status("doc123").contains("\"actualState\": \"present\""))
        #expect(try world.read("calls.log").hasSuffix("run\n"))
        try Harness.git(["fsck", "--strict", "--no-progress", "--no-dangling"], in: world.remote)
    }

    /// The remote goes away between the fetch and the push: the pass exits 1 and says so,
    /// its commits stay in the clone, and the next pass, with the remote back, pushes them.
    @Test func theRemoteGoesAwayBetweenFetchAndPush() throws {
        let script = #"""
            #!/bin/sh
            cat > /dev/null
            touch "$LEDGER/started"
            i=0
            while [ ! -e "$LEDGER/go" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
            echo '{"indexData": {}}'

            """#
        let world = try FaultWorld(["gate": script])
        defer { world.cleanup() }
        try world.declare(["doc123"], type: "gate")
        try world.world.push("doc123")

        let running = try world.startReconcile()
        try Harness.waitFor(seconds: 120) { world.exists("started") }
        let away = world.root.appendingPathComponent("remote.away")
        try FileManager.default.moveItem(at: world.remote, to: away)
        world.touch("go")
        let result = try running.finish()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("not pushed: "), "\(result.stdout)")
        #expect(result.stdout.contains("the next pass pushes them"))
        #expect(try world.git(["log", "-2", "--format=%s", "main"], in: world.controller)
            == "indexops: 1 index reconciled (1 created)\nindexops: 1 operation started\n")
        #expect(try world.git(["log", "-1", "--format=%s", "main"], in: away) == "doc123\n")

        try FileManager.default.moveItem(at: away, to: world.remote)
        let next = try world.reconcile()
        #expect(next.status == 0, "\(next.stdout)\n\(next.stderr)")
        #expect(next.stdout.contains("pushed"))
        #expect(try world.git(["log", "-3", "--format=%s", "main"], in: world.remote)
            == "indexops: 1 index reconciled (1 created)\nindexops: 1 operation started\ndoc123\n")
        try world.world.pull()
        #expect(try world.world.status("doc123").contains("\"actualState\": \"present\""))
    }

    /// A remote that accepts the connection and then stays silent: the fetch is abandoned
    /// after `repository.stallTimeout` and the pass ends with a message, instead of hanging.
    @Test func aSilentRemoteEndsThePassInsteadOfHangingIt() throws {
        let world = try FaultWorld(["quick": "#!/bin/sh\ncat >/dev/null\necho '{\"indexData\": {}}'\n"])
        defer { world.cleanup() }
        try world.declare(["doc123"], type: "quick")
        try world.world.push("doc123")
        #expect(try world.reconcile().status == 0, "the clone is made from the real remote")

        let silent = try LoopbackServer.silent()
        defer { silent.stop() }
        let url = "http://127.0.0.1:\(silent.port)/remote.git"
        try world.writeConfig(url: url, repository: ", stallTimeout: 1s")
        let running = try world.startReconcile()
        defer { if running.process.isRunning { kill(running.process.processIdentifier, SIGKILL) } }
        try Harness.waitFor(seconds: 60) { !running.process.isRunning }
        let result = try running.finish()
        #expect(result.status == 2, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stderr.contains("fetch of '\(url)' made no progress for 1.0 seconds; abandoned"), "\(result.stderr)")
    }

    /// A program that ignores SIGTERM (and so does its grandchild) is killed with its whole
    /// process group once the grace period after its timeout has passed.
    @Test func anIndexerThatIgnoresSIGTERMIsKilledWithItsGroup() throws {
        let script = #"""
            #!/bin/sh
            trap '' TERM
            cat > /dev/null
            sleep 300 &
            echo $! > "$LEDGER/grandchild.pid"
            echo $$ > "$LEDGER/child.tmp" && mv "$LEDGER/child.tmp" "$LEDGER/child.pid"
            wait

            """#
        let world = try FaultWorld(["stubborn": script])
        defer { world.cleanup() }
        try world.writeConfig(typeSettings: ", timeout: 1s")
        try world.declare(["doc123"], type: "stubborn")
        try world.world.push("doc123")
        let result = try world.reconcile()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("failed indexes: doc123/stubborn"))
        let child = try world.pid("child.pid"), grandchild = try world.pid("grandchild.pid")
        try Harness.waitFor(seconds: 10) { !Self.alive(child) && !Self.alive(grandchild) }
        try world.world.pull()
        // The program's own timeout or the operation's, whichever fires first: both end the group.
        #expect(try world.world.status("doc123").contains("timed out after 1s"))
    }

    /// SIGTERM while `indexops run` pushes (the remote's pre-receive hook holds the push):
    /// the push completes, the process exits 0, and the remote has every status.
    @Test func sigtermDuringAPush() throws {
        let world = try FaultWorld(["quick": "#!/bin/sh\ncat >/dev/null\necho '{\"indexData\": {}}'\n"])
        defer { world.cleanup() }
        try world.declare(["doc123", "doc456"], type: "quick")
        try world.world.push("Two documents")
        let hook = world.remote.appendingPathComponent("hooks/pre-receive")
        try Data("""
            #!/bin/sh
            cat > /dev/null
            touch "\(world.ledger.path)/receiving"
            i=0
            while [ ! -e "\(world.ledger.path)/go" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done

            """.utf8).write(to: hook)
        chmod(hook.path, 0o755)
        let server = try LoopbackServer.git(root: world.root.path)
        defer { server.stop() }
        try world.writeConfig(url: "http://127.0.0.1:\(server.port)/remote.git")

        let daemon = try DaemonProcess(["--config", world.config], in: world.root)
        defer { daemon.stop() }
        try Harness.waitFor(seconds: 120) { world.exists("receiving") }
        daemon.signal(SIGTERM)
        try Harness.waitFor(seconds: 60) { daemon.stderr.contains("Shutting down") }
        world.touch("go")
        try Harness.waitFor(seconds: 60) { !daemon.process.isRunning }
        #expect(daemon.process.terminationStatus == 0, "\(daemon.stderr)")
        try world.world.pull()
        for id in ["doc123", "doc456"] {
            #expect(try world.world.status(id).contains("\"actualState\": \"present\""), "\(id)")
        }
        #expect(try world.git(["rev-parse", "main"], in: world.controller) == (try world.git(["rev-parse", "main"], in: world.remote)))
    }

    /// SIGTERM while results are committed every 100 ms: whatever was done is committed and
    /// pushed (every index the program built has a present status, no status claims an index
    /// it did not build), the rest keeps its intent, and the next start completes it.
    @Test func sigtermWhileResultsAreCommittedLosesNothing() throws {
        // After four indexes, the program waits for the test to have sent SIGTERM, so that
        // the signal comes while results are being committed, however busy the machine is.
        let script = #"""
            #!/bin/sh
            doc=$(tr -d '\n' | sed -n 's/.*"documentId": *"\([^"]*\)".*/\1/p')
            built=$(cat "$LEDGER/built.log" 2>/dev/null | wc -l)
            i=0
            while [ "$built" -ge 4 ] && [ ! -e "$LEDGER/signalled" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
            sleep 0.05
            echo "$doc" >> "$LEDGER/built.log"
            echo '{"indexData": {}}'

            """#
        let world = try FaultWorld(["quick": script])
        defer { world.cleanup() }
        try world.writeConfig(reconcile: "interval: 1h, commitInterval: 100ms, concurrency: 2")
        let ids = (1...12).map { "doc\($0)" }
        try world.declare(ids, type: "quick")
        try world.world.push("Twelve documents")

        let daemon = try DaemonProcess(["--config", world.config], in: world.root)
        defer { daemon.stop() }
        try Harness.waitFor(seconds: 120) {
            ((try? world.git(["log", "-1", "--format=%s", "main"], in: world.controller)) ?? "").contains("reconciled")
        }
        daemon.signal(SIGTERM)
        try Harness.waitFor(seconds: 60) { daemon.stderr.contains("Shutting down") }
        world.touch("signalled")
        try Harness.waitFor(seconds: 60) { !daemon.process.isRunning }
        #expect(daemon.process.terminationStatus == 0, "\(daemon.stderr)")

        try world.world.pull()
        let built = Set(try world.read("built.log").split(separator: "\n").map(String.init))
        var present = Set<String>(), creating = Set<String>()
        for id in ids {
            let status = try world.world.status(id)
            if status.contains("\"actualState\": \"present\"") { present.insert(id) }
            if status.contains("\"actualState\": \"creating\"") { creating.insert(id) }
        }
        #expect(present == built, "every index built has its status, and only those")
        #expect(present.union(creating) == Set(ids))
        #expect(!creating.isEmpty, "the signal came before the pass was over")

        let next = try world.reconcile()
        #expect(next.status == 0, "\(next.stdout)\n\(next.stderr)")
        try world.world.pull()
        for id in ids { #expect(try world.world.status(id).contains("\"actualState\": \"present\""), "\(id)") }
    }
}
