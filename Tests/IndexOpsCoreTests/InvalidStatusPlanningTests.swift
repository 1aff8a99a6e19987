import IndexOpsCore
import Testing

/// How the planner treats a document whose status file is invalid (`rebuilding`): `actual`
/// holds the last valid version from git history, or nothing.
@Suite("Planner: invalid status files")
struct InvalidStatusPlanningTests {
    typealias P = PlannerTests

    /// The brake is off: one document's indexes are all the repository has.
    static func plan(desired: DesiredDocument?, recovered: DocumentStatus?) -> ReconcilePlan {
        var settings = P.settings
        settings.allowMassDelete = true
        return Planner.plan(
            desired: desired.map { ["doc": $0] } ?? [:], held: [], actual: recovered.map { ["doc": $0] } ?? [:],
            rebuilding: ["doc"], now: P.now, settings: settings)
    }

    static func operations(_ plan: ReconcilePlan) -> [String] {
        plan.operations.map { "\($0.action.rawValue) \($0.key) \($0.revision) (\($0.reason.rawValue))" }
    }

    @Test func aDesiredIndexIsBuiltAgainWhateverTheLastValidVersionSays() throws {
        let plan = Self.plan(desired: P.spec(), recovered: P.status(["vector": P.entry(.present)]))
        #expect(Self.operations(plan) == ["create doc/vector r2 (status file was invalid)"])
        let intent = try #require(plan.intents["doc"] ?? nil)
        #expect(intent.indexes["vector"]?.actualState == .creating)
    }

    @Test func withNoValidVersionTheDesiredIndexesAreCreated() throws {
        let plan = Self.plan(desired: P.spec(indexes: ["vector": .present, "fulltext": .absent]), recovered: nil)
        #expect(Self.operations(plan) == [
            "delete doc/fulltext  (status file was invalid)", "create doc/vector r2 (status file was invalid)",
        ])
        #expect(plan.intents["doc"] != nil, "the invalid file is written anew")
    }

    @Test func anIndexNoLongerWantedIsDeletedFromTheLastValidVersion() {
        let plan = Self.plan(
            desired: P.spec(indexes: ["vector": .present]),
            recovered: P.status(["vector": P.entry(.present), "fulltext": P.entry(.failed, retries: 3)]))
        #expect(Self.operations(plan) == [
            "delete doc/fulltext r2 (declared absent)", "create doc/vector r2 (status file was invalid)",
        ])
    }

    @Test func anOrphansIndexesAreDeletedFromTheLastValidVersion() throws {
        let plan = Self.plan(desired: nil, recovered: P.status(["vector": P.entry(.present), "fulltext": P.entry(.creating)]))
        #expect(Self.operations(plan) == ["delete doc/fulltext r2 (spec removed)", "delete doc/vector r2 (spec removed)"])
        let intent = try #require(plan.intents["doc"] ?? nil)
        #expect(intent.indexes.values.allSatisfy { $0.actualState == .deleting })
    }

    @Test func anOrphanWithNoValidVersionIsLeftAsItIs() {
        let plan = Self.plan(desired: nil, recovered: nil)
        #expect(plan.operations.isEmpty)
        #expect(plan.intents.isEmpty, "the file stays, reported, for a person to fix")
    }

    @Test func anOrphanWaitingOutItsBackoffStillGetsItsFileWrittenAnew() {
        let waiting = P.entry(.failed, desired: .absent, retries: 1, nextRetry: P.later)
        let plan = Self.plan(desired: nil, recovered: P.status(["vector": waiting]))
        #expect(plan.operations.isEmpty)
        #expect((plan.intents["doc"] ?? nil) == P.status(["vector": waiting]))
    }

    @Test func aHeldDocumentIsLeftAlone() {
        let plan = Planner.plan(
            desired: [:], held: ["doc"], actual: ["doc": P.status(["vector": P.entry(.present)])], rebuilding: ["doc"],
            now: P.now, settings: P.settings)
        #expect(plan.operations.isEmpty && plan.intents.isEmpty)
        #expect(plan.held[IndexKey("doc", "vector")] == "its spec cannot be read")
    }
}
