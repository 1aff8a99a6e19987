import IndexOpsCore
import Testing
import YAML

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

    static func specText(_ id: String) -> String {
        "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: \(id)\n  createdBy: me\nspec:\n  source: docs/\(id).md\n"
    }

    static func entry(_ state: ActualState, desired: DesiredState = .present, revision: String? = "r2",
                      retries: Int = 0, nextRetry: Timestamp? = nil) -> IndexStatus {
        IndexStatus(actualState: state, desiredState: desired, createdAt: earlier, updatedAt: earlier, lastReconciledAt: earlier,
                    errorMessage: state == .failed ? "boom" : nil, observedRevision: revision, retryCount: retries, nextRetryAt: nextRetry)
    }

    static func status(_ entries: [String: IndexStatus], id: String = "doc", retryHandled: Timestamp? = nil,
                       recreateHandled: Timestamp? = nil) -> DocumentStatus {
        DocumentStatus(documentId: id, specFile: "specs/\(id).yaml", source: .path("docs/\(id).md"), indexes: entries,
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
            expected: "create doc/vector r2 (not created yet)"),
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
        // One document's only index: below minDeleteCount, so the brake (its own test) stays off.
        let plan = Planner.plan(
            desired: row.desired.map { ["doc": $0] } ?? [:], held: [], actual: row.actual.map { ["doc": $0] } ?? [:],
            now: Self.now, settings: Self.settings)
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
        var settings = Self.settings
        settings.minDeleteCount = 0
        let actual = Dictionary(uniqueKeysWithValues: ["a", "b", "c", "d"].map { ($0, Self.status(["vector": Self.entry(.present)], id: $0)) })
        let keep = ["a": Self.spec("a"), "b": Self.spec("b", revision: "r9")]
        let plan = Planner.plan(desired: keep, held: [], actual: actual, now: Self.now, settings: settings)
        #expect(plan.brake == nil, "2 of 4 is not more than 50 %")
        #expect(plan.operations.map(\.key.documentId) == ["b", "c", "d"])

        let wiped = Planner.plan(desired: ["a": Self.spec("a", revision: "r9")], held: [], actual: actual, now: Self.now, settings: settings)
        #expect(wiped.brake == MassDeleteBrake(wouldDelete: 3, present: 4, maxDeletePercent: 50))
        #expect(wiped.operations.map(\.key.documentId) == ["a"], "everything else is still reconciled")
        #expect(wiped.intents.keys.sorted() == ["a"], "no deleting intent is written for held deletes")
        #expect(wiped.held[IndexKey("c", "vector")] == "mass-delete brake")

        var allow = settings
        allow.allowMassDelete = true
        let allowed = Planner.plan(desired: [:], held: [], actual: actual, now: Self.now, settings: allow)
        #expect(allowed.brake == nil)
        #expect(allowed.operations.count == 4)
    }

    struct BrakeRow: Sendable, CustomTestStringConvertible {
        var present: Int
        var deleted: Int
        var minDeleteCount: Int
        var brakes: Bool
        var testDescription: String { "\(deleted) of \(present) deleted, minDeleteCount \(minDeleteCount): \(brakes ? "held" : "deleted")" }
    }

    /// The brake applies only above `minDeleteCount` present indexes (default 10): deleting
    /// the only documents of a small repository is not a wiped specs folder.
    @Test(arguments: [
        BrakeRow(present: 1, deleted: 1, minDeleteCount: 10, brakes: false),
        BrakeRow(present: 10, deleted: 10, minDeleteCount: 10, brakes: false),
        BrakeRow(present: 11, deleted: 11, minDeleteCount: 10, brakes: true),
        BrakeRow(present: 11, deleted: 5, minDeleteCount: 10, brakes: false),
        BrakeRow(present: 11, deleted: 6, minDeleteCount: 10, brakes: true),
        BrakeRow(present: 4, deleted: 3, minDeleteCount: 3, brakes: true),
        BrakeRow(present: 3, deleted: 3, minDeleteCount: 3, brakes: false),
        BrakeRow(present: 1, deleted: 1, minDeleteCount: 0, brakes: true),
    ])
    func brakeAppliesOnlyAboveMinDeleteCount(_ row: BrakeRow) {
        let ids = (0..<row.present).map { "doc" + ($0 < 10 ? "0" : "") + "\($0)" }
        let actual = Dictionary(uniqueKeysWithValues: ids.map { ($0, Self.status(["vector": Self.entry(.present)], id: $0)) })
        let kept = Dictionary(uniqueKeysWithValues: ids.dropFirst(row.deleted).map { ($0, Self.spec($0)) })
        var settings = Self.settings
        settings.minDeleteCount = row.minDeleteCount
        let plan = Planner.plan(desired: kept, held: [], actual: actual, now: Self.now, settings: settings)
        if row.brakes {
            #expect(plan.brake == MassDeleteBrake(wouldDelete: row.deleted, present: row.present, maxDeletePercent: 50))
            #expect(plan.operations.isEmpty)
        } else {
            #expect(plan.brake == nil)
            #expect(plan.operations.count == row.deleted)
        }
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
        #expect(intent.source == .path("docs/doc.md"))
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
            documentId: "doc123", collection: "col456", specFile: "specs/doc123.yaml", source: .path("docs/doc123.md"),
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
              "source": {
                "path": "docs/doc123.md"
              },
              "specFile": "specs/doc123.yaml"
            }

            """)
        #expect(try DocumentStatus(fileText: status.fileText) == status)
    }

    /// The source is kept so that an orphan's delete gets what its create got; files written
    /// before it was kept still load, without one.
    @Test func sourceIsKeptAndOptional() throws {
        let uri = DocumentStatus(documentId: "doc", source: .uri("s3://bucket/doc.pdf", revision: "v7"))
        #expect(uri.fileText.contains("\"source\": {\n    \"revision\": \"v7\",\n    \"uri\": \"s3://bucket/doc.pdf\"\n  }"))
        #expect(try DocumentStatus(fileText: uri.fileText) == uri)
        let unrevised = DocumentStatus(documentId: "doc", source: .uri("s3://bucket/doc.pdf", revision: nil))
        #expect(try DocumentStatus(fileText: unrevised.fileText) == unrevised)
        let old = #"{"apiVersion": "indexops/v1", "documentId": "doc", "indexes": {}, "kind": "DocumentIndexStatus", "specFile": "specs/doc.yaml"}"#
        #expect(try DocumentStatus(fileText: old).source == nil)
        #expect(throws: StatusFileError("source path \"../etc/passwd\" leaves the repository (\"..\" is not allowed)", field: "source")) {
            try DocumentStatus(fileText: #"{"apiVersion": "indexops/v1", "documentId": "doc", "indexes": {}, "kind": "DocumentIndexStatus", "source": {"path": "../etc/passwd"}}"#)
        }
        #expect(throws: StatusFileError("must be {\"path\"} or {\"uri\", \"revision\"}", field: "source")) {
            try DocumentStatus(fileText: #"{"apiVersion": "indexops/v1", "documentId": "doc", "indexes": {}, "kind": "DocumentIndexStatus", "source": "docs/doc.md"}"#)
        }
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
        #expect(throws: StatusFileError("must be \"indexops/v1\"", field: "apiVersion")) { try DocumentStatus(fileText: "{}") }
    }
}

/// The rules added for passes that plan only what changed: terminal failures, interrupted
/// operations counted as attempts, a subset of documents, due times per document.
@Suite("Planner: terminal failures, interruptions, subsets")
struct PlannerRuleTests {
    static let settings = PlannerSettings(indexTypes: ["vector"], maxRetries: 3, retryBackoff: .seconds(30), configFingerprint: "config-1")
    let now = PlannerTests.now

    func failed(terminalConfig: String?, revision: String = "r2", retries: Int = 1) -> DocumentStatus {
        var entry = PlannerTests.entry(.failed, revision: revision, retries: retries)
        entry.terminalConfig = terminalConfig
        return PlannerTests.status(["vector": entry])
    }

    func describe(_ plan: ReconcilePlan) -> String {
        plan.operations.map { "\($0.action.rawValue) \($0.key) \($0.revision) (\($0.reason.rawValue))" }.joined(separator: "; ")
    }

    @Test func terminalFailureWaitsForAChange() {
        let held = Planner.plan(desired: ["doc": PlannerTests.spec()], held: [], actual: ["doc": failed(terminalConfig: "config-1")],
                                now: now, settings: Self.settings)
        #expect(held.operations.isEmpty)
        #expect(held.dueAt.isEmpty, "no backoff: nothing is due until something changes")
        #expect(held.held[IndexKey("doc", "vector")]?.hasPrefix("fails until the spec, the source or the configuration changes") == true)

        let newConfig = Planner.plan(desired: ["doc": PlannerTests.spec()], held: [], actual: ["doc": failed(terminalConfig: "config-0")],
                                     now: now, settings: Self.settings)
        #expect(describe(newConfig) == "create doc/vector r2 (configuration changed)")
        let newSource = Planner.plan(desired: ["doc": PlannerTests.spec(revision: "r3")], held: [],
                                     actual: ["doc": failed(terminalConfig: "config-1")], now: now, settings: Self.settings)
        #expect(describe(newSource) == "create doc/vector r3 (source or settings changed)")
        let asked = Planner.plan(desired: ["doc": PlannerTests.spec(retry: now)], held: [],
                                 actual: ["doc": failed(terminalConfig: "config-1")], now: now, settings: Self.settings)
        #expect(describe(asked) == "create doc/vector r2 (retry requested)")
    }

    @Test func recordingATerminalFailureSetsNoRetry() throws {
        let op = PlannedOperation(key: IndexKey("doc", "vector"), action: .create, revision: "r2", reason: .missing)
        let intent = DocumentStatus(documentId: "doc", indexes: ["vector": PlannerTests.entry(.creating)])
        let failure = OperationFailure("the source docs/doc.md is 40 MiB, over limits.maxSourceSize (32 MiB)", terminal: true)
        let entry = try #require(intent.recording(.failed(failure), of: op, now: now, settings: Self.settings)?.indexes["vector"])
        #expect(entry.actualState == .failed)
        #expect(entry.nextRetryAt == nil)
        #expect(entry.terminalConfig == "config-1")
        #expect(entry.retryCount == 1)
        let healed = try #require(DocumentStatus(documentId: "doc", indexes: ["vector": entry])
            .recording(.succeeded(.object([:])), of: op, now: now, settings: Self.settings)?.indexes["vector"])
        #expect(healed.terminalConfig == nil)
    }

    @Test func interruptedOperationsCountAndBackOff() throws {
        func creating(retries: Int, secondsAgo: Double) -> DocumentStatus {
            var entry = PlannerTests.entry(.creating, retries: retries)
            entry.lastReconciledAt = Timestamp(secondsSinceEpoch: now.secondsSinceEpoch - secondsAgo)
            return PlannerTests.status(["vector": entry])
        }
        let desired = ["doc": PlannerTests.spec()]
        let first = Planner.plan(desired: desired, held: [], actual: ["doc": creating(retries: 0, secondsAgo: 1)], now: now, settings: Self.settings)
        #expect(describe(first) == "create doc/vector r2 (interrupted operation)", "one crash heals at once")
        #expect((first.intents["doc"] ?? nil)?.indexes["vector"]?.retryCount == 1, "and counts as an attempt")

        let second = Planner.plan(desired: desired, held: [], actual: ["doc": creating(retries: 1, secondsAgo: 10)], now: now, settings: Self.settings)
        #expect(second.operations.isEmpty, "the usual backoff applies between interruptions")
        #expect(second.dueAt["doc"] == Timestamp(secondsSinceEpoch: now.secondsSinceEpoch + 20))
        let later = Planner.plan(desired: desired, held: [], actual: ["doc": creating(retries: 1, secondsAgo: 31)], now: now, settings: Self.settings)
        #expect(describe(later) == "create doc/vector r2 (interrupted operation)")

        let loop = Planner.plan(desired: desired, held: [], actual: ["doc": creating(retries: 2, secondsAgo: 3600)], now: now, settings: Self.settings)
        #expect(loop.operations.isEmpty, "a crash loop ends")
        let entry = try #require((loop.intents["doc"] ?? nil)?.indexes["vector"])
        #expect(entry.actualState == .failed)
        #expect(entry.errorMessage == "interrupted 3 times (the controller stopped while it ran); add a retry annotation to try again")
    }

    @Test func anInterruptedBuildOfAnOlderRevisionIsANewBuild() {
        let entry = PlannerTests.entry(.creating, revision: "r1", retries: 2)
        let plan = Planner.plan(desired: ["doc": PlannerTests.spec(revision: "r2")], held: [], actual: ["doc": PlannerTests.status(["vector": entry])],
                                now: now, settings: Self.settings)
        #expect(describe(plan) == "create doc/vector r2 (source or settings changed)")
        #expect((plan.intents["doc"] ?? nil)?.indexes["vector"]?.retryCount == 0)
        #expect((plan.intents["doc"] ?? nil)?.indexes["vector"]?.observedRevision == "r2", "the intent records what it builds")
    }

    @Test func aSubsetIsPlannedAndTheBrakeCountsTheWholeRepository() {
        let actual = Dictionary(uniqueKeysWithValues: ["a", "b", "c"].map { ($0, PlannerTests.status(["vector": PlannerTests.entry(.present)], id: $0)) })
        var asked = 0
        let small = Planner.plan(ids: ["a"], desired: [:], held: [], actual: actual, presentIndexes: { asked += 1; return 100 },
                                 now: now, settings: PlannerSettings(indexTypes: ["vector"]))
        #expect(small.operations.map(\.key.documentId) == ["a"], "only the ids asked for are planned")
        #expect(small.brake == nil, "1 of 100 present indexes is under the brake")
        #expect(asked == 1)
        let big = Planner.plan(ids: ["a", "b"], desired: [:], held: [], actual: actual, presentIndexes: { 3 },
                               now: now, settings: PlannerSettings(indexTypes: ["vector"], minDeleteCount: 0))
        #expect(big.brake == MassDeleteBrake(wouldDelete: 2, present: 3, maxDeletePercent: 50))
        var notAsked = true
        _ = Planner.plan(ids: ["a"], desired: ["a": PlannerTests.spec("a")], held: [], actual: actual,
                         presentIndexes: { notAsked = false; return 0 }, now: now, settings: PlannerSettings(indexTypes: ["vector"]))
        #expect(notAsked, "without a delete, the count is never asked for")
    }
}

@Suite("Resolving declarations")
struct SpecResolutionTests {
    static func resource(_ id: String, file: String = "specs/a.yaml", source: Source = .path("docs/a.md"),
                         indexes: [String: DesiredState]? = nil, line: Int = 1) -> SpecResource {
        SpecResource(
            index: DocumentIndex(metadata: .init(name: id, createdBy: "me"), spec: .init(source: source, indexes: indexes)),
            file: file, mark: Mark(line: line, column: 1), nameMark: Mark(line: line + 3, column: 9),
            sourceMark: Mark(line: line + 6, column: 11), indexMarks: ["graph": Mark(line: line + 8, column: 5)])
    }

    static let file = SpecResolution.SourceLookup(entry: .file, blob: "1111111111111111111111111111111111111111")

    @Test func oneDeclarationWithAFileSource() throws {
        let (resolution, diagnostics) = SpecResolution.resolve(
            declarations: [Self.resource("doc")], heldByFile: false, source: { _ in Self.file }, indexTypes: ["vector": "v1"])
        #expect(diagnostics.isEmpty)
        guard case .desired(let doc) = resolution else { Issue.record("not desired: \(resolution)"); return }
        #expect(doc.sourceBlob == Self.file.blob)
        #expect(doc.revisions["vector"] == String(Digests.sha256Hex("blob:\(Self.file.blob!)\nv1").prefix(40)))
    }

    @Test func uriSourceRevisionAndSettingsMakeTheRevision() {
        let (resolution, _) = SpecResolution.resolve(
            declarations: [Self.resource("doc", source: .uri("s3://b/k", revision: "v7"))], heldByFile: false,
            source: { _ in Issue.record("a URI is not looked up"); return Self.file }, indexTypes: ["vector": "v1", "fulltext": "f1"])
        guard case .desired(let doc) = resolution else { Issue.record("not desired"); return }
        #expect(doc.revisions["vector"] == String(Digests.sha256Hex("uri:s3://b/k#v7\nv1").prefix(40)))
        #expect(doc.revisions["vector"] != doc.revisions["fulltext"])
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var declarations: [SpecResource]
        var heldByFile = false
        var source = SpecResolutionTests.file
        var expected: String
        var codes: [String] = []
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "declared nowhere: an orphan", declarations: [], expected: "undeclared"),
        Row(name: "declared nowhere, named by a broken file: held", declarations: [], heldByFile: true, expected: "held"),
        Row(name: "declared twice: both held", declarations: [resource("doc"), resource("doc", file: "specs/b.yaml")],
            expected: "held", codes: ["duplicateId", "duplicateId"]),
        Row(name: "in a file that broke later on: held", declarations: [resource("doc")], heldByFile: true, expected: "held"),
        Row(name: "missing source: held", declarations: [resource("doc")], source: .init(entry: .missing), expected: "held", codes: ["source"]),
        Row(name: "symlinked source: held", declarations: [resource("doc")], source: .init(entry: .symlink), expected: "held", codes: ["source"]),
        Row(name: "source is a folder: held", declarations: [resource("doc")], source: .init(entry: .directory), expected: "held", codes: ["source"]),
        Row(name: "unconfigured type: reported, still reconciled", declarations: [resource("doc", indexes: ["graph": .present])],
            expected: "desired", codes: ["unknownIndexType"]),
    ]

    @Test(arguments: rows)
    func row(_ row: Row) {
        let (resolution, diagnostics) = SpecResolution.resolve(
            declarations: row.declarations, heldByFile: row.heldByFile, source: { _ in row.source }, indexTypes: ["vector": "v1"])
        let name = switch resolution { case .desired: "desired"; case .held: "held"; case .undeclared: "undeclared" }
        #expect(name == row.expected)
        #expect(diagnostics.map(\.code) == row.codes)
    }

    @Test func theSameChecksAsTheWholeSet() {
        let a = SpecFile(path: "specs/a.yaml", bytes: Array(PlannerTests.specText("doc").utf8))
        let b = SpecFile(path: "specs/b.yaml", bytes: Array(PlannerTests.specText("doc").utf8))
        let whole = SpecSetCheck.check([a, b], indexTypes: ["vector"]) { _, _ in .missing }
        let (_, perID) = SpecResolution.resolve(
            declarations: a.resources + b.resources, heldByFile: false, source: { _ in .init(entry: .missing) }, indexTypes: ["vector": "v1"])
        #expect(whole == perID)
        #expect(whole.count == 4, "two duplicates and two missing sources")
    }
}

@Suite("Status commits")
struct StatusCommitTests {
    @Test func messageSaysWhatChangedForPeopleThenTools() {
        var commit = StatusCommit(statusDir: "status", specCommit: "1c9e")
        let op = PlannedOperation(key: IndexKey("doc124", "fulltext"), action: .create, revision: "r", reason: .missing)
        let creating = DocumentStatus(documentId: "doc123", indexes: ["vector": PlannerTests.entry(.creating)])
        let present = DocumentStatus(documentId: "doc123", indexes: ["vector": PlannerTests.entry(.present)])
        commit.record(id: "doc123", from: creating, to: present)
        commit.record(id: "doc124", from: DocumentStatus(documentId: "doc124", indexes: ["fulltext": PlannerTests.entry(.creating)]),
                      to: DocumentStatus(documentId: "doc124", indexes: ["fulltext": PlannerTests.entry(.failed)]),
                      operation: op, outcome: .failed("connection refused\nat line 2"))
        #expect(commit.message(.results) == """
            indexops: 2 indexes reconciled (1 created, 1 failed)

            doc123/vector: creating -> present
            doc124/fulltext: creating -> failed: connection refused

            Indexops-Spec-Commit: 1c9e

            """)
        #expect(commit.files.map(\.path) == [DocumentStatus.path(for: "doc123"), DocumentStatus.path(for: "doc124")])
    }

    @Test func intentsRemovalsAndLongLists() {
        var commit = StatusCommit(statusDir: "status", specCommit: "abc")
        for i in 0..<205 {
            commit.record(id: "d\(i)", from: nil, to: DocumentStatus(documentId: "d\(i)", indexes: ["vector": PlannerTests.entry(.creating)]))
        }
        commit.record(id: "gone", from: DocumentStatus(documentId: "gone", indexes: ["vector": PlannerTests.entry(.deleting)]), to: nil)
        let message = commit.message(.intents)
        #expect(message.hasPrefix("indexops: 205 operations started\n\n"))
        #expect(message.contains("\n… and 6 more\n"))
        #expect(commit.files.first { $0.path == DocumentStatus.path(for: "gone") }?.text == nil, "an empty status is removed")

        var diagnostics = StatusCommit(statusDir: "status", specCommit: "abc")
        diagnostics.extra["status/_diagnostics.json"] = DiagnosticsFile.text([], brake: nil)
        #expect(diagnostics.message(.intents).hasPrefix("indexops: spec diagnostics updated\n"))
    }

    @Test func diagnosticsFileIsSortedAndStable() {
        let b = Diagnostic(file: "specs/b.yaml", line: 2, column: 3, code: "syntax", message: "bad")
        let a = Diagnostic(file: "specs/a.yaml", line: 9, column: 1, severity: .warning, code: "symlink", message: "link")
        let text = DiagnosticsFile.text([b, a], brake: nil)
        #expect(text == DiagnosticsFile.text([a, b], brake: nil))
        #expect(text.range(of: "specs/a.yaml")!.lowerBound < text.range(of: "specs/b.yaml")!.lowerBound)
        #expect(text.hasSuffix("\"massDeleteBrake\": null\n}\n"))
    }
}
