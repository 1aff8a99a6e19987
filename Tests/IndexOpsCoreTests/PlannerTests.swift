import IndexOpsCore
import Testing

/// Every row of DESIGN.md §4, as a table: given a spec and a status, the operation the
/// planner runs (or does not) and the intent it writes first.
@Suite("Planner")
struct PlannerTests {
    static let now = Timestamp("2026-11-29T10:00:00Z")!
    static let earlier = Timestamp("2026-11-29T09:00:00Z")!
    static let later = Timestamp("2026-11-29T11:00:00Z")!
    static let settings = PlannerSettings(indexTypes: ["vector", "fulltext"], maxRetries: 3)

    static func spec(_ id: String = "doc", indexes: [String: DesiredState]? = ["vector": .present],
                     retry: Timestamp? = nil, recreate: Timestamp? = nil, revision: String = "r2") -> DesiredDocument {
        var annotations: [String: String] = [:]
        if let retry { annotations[DocumentIndex.Metadata.retryAnnotation] = retry.text }
        if let recreate { annotations[DocumentIndex.Metadata.recreateAnnotation] = recreate.text }
        let index = DocumentIndex(
            metadata: .init(name: id, createdBy: "me", annotations: annotations),
            spec: .init(source: .path("docs/\(id).md"), indexes: indexes))
        return DesiredDocument(index: index, specFile: "specs/\(id).yaml", revisions: ["vector": revision, "fulltext": revision])
    }

    static func entry(_ state: ActualState, desired: DesiredState = .present, revision: String? = "r2",
                      retries: Int = 0, nextRetry: Timestamp? = nil) -> IndexStatus {
        IndexStatus(actualState: state, desiredState: desired, createdAt: earlier, updatedAt: earlier, lastReconciledAt: earlier,
                    errorMessage: state == .failed ? "boom" : nil, observedRevision: revision, retryCount: retries, nextRetryAt: nextRetry)
    }

