import Foundation
import Testing

/// Several replicas of the built binary share one bare remote, each owning a shard of 2,000
/// documents (DESIGN.md §9, issue 13). The exec indexer appends one line per operation to a
/// ledger: action, document, index type, start and end (nanoseconds), after a sleep of 10 to
/// 50 ms. The ledger proves that every index was built exactly once, and that no two
/// operations ever ran at the same time on one (document, index type), across a reshard.
@Suite("sharded replicas", .serialized)
struct ShardedReplicasTests {
    static let documents = 2_000

    /// The scratch folder: a bare remote with the specs, the indexer, a configuration. The
    /// replicas reach the remote over smart HTTP (`git http-backend`, whose `receive-pack`
    /// updates the branch atomically, as every git host does) or, with `overHTTP: false`, by
    /// its path (the Git module's local push, which moves the branch by compare-and-swap).
    final class World {
        let root: URL
        let server: LoopbackServer?
        /// Documents declared in all; `converged` waits for this many statuses.
        let documents: Int
        var remote: URL { root.appendingPathComponent("remote.git") }
        var person: URL { root.appendingPathComponent("person") }
        var ledger: URL { root.appendingPathComponent("ledger.log") }
        var config: String { root.appendingPathComponent("indexops.yaml").path }

        /// Declares `declaring` of the `documents` at once (the rest through `declare`); the
        /// indexer sleeps 10–50 ms per operation unless `indexerSleeps` is false.
        init(name: String, documents: Int = ShardedReplicasTests.documents, declaring: Int? = nil,
             overHTTP: Bool = true, indexerSleeps: Bool = true) throws {
            root = try Harness.scratch().appendingPathComponent(name)
            self.documents = documents
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            server = overHTTP ? try LoopbackServer.git(root: root.path) : nil
            try Harness.git(["init", "-q", "--bare", "-b", "main", remote.path], in: root)
            try Harness.git(["init", "-q", "-b", "main", person.path], in: root)
            try Harness.git(["remote", "add", "origin", remote.path], in: person)
            let script = root.appendingPathComponent("indexer")
            try Data(Self.script.utf8).write(to: script)
            chmod(script.path, 0o755)
            FileManager.default.createFile(atPath: ledger.path, contents: nil)
            let url = server.map { "http://127.0.0.1:\($0.port)/remote.git" } ?? remote.path
            try Data("""
                apiVersion: indexops/v1
                kind: ControllerConfig
                repository: { url: "\(url)", branch: main }
                reconcile: { concurrency: 4, commitInterval: 2s, operationTimeout: 3s, interval: 1s, maxDeletePercent: 100 }
                indexTypes:
                  graph: { driver: exec, command: ["\(script.path)"], env: { LEDGER: "\(ledger.path)", NOSLEEP: "\(indexerSleeps ? "false" : "true")" } }

                """.utf8).write(to: URL(fileURLWithPath: config))
            try declare(0..<(declaring ?? documents))
        }

        /// Declares documents `range` (a source and a spec each, 500 specs a file) in one
        /// commit that the person pushes.
        func declare(_ range: Range<Int>) throws {
            var specs = ""
            for n in range {
                try Harness.write("doc \(n)\n", to: "docs/doc-\(n).md", in: person)
                specs += "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata: { name: doc-\(n), createdBy: ana }\nspec: { source: docs/doc-\(n).md }\n---\n"
                if (n + 1) % 500 == 0 || n == range.upperBound - 1 {
                    try Harness.write(specs, to: "specs/part-\(n / 500)-\(range.lowerBound).yaml", in: person)
                    specs = ""
                }
            }
            try commitAndPush("Declare documents \(range.lowerBound) to \(range.upperBound - 1)")
        }

        /// The exec indexer: no process but `date` and `sleep`, so that the ledger measures the
        /// controller and not the shell. A line is one `write` in append mode: lines of
        /// concurrent replicas never mix.
        static let script = """
            #!/bin/sh
            request=""
            while IFS= read -r line; do request="$request$line"; done
            value() { v=${request#*\\"$1\\": \\"}; printf '%s' "${v%%\\"*}"; }
            start=$(date +%s%N)
            ms=$(( 10 + (start / 1000) % 41 ))
            [ "$NOSLEEP" = true ] || sleep "0.0$(printf %02d $ms)"
            end=$(date +%s%N)
            echo "$(value action) $(value documentId) $(value indexType) $start $end" >> "$LEDGER"
            echo '{"indexData": {}}'
            """

