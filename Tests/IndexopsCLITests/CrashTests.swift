import Foundation
import Testing

/// kill -9 at random moments, over many runs and across a spec change, then one clean run:
/// the repository heals. `CRASH_KILLS` (default 12) and `CRASH_SEED` (default 7) make the
/// run longer or different; the seed is printed so that a failure can be replayed.
@Suite("Crash recovery", .serialized)
struct CrashTests {
    @Test func killNineAnywhereThenHeal() throws {
        let environment = ProcessInfo.processInfo.environment
        let kills = environment["CRASH_KILLS"].flatMap(Int.init) ?? 12
        let seed = environment["CRASH_SEED"].flatMap(UInt64.init) ?? 7
        print("crash test: \(kills) kills, seed \(seed)")
        var random = SplitMix64(seed: seed)

        let world = try ReconcileEndToEndTests.World()
        defer { world.cleanup() }
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: controller, url: "\(world.remote.path)", branch: main }
            reconcile: { concurrency: 2, commitInterval: 100ms, maxDeletePercent: 100, maxRetries: 100, retryBackoff: 1s, maxRetryBackoff: 2s }
            indexTypes:
              fulltext: { driver: sqlite-fts, database: indexes.sqlite }
              graph: { driver: exec, command: ["./graph-indexer"], timeout: 30s, env: { LEDGER: "\(world.ledger.path)", DELAY: "1" } }

            """.utf8).write(to: URL(fileURLWithPath: world.config))
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs"))
        var declared = Set((1...8).map { "doc\($0)" })
        for id in declared.sorted() {
            try world.write("specs/\(id).yaml", PeopleSpec.spec(id, source: "docs/doc123.md"))
        }
        try world.push("Eight documents")

        var killedMidway = 0
        for run in 0..<kills {
            if run == kills / 2 {
                // The specs change between two crashes: two documents go, two come, a source changes.
                for id in ["doc1", "doc2"] { try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/\(id).yaml")) }
                for id in ["doc9", "doc10"] { try world.write("specs/\(id).yaml", PeopleSpec.spec(id, source: "docs/doc123.md")) }
                try world.push("Change the specs mid-way")
                declared.subtract(["doc1", "doc2"])
                declared.formUnion(["doc9", "doc10"])
            }
            // Every run has work to do: the source of every document changes.
            try world.write("docs/doc123.md", "Version \(run) of the shared source.\n")
            try world.push("Version \(run)")
            let running = try Harness.start(["reconcile", "--once", "--config", world.config], in: world.root)
            usleep(UInt32(random.next() % 600_000))
            if running.process.isRunning { killedMidway += 1 }
            kill(running.process.processIdentifier, SIGKILL)
            _ = try running.finish()
            try Harness.waitFor { !Self.indexerRunning() }
        }

        print("crash test: \(killedMidway) of \(kills) runs killed while working")
        #expect(killedMidway * 2 >= kills, "most kills must land while a pass works, or the test proves little")
        usleep(2_100_000)  // git locks left by a kill are removed once 2 s old and held by no process
        // An operation interrupted more than once waits out the retry backoff (1 s here), as a
        // crash-looping controller would: the next passes finish the work.
        func converged() throws -> Bool {
            try world.pull()
            return try Set(world.liveGraphIndexes) == declared && !["doc1", "doc2"].contains { try world.statusExists($0) }
        }
        var final = try world.indexops(["reconcile", "--once"])
        var passes = 1
        while try !converged(), passes < 20 {
            usleep(1_100_000)
            final = try world.indexops(["reconcile", "--once"])
            passes += 1
        }
        print("crash test: converged after \(passes) final pass(es)")
        #expect(final.status == 0, "\(final.stdout)\n\(final.stderr)")

        #expect(Set(world.liveGraphIndexes) == declared)
        try world.pull()
        for id in declared {
            let status = try world.status(id)
            #expect(status.components(separatedBy: "\"actualState\": \"present\"").count == 3, "\(id): \(status)")
            let indexed = try String(contentsOf: world.ledger.appendingPathComponent(id), encoding: .utf8)
            #expect(status.contains("\"observedRevision\": \"\(indexed)\""), "\(id): the ledger holds the last revision")
        }
        for id in ["doc1", "doc2"] { #expect(try !world.statusExists(id)) }
        try Harness.git(["fsck", "--strict", "--no-progress"], in: world.remote)
        try Harness.git(["fsck", "--strict", "--no-progress"], in: world.controller)
        #expect(try Harness.output(["git", "log", "--merges", "--oneline", "main"], in: world.remote) == "")
    }

    /// Whether a ledger indexer process (a child of a killed controller) is still running.
    static func indexerRunning() -> Bool {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.contains { pid in
            guard Int(pid) != nil, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains("graph-indexer")
        }
    }
}

/// A small seeded generator, so that a failing run can be replayed with its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