    static func status(_ entries: [String: IndexStatus], id: String = "doc", retryHandled: Timestamp? = nil,
                       recreateHandled: Timestamp? = nil) -> DocumentStatus {
        DocumentStatus(documentId: id, specFile: "specs/\(id).yaml", indexes: entries,
                       lastHandledRetryAt: retryHandled, lastHandledRecreateAt: recreateHandled)
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var desired: DesiredDocument?
        var actual: DocumentStatus?
        var expected: String?
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "present, no status: create", desired: spec(), actual: nil, expected: "create doc/vector r2 (not created yet)"),
        Row(name: "present, absent: create", desired: spec(), actual: status(["vector": entry(.absent, revision: nil)]),
            expected: "create doc/vector r2 (not created yet)"),
        Row(name: "present, present, same revision: nothing", desired: spec(), actual: status(["vector": entry(.present)]), expected: nil),
        Row(name: "present, present, new revision: rebuild", desired: spec(revision: "r3"), actual: status(["vector": entry(.present)]),
            expected: "create doc/vector r3 (source or settings changed)"),
        Row(name: "present, recreate requested: rebuild", desired: spec(recreate: now), actual: status(["vector": entry(.present)]),
            expected: "create doc/vector r2 (recreate requested)"),
        Row(name: "present, recreate already handled: nothing", desired: spec(recreate: now),
            actual: status(["vector": entry(.present)], recreateHandled: now), expected: nil),
        Row(name: "failed, retry due: retry", desired: spec(), actual: status(["vector": entry(.failed, retries: 1, nextRetry: earlier)]),
            expected: "create doc/vector r2 (retry after failure)"),
        Row(name: "failed, retry not due: wait", desired: spec(), actual: status(["vector": entry(.failed, retries: 1, nextRetry: later)]),
            expected: nil),
        Row(name: "failed, retries exhausted: hold", desired: spec(), actual: status(["vector": entry(.failed, retries: 3)]), expected: nil),
        Row(name: "failed, retry requested: create at once", desired: spec(retry: now),
            actual: status(["vector": entry(.failed, retries: 3)], retryHandled: earlier), expected: "create doc/vector r2 (retry requested)"),
        Row(name: "failed, recreate requested: create at once", desired: spec(recreate: now),
            actual: status(["vector": entry(.failed, retries: 3)]), expected: "create doc/vector r2 (recreate requested)"),
        Row(name: "failed, retry request already handled: hold", desired: spec(retry: now),
            actual: status(["vector": entry(.failed, retries: 3)], retryHandled: now), expected: nil),
        Row(name: "failed, new revision: create at once", desired: spec(revision: "r3"),
            actual: status(["vector": entry(.failed, retries: 3, nextRetry: later)]), expected: "create doc/vector r3 (source or settings changed)"),
        Row(name: "declared absent, present: delete", desired: spec(indexes: ["vector": .absent]), actual: status(["vector": entry(.present)]),
            expected: "delete doc/vector r2 (declared absent)"),
        Row(name: "not declared in an explicit list: delete", desired: spec(indexes: ["fulltext": .absent]),
            actual: status(["vector": entry(.present)]), expected: "delete doc/vector r2 (declared absent)"),
        Row(name: "spec removed, present: delete", desired: nil, actual: status(["vector": entry(.present)]),
            expected: "delete doc/vector r2 (spec removed)"),
        Row(name: "spec removed, failed create: delete", desired: nil, actual: status(["vector": entry(.failed, retries: 3)]),
            expected: "delete doc/vector r2 (spec removed)"),
        Row(name: "declared absent, absent: remove entry", desired: spec(indexes: ["vector": .absent]),
            actual: status(["vector": entry(.absent)]), expected: nil),
        Row(name: "creating, no live operation: run again", desired: spec(), actual: status(["vector": entry(.creating)]),
            expected: "create doc/vector r2 (interrupted operation)"),
        Row(name: "deleting, no live operation: run again", desired: nil, actual: status(["vector": entry(.deleting, desired: .absent)]),
            expected: "delete doc/vector r2 (interrupted operation)"),
        Row(name: "deleting, spec flipped back to present: create", desired: spec(), actual: status(["vector": entry(.deleting, desired: .absent)]),
            expected: "create doc/vector r2 (interrupted operation)"),
        Row(name: "failed delete, retry due: delete again", desired: spec(indexes: ["vector": .absent]),
            actual: status(["vector": entry(.failed, desired: .absent, retries: 1, nextRetry: earlier)]), expected: "delete doc/vector r2 (retry after failure)"),
        Row(name: "failed delete, declared present again: create", desired: spec(),
            actual: status(["vector": entry(.failed, desired: .absent, retries: 1, nextRetry: later)]),
            expected: "create doc/vector r2 (source or settings changed)"),
        Row(name: "no indexes declared: every configured type", desired: spec(indexes: nil), actual: status(["vector": entry(.present)]),
            expected: "create doc/fulltext r2 (not created yet)"),
    ]

    private static func describe(_ plan: ReconcilePlan) -> String? {
        guard !plan.operations.isEmpty else { return nil }
        return plan.operations.map { "\($0.action.rawValue) \($0.key) \($0.revision) (\($0.reason.rawValue))" }.joined(separator: "; ")
    }

    @Test(arguments: rows)
    func row(_ row: Row) {
        var settings = Self.settings
        settings.maxDeletePercent = 100  // one document's only index: the brake has its own test
        let plan = Planner.plan(
            desired: row.desired.map { ["doc": $0] } ?? [:], held: [], actual: row.actual.map { ["doc": $0] } ?? [:],
            now: Self.now, settings: settings)
        #expect(Self.describe(plan) == row.expected)
        for op in plan.operations {
            let intent = plan.intents[op.key.documentId].flatMap { $0 }?.indexes[op.key.indexType]
            #expect(intent?.actualState == (op.action == .create ? .creating : .deleting), "the intent is written before the operation")
            #expect(intent?.lastReconciledAt == Self.now)
        }
    }

    @Test func orphanDeletesGoOnAtTheLongestBackoff() {
        let exhausted = Self.entry(.failed, desired: .absent, retries: 3)  // last reconciled an hour before now
        let due = Planner.plan(desired: [:], held: [], actual: ["doc": Self.status(["vector": exhausted])], now: Self.now, settings: Self.settings)
        #expect(due.operations.map(\.reason) == [.retry], "no spec is left to annotate, so it is never held for good")
        var recent = exhausted
        recent.lastReconciledAt = Self.now
        let waiting = Planner.plan(desired: [:], held: [], actual: ["doc": Self.status(["vector": recent])], now: Self.now, settings: Self.settings)
        #expect(waiting.operations.isEmpty)
        #expect(waiting.nextRetryAt == Self.now.adding(.seconds(900)))
        let declared = Planner.plan(desired: ["doc": Self.spec(indexes: ["vector": .absent])], held: [],
                                    actual: ["doc": Self.status(["vector": exhausted])], now: Self.now, settings: Self.settings)
        #expect(declared.operations.isEmpty, "a declared document is held: its spec can take a retry annotation")
    }

    @Test func waitingFailureSchedulesTheNextPass() {
        let plan = Planner.plan(desired: ["doc": Self.spec()], held: [],
                                actual: ["doc": Self.status(["vector": Self.entry(.failed, retries: 1, nextRetry: Self.later)])],
                                now: Self.now, settings: Self.settings)
        #expect(plan.isEmpty)
        #expect(plan.nextRetryAt == Self.later)
    }

    @Test func exhaustedFailureIsHeldWithItsReason() {
        let plan = Planner.plan(desired: ["doc": Self.spec()], held: [],
                                actual: ["doc": Self.status(["vector": Self.entry(.failed, retries: 3)])], now: Self.now, settings: Self.settings)
        #expect(plan.held[IndexKey("doc", "vector")] == "failed 3 times (maxRetries 3); add a retry annotation to try again")
        #expect(plan.intents.isEmpty)
    }

    @Test func retryRequestResetsTheCountAndIsHandledOnce() throws {
        let desired = ["doc": Self.spec(retry: Self.now)]
        let first = Planner.plan(desired: desired, held: [], actual: ["doc": Self.status(["vector": Self.entry(.failed, retries: 3)])],
                                 now: Self.now, settings: Self.settings)
        let intent = try #require(first.intents["doc"] ?? nil)
        #expect(intent.indexes["vector"]?.retryCount == 0)
        #expect(intent.lastHandledRetryAt == Self.now)
        let op = try #require(first.operations.first)
        let failedAgain = try #require(intent.recording(.failed("still down"), of: op, now: Self.now, settings: Self.settings))
        let second = Planner.plan(desired: desired, held: [], actual: ["doc": failedAgain], now: Self.later, settings: Self.settings)
        #expect(second.operations.map(\.reason) == [.retry], "the annotation is not acted on twice; the ordinary retry goes on")
        #expect(failedAgain.indexes["vector"]?.retryCount == 1)
    }

    @Test func absentEntriesAndEmptyFilesAreRemoved() {
        let plan = Planner.plan(desired: ["doc": Self.spec(indexes: ["vector": .absent])], held: [],
                                actual: ["doc": Self.status(["vector": Self.entry(.absent)])], now: Self.now, settings: Self.settings)
        #expect(plan.intents.keys.sorted() == ["doc"])
        #expect(plan.intents["doc"] == .some(nil), "the file is removed when no entry is left")
    }

    @Test func inFlightOperationsAreNotStartedTwice() {
        let plan = Planner.plan(desired: ["doc": Self.spec()], held: [], actual: ["doc": Self.status(["vector": Self.entry(.creating)])],
                                inFlight: [IndexKey("doc", "vector")], now: Self.now, settings: Self.settings)
        #expect(plan.isEmpty)
    }

    @Test func heldDocumentsAreLeftExactlyAsTheyAre() {
        let plan = Planner.plan(desired: [:], held: ["doc"], actual: ["doc": Self.status(["vector": Self.entry(.present)])],
                                now: Self.now, settings: Self.settings)
        #expect(plan.isEmpty)
        #expect(plan.held == [IndexKey("doc", "vector"): "its spec cannot be read"])
    }

    @Test func unconfiguredIndexTypesAreHeld() {
        let plan = Planner.plan(desired: [:], held: [], actual: ["doc": Self.status(["graph": Self.entry(.present)])],
                                now: Self.now, settings: Self.settings)
        #expect(plan.operations.isEmpty)
        #expect(plan.held == [IndexKey("doc", "graph"): "index type \"graph\" is not configured"])
    }

    @Test func massDeleteBrake() {
        let actual = Dictionary(uniqueKeysWithValues: ["a", "b", "c", "d"].map { ($0, Self.status(["vector": Self.entry(.present)], id: $0)) })
        let keep = ["a": Self.spec("a"), "b": Self.spec("b", revision: "r9")]
        let plan = Planner.plan(desired: keep, held: [], actual: actual, now: Self.now, settings: Self.settings)
        #expect(plan.brake == nil, "2 of 4 is not more than 50 %")
        #expect(plan.operations.map(\.key.documentId) == ["b", "c", "d"])

        let wiped = Planner.plan(desired: ["a": Self.spec("a", revision: "r9")], held: [], actual: actual, now: Self.now, settings: Self.settings)
        #expect(wiped.brake == MassDeleteBrake(wouldDelete: 3, present: 4, maxDeletePercent: 50))
        #expect(wiped.operations.map(\.key.documentId) == ["a"], "everything else is still reconciled")
        #expect(wiped.intents.keys.sorted() == ["a"], "no deleting intent is written for held deletes")
        #expect(wiped.held[IndexKey("c", "vector")] == "mass-delete brake")

        var allow = Self.settings
        allow.allowMassDelete = true
        let allowed = Planner.plan(desired: [:], held: [], actual: actual, now: Self.now, settings: allow)
        #expect(allowed.brake == nil)
        #expect(allowed.operations.count == 4)
    }

    @Test func statusFollowsTheSpecFileAndCollection() throws {
        var desired = Self.spec()
        desired.index.metadata.collection = "col"
        desired.specFile = "specs/moved.yaml"
        let plan = Planner.plan(desired: ["doc": desired], held: [], actual: ["doc": Self.status(["vector": Self.entry(.present)])],
                                now: Self.now, settings: Self.settings)
        #expect(plan.operations.isEmpty)
        let intent = try #require(plan.intents["doc"] ?? nil)
        #expect(intent.specFile == "specs/moved.yaml")
        #expect(intent.collection == "col")
    }
}