        func commitAndPush(_ message: String) throws {
            try Harness.git(["add", "-A"], in: person)
            try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-q", "-m", message], in: person)
            try Harness.git(["pull", "-q", "--rebase", "origin", "main"], in: person, allowFailure: true)
            try Harness.git(["push", "-q", "origin", "main"], in: person)
        }

        /// `indexops` with the configuration, in clone `replica`, with `arguments`.
        func start(_ arguments: [String], replica: String) throws -> Harness.Running {
            var environment = ProcessInfo.processInfo.environment
            environment["HOSTNAME"] = replica
            return try Harness.start(arguments + ["--repo", root.appendingPathComponent(replica).path, "--config", config], in: root,
                                     environment: environment)
        }

        /// The ledger's lines: (action, document, type, start, end).
        func entries() throws -> [(action: String, key: String, start: Int64, end: Int64)] {
            try String(contentsOf: ledger, encoding: .utf8).split(separator: "\n").map { line in
                let f = line.split(separator: " ")
                guard f.count == 5, let start = Int64(f[3]), let end = Int64(f[4]) else { throw HarnessError("bad ledger line: \(line)") }
                return (String(f[0]), "\(f[1])/\(f[2])", start, end)
            }
        }

        /// The remote's status files: document → (state, observed revision, owner shard).
        func remoteStatuses() throws -> [String: (state: String, revision: String, owner: String?)] {
            let check = root.appendingPathComponent("check-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: check) }
            try Harness.git(["clone", "-q", remote.path, check.path], in: root)
            var statuses: [String: (state: String, revision: String, owner: String?)] = [:]
            let folder = check.appendingPathComponent("status")
            for fan in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !fan.hasPrefix("_") {
                for file in try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(fan).path) {
                    let data = try Data(contentsOf: folder.appendingPathComponent(fan).appendingPathComponent(file))
                    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                    let graph = try #require((json["indexes"] as? [String: Any])?["graph"] as? [String: Any])
                    statuses[json["documentId"] as? String ?? ""] = (
                        graph["actualState"] as? String ?? "", graph["observedRevision"] as? String ?? "",
                        (graph["owner"] as? [String: Any])?["shard"] as? String)
                }
            }
            return statuses
        }

        func converged(revisionsOtherThan old: [String: String] = [:]) throws -> Bool {
            let statuses = try remoteStatuses()
            return statuses.count == documents
                && statuses.allSatisfy { $0.value.state == "present" && $0.value.revision != old[$0.key] }
        }

        func cleanup() {
            server?.stop()
            Harness.cleanup(root)
        }
    }

    /// Runs `reconcile --once` in each clone at once and waits; returns the wall time.
    static func passes(_ world: World, shards: [String]) throws -> Duration {
        let clock = ContinuousClock()
        let started = clock.now
        let runs = try shards.enumerated().map { i, shard in
            try world.start(["reconcile", "--once", "--shard", shard, "--log-level", "warning"], replica: "indexops-\(i)")
        }
        for run in runs {
            let result = try run.finish()
            #expect(result.status == 0, "\(result.stderr.suffix(2_000))")
        }
        return clock.now - started
    }

