import IndexOpsCore
import Testing

/// The shard of a document, the settings that choose a replica's shard, and the planner's
/// reshard rule.
@Suite("Shard")
struct ShardTests {
    /// The hash as the README writes it down, computed here by Python's hashlib (so that a
    /// change of the rule, or of its byte order, fails): the first 16 hex digits of SHA-256.
    @Test(arguments: [
        ("doc-1", UInt64(13_478_797_910_862_173_401), 1, 1),
        ("doc-2", UInt64(7_371_055_810_307_977_664), 0, 2),
        ("a", UInt64(14_598_278_634_844_962_250), 2, 1),
        ("handbook-intro", UInt64(16_744_707_329_568_767_779), 3, 1),
    ])
    func hashIsTheDocumentedOne(_ id: String, _ hash: UInt64, _ of4: Int, _ of3: Int) throws {
        #expect(Shard.hash(id) == hash)
        #expect(Shard.index(of: id, count: 4) == of4)
        #expect(Shard.index(of: id, count: 3) == of3)
        #expect(try Shard(parsing: "\(of4)/4").owns(id))
        #expect(try !Shard(parsing: "\((of4 + 1) % 4)/4").owns(id))
        #expect(Shard.single.owns(id))
    }

    @Test func everyDocumentHasExactlyOneOwnerAndTheSharesAreEven() throws {
        let ids = (0..<4_000).map { "doc-\($0)" }
        let shards = try (0..<4).map { try Shard(index: $0, count: 4) }
        var sizes = [0, 0, 0, 0]
        for id in ids {
            let owners = shards.filter { $0.owns(id) }
            #expect(owners.count == 1)
            sizes[owners[0].index] += 1
        }
        #expect(sizes.allSatisfy { (850...1_150).contains($0) }, "\(sizes)")
    }

    @Test(arguments: [
        ("0/1", "0/1"), ("3/4", "3/4"), ("0/1024", "0/1024"),
    ])
    func parses(_ text: String, _ shown: String) throws {
        #expect(try Shard(parsing: text).description == shown)
    }

    @Test(arguments: [
        ("4/4", "shard 4 does not exist: with 4 shards, I is from 0 to 3"),
        ("0/0", "the number of shards must be from 1 to 1024, not 0"),
        ("0/2000", "the number of shards must be from 1 to 1024, not 2000"),
        ("-1/4", "is not I/N"), ("1", "is not I/N"), ("1/4/2", "is not I/N"), (" 1/4", "is not I/N"), ("a/b", "is not I/N"),
        ("", "is not I/N"),
    ])
    func refuses(_ text: String, _ message: String) {
        #expect(throws: ShardError.self) { try Shard(parsing: text) }
        do { _ = try Shard(parsing: text) } catch { #expect(error.message.contains(message), "\(error.message)") }
    }

    @Test(arguments: [("indexops-3", 3), ("indexops-0", 0), ("my-app-indexops-12.indexops.default.svc.cluster.local", 12)])
    func ordinalOfAPodName(_ name: String, _ ordinal: Int) throws {
        #expect(try Shard.ordinal(hostname: name) == ordinal)
    }

    @Test(arguments: ["indexops", "indexops-", "indexops-x", "laptop.local", ""])
    func noOrdinal(_ name: String) {
        #expect(throws: ShardError.self) { try Shard.ordinal(hostname: name) }
    }

    struct Resolution: Sendable, CustomTestStringConvertible {
        var shard: String?
        var shards: String?
        var fromHostname = false
        var configured = "0/1"
        var hostname = "indexops-2"
        var expected: String
        var testDescription: String { "\(shard ?? "-") \(shards ?? "-") \(fromHostname) \(configured) -> \(expected)" }
    }

    @Test(arguments: [
        Resolution(expected: "0/1"),
        Resolution(configured: "1/3", expected: "1/3"),
        Resolution(shard: "2/4", configured: "1/3", expected: "2/4"),
        Resolution(shards: "4", fromHostname: true, expected: "2/4"),
        Resolution(fromHostname: true, configured: "0/5", expected: "2/5"),
        Resolution(shard: "0/4", fromHostname: true, expected: "2/4"),
        Resolution(shard: "0/4", shards: "4", expected: "0/4"),
        Resolution(shards: "4", fromHostname: true, hostname: "indexops-7", expected: "error: gives shard 7, but there are only 4 shards"),
        Resolution(shard: "0/4", shards: "3", expected: "error: --shards says 3 shards, but --shard says 4"),
        Resolution(shards: "0", fromHostname: true, expected: "error: --shards: \"0\" is not a number of shards"),
        Resolution(shard: "5/4", expected: "error: --shard: shard 5 does not exist"),
        Resolution(fromHostname: true, hostname: "laptop", expected: "error: does not end in -<ordinal>"),
        Resolution(fromHostname: true, expected: "error: gives shard 2, but there are only 1 shard"),
    ])
    func resolution(_ row: Resolution) throws {
        let result: String
        do {
            result = try Shard.resolve(
                shard: row.shard.map { ($0, "--shard") }, shards: row.shards.map { ($0, "--shards") }, fromHostname: row.fromHostname,
                configured: Shard(parsing: row.configured), hostname: { row.hostname }
            ).description
        } catch {
            result = "error: " + error.message
        }
        if row.expected.hasPrefix("error: ") {
            #expect(result.hasPrefix("error: ") && result.contains(row.expected.dropFirst(7)), "\(result)")
        } else {
            #expect(result == row.expected)
        }
    }

    @Test func fileTags() throws {
        #expect(Shard.single.fileTag == nil)
        #expect(DiagnosticsFile.name(shard: .single) == "_diagnostics.json")
        #expect(DiagnosticsFile.name(shard: try Shard(parsing: "1/4")) == "_diagnostics.1-of-4.json")
        for name in ["_diagnostics.json", "_diagnostics.1-of-4.json", "_diagnostics.0-of-1024.json"] {
            #expect(DiagnosticsFile.isDiagnosticsName(name), "\(name)")
        }
        for name in ["_diagnostics.4-of-4.json", "_diagnostics.x.json", "_diagnostics.1-of-4.yaml", "diagnostics.json"] {
            #expect(!DiagnosticsFile.isDiagnosticsName(name), "\(name)")
        }
    }

    @Test func replicaNames() {
        #expect(IntentOwner.replicaName(hostname: "indexops-3") == "indexops-3")
        #expect(IntentOwner.replicaName(hostname: "bad name\n") == "bad_name_")
        #expect(IntentOwner.replicaName(hostname: "") == "replica")
        #expect(IntentOwner.replicaName(hostname: String(repeating: "a", count: 400)).utf8.count == IntentOwner.maxReplicaLength)
    }
}

/// The planner under several shards: intents name their owner, and an intent of another
/// layout holds its index until it is older than the fence.
@Suite("Planner and shards")
struct ShardPlanningTests {
    static let now = PlannerTests.now
    static func settings(_ shard: String) throws -> PlannerSettings {
        var settings = PlannerSettings(indexTypes: ["vector"], maxRetries: 3)
        settings.shard = try Shard(parsing: shard)
        settings.replica = "indexops-\(settings.shard.index)"
        settings.reshardFence = .seconds(600)
        return settings
    }