@Suite("Recording outcomes")
struct OutcomeTests {
    let op = PlannedOperation(key: IndexKey("doc", "vector"), action: .create, revision: "r2", reason: .missing)
    let settings = PlannerSettings(indexTypes: ["vector"], maxRetries: 3, retryBackoff: .seconds(30), maxRetryBackoff: .seconds(90))

    @Test func successMakesThePresentEntry() throws {
        let intent = DocumentStatus(documentId: "doc", indexes: ["vector": PlannerTests.entry(.creating, revision: nil)])
        let done = try #require(intent.recording(.succeeded(.object(["chunks": .int(3)])), of: op, now: PlannerTests.now, settings: settings))
        let entry = try #require(done.indexes["vector"])
        #expect(entry.actualState == .present)
        #expect(entry.observedRevision == "r2")
        #expect(entry.indexData == .object(["chunks": .int(3)]))
        #expect(entry.updatedAt == PlannerTests.now)
        #expect(entry.createdAt == PlannerTests.earlier, "createdAt keeps the first creation")
    }

    @Test func failuresBackOffAndStop() throws {
        var status = DocumentStatus(documentId: "doc", indexes: ["vector": PlannerTests.entry(.creating, revision: nil)])
        var delays: [Double] = []
        for _ in 0..<3 {
            status = try #require(status.recording(.failed("refused"), of: op, now: PlannerTests.now, settings: settings))
            delays.append((status.indexes["vector"]?.nextRetryAt?.secondsSinceEpoch ?? 0) - PlannerTests.now.secondsSinceEpoch)
        }
        #expect(delays == [30, 60, -PlannerTests.now.secondsSinceEpoch], "30 s, then doubled; none after maxRetries")
        #expect(status.indexes["vector"]?.retryCount == 3)
        #expect(status.indexes["vector"]?.errorMessage == "refused")
        #expect(settings.backoff(afterFailures: 5, jitter: 1) == .seconds(90), "capped at maxRetryBackoff")
        #expect(settings.backoff(afterFailures: 1, jitter: 1.1) == .milliseconds(33_000))
    }