    @Test func fourReplicasShareTheWorkAndAReshardNeverRunsAnIndexTwice() throws {
        let testStarted = ContinuousClock.now
        func mark(_ what: String) {
            FileHandle.standardError.write(Data("sharded replicas: \(what) at \(ContinuousClock.now - testStarted)\n".utf8))
        }
        // One replica on the same work, for the 1-vs-4 figures: most of this test's time, so
        // only with SHARD_COMPARE=1 (it asserts no timing either way).
        var oneReplica: Duration?
        if ProcessInfo.processInfo.environment["SHARD_COMPARE"] == "1" {
            let single = try World(name: "single")
            defer { single.cleanup() }
            mark("one world made")
            oneReplica = try Self.passes(single, shards: ["0/1"])
            mark("one replica done")
            #expect(try single.converged())
            #expect(try single.entries().count == Self.documents)
        }

        // Four replicas on one remote.
        let world = try World(name: "four")
        defer { world.cleanup() }
        mark("four world made")
        var fourReplicas = try Self.passes(world, shards: ["0/4", "1/4", "2/4", "3/4"])
        mark("four replicas done")
        // A push rejected five times over is pushed by the next pass: nothing is lost.
        for _ in 0..<3 where try !world.converged() {
            fourReplicas += try Self.passes(world, shards: ["0/4", "1/4", "2/4", "3/4"])
        }
        #expect(try world.converged())
        let built = try world.entries()
        #expect(built.count == Self.documents, "every index built exactly once")
        #expect(Set(built.map(\.key)).count == Self.documents)
        #expect(built.allSatisfy { $0.action == "create" })
        let merges = try Harness.output(["git", "--git-dir", world.remote.path, "rev-list", "--merges", "main"], in: world.root)
        #expect(merges.isEmpty, "the remote's history is linear")
        let messages = try Harness.output(["git", "--git-dir", world.remote.path, "log", "--format=%B", "main"], in: world.root)
        for i in 0..<4 { #expect(messages.contains("Indexops-Shard: \(i)/4 indexops-\(i)"), "the remote holds shard \(i)'s commits") }
        let owners = try world.remoteStatuses().values.compactMap(\.owner)
        #expect(Set(owners) == ["0/4", "1/4", "2/4", "3/4"])
        if let oneReplica {
            mark("\(Self.documents) documents, 1 replica \(oneReplica), 4 replicas \(fourReplicas), ratio \(String(format: "%.2f", fourReplicas / oneReplica))")
        } else {
            mark("\(Self.documents) documents, 4 replicas \(fourReplicas) (SHARD_COMPARE=1 measures 1 replica too)")
        }

        // Reshard from 4 to 3 while operations run: 600 sources change, four daemons start the
        // new builds, and are stopped once some ran; three replicas of the new layout start at
        // once, on clones of their own, while the four drain.
        let before = try world.remoteStatuses().mapValues(\.revision)
        let edited = Set((0..<Self.documents).filter { $0 % 10 < 3 }.map { "doc-\($0)" })
        for id in edited { try Harness.write("\(id), edited\n", to: "docs/\(id).md", in: world.person) }
        try world.commitAndPush("Edit every document")
        let ledgerBefore = try world.entries().count
        mark("edited")
        let daemon = ["run", "--listen", "127.0.0.1:0", "--shutdown-grace", "4s", "--log-level", "warning"]
        let old = try (0..<4).map { try world.start(daemon + ["--shard", "\($0)/4"], replica: "indexops-\($0)") }
        defer { for run in old where run.process.isRunning { kill(run.process.processIdentifier, SIGKILL) } }
        try Harness.waitFor(seconds: 300) { ((try? world.entries().count) ?? 0) >= ledgerBefore + 100 }
        for run in old { kill(run.process.processIdentifier, SIGTERM) }
        mark("old layout stopped")
        let new = try (0..<3).map {
            try world.start(daemon + ["--shard-from-hostname", "--shards", "3"], replica: "new-indexops-\($0)")
        }
        defer { for run in new where run.process.isRunning { kill(run.process.processIdentifier, SIGKILL) } }
        for run in old {
            let result = try run.finish()
            #expect(result.status == 0, "\(result.stderr.suffix(2_000))")
        }
        let unchanged = before.filter { !edited.contains($0.key) }
        try Harness.waitFor(seconds: 300) { (try? world.converged(revisionsOtherThan: before.filter { edited.contains($0.key) })) == true }
        mark("new layout converged")
        for run in new { kill(run.process.processIdentifier, SIGTERM) }
        for run in new { _ = try run.finish() }

        // No two operations overlapped on one (document, index type).
        var intervals: [String: [(start: Int64, end: Int64)]] = [:]
        for entry in try world.entries() { intervals[entry.key, default: []].append((entry.start, entry.end)) }
        var overlaps: [String] = []
        for (key, list) in intervals {
            let sorted = list.sorted { $0.start < $1.start }
            for (a, b) in zip(sorted, sorted.dropFirst()) where b.start < a.end { overlaps.append(key) }
        }
        #expect(overlaps.isEmpty, "overlapping operations on \(overlaps.prefix(10))")
        let rebuilt = try world.entries().dropFirst(ledgerBefore)
        #expect(Set(rebuilt.map(\.key)) == Set(edited.map { "\($0)/graph" }), "every edited document was built again, and no other")
        let after = try world.remoteStatuses()
        #expect(unchanged.allSatisfy { after[$0.key]?.revision == $0.value })
        // Rebuilt by the old layout before it stopped, or by the new one after.
        let newOwners = Set(after.filter { edited.contains($0.key) }.values.compactMap(\.owner))
        #expect(newOwners.isSuperset(of: ["0/3", "1/3", "2/3"]) && newOwners.isSubset(of: ["0/4", "1/4", "2/4", "3/4", "0/3", "1/3", "2/3"]))
        #expect(try Harness.output(["git", "--git-dir", world.remote.path, "rev-list", "--merges", "main"], in: world.root).isEmpty)
        mark("reshard 4 -> 3 rebuilt \(edited.count) documents with \(rebuilt.count - edited.count) operations run twice (one after the other)")
    }
}

extension ShardedReplicasTests {
    /// Eight replicas push to one bare remote given by its path, in rounds: the person
    /// declares a batch of documents, then all eight run a pass at once (each pushes its
    /// intents, then its results, so a round is a burst of concurrent pushes), until every
    /// document is declared and indexed. A push that moved the branch without checking that
    /// it was still where the replica read it (libgit2 1.5's local transport does that) would
    /// overwrite another replica's commit: this test finds every commit each replica was told
    /// it pushed (its remote-tracking branch's reflog) on the remote branch.
    ///
    /// 400 documents in 4 rounds by default (about 30 s on a busy 2-core machine);
    /// `REPLICA_RACE_DOCUMENTS=N` and `REPLICA_RACE_ROUNDS=R` for a longer run.
    @Test func eightReplicasOnOneLocalRemoteLoseNoStatusCommit() throws {
        let environment = ProcessInfo.processInfo.environment
        let documents = environment["REPLICA_RACE_DOCUMENTS"].flatMap(Int.init) ?? 400
        let rounds = max(1, environment["REPLICA_RACE_ROUNDS"].flatMap(Int.init) ?? 4)
        let batch = (documents + rounds - 1) / rounds
        let world = try World(name: "eight", documents: documents, declaring: min(batch, documents), overHTTP: false, indexerSleeps: false)
        defer { world.cleanup() }
        let shards = (0..<8).map { "\($0)/8" }
        let started = ContinuousClock.now
        var passes = 0
        var stderr: [String] = []
        func round() throws {
            let runs = try shards.enumerated().map { i, shard in
                try world.start(["reconcile", "--once", "--shard", shard, "--log-level", "warning"], replica: "indexops-\(i)")
            }
            for run in runs {
                let result = try run.finish()
                // A push rejected on every attempt is an error of that pass; the next pass pushes it.
                #expect(result.status == 0 || result.stderr.contains("Cannot push"), "\(result.stderr.suffix(2_000))")
                stderr.append(result.stderr)
            }
            passes += 1
        }
        for lower in stride(from: batch, to: documents, by: batch) {
            try round()
            try world.declare(lower..<min(lower + batch, documents))
        }
        try round()
        for _ in 0..<4 where try !world.converged() { try round() }
        #expect(try world.converged(), "every document has its status, present")

        let built = try world.entries()
        #expect(built.count == documents && Set(built.map(\.key)).count == documents, "every index built exactly once")
        let git = ["git", "--git-dir", world.remote.path]
        #expect(try Harness.output(git + ["rev-list", "--merges", "main"], in: world.root).isEmpty, "the remote's history is linear")
        let onRemote = Set(try Harness.output(git + ["rev-list", "main"], in: world.root).split(separator: "\n").map(String.init))
        var pushed = 0
        for (i, shard) in shards.enumerated() {
            let clone = world.root.appendingPathComponent("indexops-\(i)")
            let reflog = try Harness.output(
                ["git", "-C", clone.path, "reflog", "show", "--format=%H %gs", "refs/remotes/origin/main"], in: world.root)
            // libgit2's push writes "update by push"; the local push "indexops: push".
            let own = reflog.split(separator: "\n").filter { $0.hasSuffix(" update by push") || $0.hasSuffix(" indexops: push") }
                .map { String($0.prefix(40)) }
            #expect(!own.isEmpty, "replica \(shard) pushed")
            let lost = own.filter { !onRemote.contains($0) }
            #expect(lost.isEmpty, "replica \(shard) pushed \(lost.count) commit(s) that the remote's branch lost: \(lost.prefix(3))")
            pushed += own.count - lost.count
            let trailer = try Harness.output(git + ["rev-list", "--count", "--grep", "Indexops-Shard: \(shard) indexops-\(i)$", "main"], in: world.root)
            #expect((Int(trailer.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "the remote holds replica \(shard)'s commits")
        }
        let rewrites = stderr.filter { $0.contains("was rewritten") }
        #expect(rewrites.isEmpty, "no replica found the upstream rewritten: \(rewrites.first?.suffix(1_000) ?? "")")
        _ = try Harness.output(git + ["fsck", "--strict", "--no-progress"], in: world.root)
        FileHandle.standardError.write(Data(
            "eight replicas: \(documents) documents, \(passes) rounds of 8 passes, \(pushed) pushes landed, in \(ContinuousClock.now - started)\n".utf8))
    }
}

extension Harness {
    /// `git` in a folder; a failure is ignored when `allowFailure` (a pull with no upstream).
    static func git(_ arguments: [String], in folder: URL, allowFailure: Bool) throws {
        do { try git(arguments, in: folder) } catch where allowFailure {}
    }
}