    static func intent(_ state: ActualState, owner: String?, age: Duration) throws -> DocumentStatus {
        let at = now.adding(.zero - age)
        let entry = IndexStatus(
            actualState: state, desiredState: state == .creating ? .present : .absent, updatedAt: at, lastReconciledAt: at,
            observedRevision: "r2", owner: try owner.map { IntentOwner(shard: try Shard(parsing: $0), replica: "indexops-x") })
        return PlannerTests.status(["vector": entry])
    }

    @Test func intentsNameTheirOwnerUnderSeveralShards() throws {
        let plan = Planner.plan(desired: ["doc": PlannerTests.spec()], held: [], actual: [:], now: Self.now, settings: try Self.settings("1/4"))
        let entry = try #require(plan.intents["doc"]??.indexes["vector"])
        #expect(entry.owner == IntentOwner(shard: try Shard(parsing: "1/4"), replica: "indexops-1"))
        let text = try #require(plan.intents["doc"]??.fileText)
        #expect(text.contains("\"owner\": {"))
        #expect(try DocumentStatus(fileText: text) == plan.intents["doc"]!!)
        // A single replica writes the files it always wrote.
        let single = Planner.plan(desired: ["doc": PlannerTests.spec()], held: [], actual: [:], now: Self.now, settings: try Self.settings("0/1"))
        #expect(single.intents["doc"]??.indexes["vector"]?.owner == nil)
        #expect(single.intents["doc"]??.fileText.contains("owner") == false)
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var state: ActualState
        var owner: String?
        var age: Duration
        var shard: String
        var desired: DesiredState = .present
        var runs: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        Row(name: "own layout's interrupted create runs at once", state: .creating, owner: "1/4", age: .seconds(5), shard: "1/4", runs: true),
        Row(name: "another layout's young create waits", state: .creating, owner: "2/4", age: .seconds(5), shard: "1/3", runs: false),
        Row(name: "another layout's old create runs", state: .creating, owner: "2/4", age: .seconds(601), shard: "1/3", runs: true),
        Row(name: "a single replica's young create waits for a shard", state: .creating, owner: nil, age: .seconds(5), shard: "1/3", runs: false),
        Row(name: "a shard's young create waits for a single replica", state: .creating, owner: "2/4", age: .seconds(5), shard: "0/1", runs: false),
        Row(name: "single replica, its own intent: at once", state: .creating, owner: nil, age: .seconds(5), shard: "0/1", runs: true),
        Row(name: "another layout's young delete waits, even for a create", state: .deleting, owner: "0/2", age: .seconds(5), shard: "1/3",
            runs: false),
        Row(name: "a young create of another layout is not deleted yet", state: .creating, owner: "3/4", age: .seconds(5), shard: "0/3",
            desired: .absent, runs: false),
    ])
    func reshardRule(_ row: Row) throws {
        let desired = row.desired == .present ? ["doc": PlannerTests.spec()] : ["doc": PlannerTests.spec(indexes: ["vector": .absent])]
        let plan = Planner.plan(
            desired: desired, held: [], actual: ["doc": try Self.intent(row.state, owner: row.owner, age: row.age)], now: Self.now,
            settings: try Self.settings(row.shard))
        #expect(!plan.operations.isEmpty == row.runs, "\(plan.operations)")
        if !row.runs {
            #expect(plan.intents.isEmpty)
            #expect(plan.dueAt["doc"] == Self.now.adding(.seconds(600) - row.age))
            #expect(plan.held[IndexKey("doc", "vector")]?.contains("may still run until") == true)
        }
    }
}