    @Test func deleteRemovesTheEntryAndThenTheFile() {
        let delete = PlannedOperation(key: IndexKey("doc", "vector"), action: .delete, revision: "r2", reason: .orphaned)
        let two = DocumentStatus(documentId: "doc", indexes: ["vector": PlannerTests.entry(.deleting), "fulltext": PlannerTests.entry(.present)])
        #expect(two.recording(.succeeded(.null), of: delete, now: PlannerTests.now, settings: settings)?.indexes.keys.sorted() == ["fulltext"])
        let one = DocumentStatus(documentId: "doc", indexes: ["vector": PlannerTests.entry(.deleting)])
        #expect(one.recording(.succeeded(.null), of: delete, now: PlannerTests.now, settings: settings) == nil)
    }
}

@Suite("Status files")
struct StatusFileTests {
    @Test func canonicalFormRoundTrips() throws {
        let status = DocumentStatus(
            documentId: "doc123", collection: "col456", specFile: "specs/doc123.yaml",
            indexes: ["vector": IndexStatus(
                actualState: .present, desiredState: .present, createdAt: Timestamp("2026-11-29T10:00:03Z"),
                updatedAt: Timestamp("2026-11-29T10:00:05Z")!, lastReconciledAt: Timestamp("2026-11-29T10:00:05Z")!,
                indexData: .object(["chunks": .int(12)]), observedRevision: "3f2a", retryCount: 0)],
            lastHandledRetryAt: Timestamp("2026-11-29T10:00:00Z"))
        #expect(status.fileText == """
            {
              "apiVersion": "indexops/v1",
              "collection": "col456",
              "documentId": "doc123",
              "indexes": {
                "vector": {
                  "actualState": "present",
                  "createdAt": "2026-11-29T10:00:03Z",
                  "desiredState": "present",
                  "errorMessage": null,
                  "indexData": {
                    "chunks": 12
                  },
                  "lastReconciledAt": "2026-11-29T10:00:05Z",
                  "nextRetryAt": null,
                  "observedRevision": "3f2a",
                  "retryCount": 0,
                  "updatedAt": "2026-11-29T10:00:05Z"
                }
              },
              "kind": "DocumentIndexStatus",
              "lastHandledRecreateAt": null,
              "lastHandledRetryAt": "2026-11-29T10:00:00Z",
              "specFile": "specs/doc123.yaml"
            }

            """)
        #expect(try DocumentStatus(fileText: status.fileText) == status)
    }

    /// The fan-out folder is the first two hex digits of SHA-256 of the id: these paths were
    /// computed with `printf %s ID | sha256sum`, and must never change (every repository's
    /// status files live there).
    @Test func fanOutPath() {
        #expect(Digests.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digests.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digests.sha256Hex(String(repeating: "a", count: 1000)).hasPrefix("41edece42d63e8d9bf515a9ba6932e1c"))
        let expected = ["doc123": "c3", "doc-4120": "63", "a": "ca", "handbook.intro": "ae", "x9_y": "16"]
        for (id, folder) in expected {
            #expect(DocumentStatus.path(for: id) == "status/\(folder)/\(id).json")
        }
    }

    @Test func timestampsFormatInUTC() {
        #expect(Timestamp(secondsSinceEpoch: 1_795_946_405.7).text == "2026-11-29T10:00:05Z")
        #expect(Timestamp(secondsSinceEpoch: 951_782_400).text == "2000-02-29T00:00:00Z")
        #expect(Timestamp("2026-11-29T10:00:00Z")!.adding(.seconds(90)).text == "2026-11-29T10:01:30Z")
    }

    @Test func brokenStatusFilesAreNamed() {
        #expect(throws: StatusFileError("not valid JSON")) { try DocumentStatus(fileText: "{") }
        #expect(throws: StatusFileError("kind is not DocumentIndexStatus")) { try DocumentStatus(fileText: "{}") }
    }
}
