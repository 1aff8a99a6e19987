import IndexOpsCore
import Testing

/// Status files are input too (DESIGN.md §4): every field is checked, and an error names it.
@Suite("Status file rules")
struct StatusFileRulesTests {
    /// A valid status file with one entry, `graph`.
    static let valid: JSONValue = {
        let status = DocumentStatus(
            documentId: "doc123", collection: "col456", specFile: "specs/doc123.yaml",
            indexes: ["graph": IndexStatus(
                actualState: .failed, desiredState: .present, createdAt: Timestamp("2026-11-29T10:00:00Z"),
                updatedAt: Timestamp("2026-11-29T10:00:05Z")!, lastReconciledAt: Timestamp("2026-11-29T10:00:05Z")!,
                errorMessage: "boom", indexData: .object(["nodes": .int(3)]), observedRevision: "3f2a", retryCount: 1,
                nextRetryAt: Timestamp("2026-11-29T10:00:35Z"))],
            lastHandledRetryAt: Timestamp("2026-11-29T09:00:00Z"))
        return JSONValue(parsing: status.fileText)!
    }()

    static func with(_ path: [String], _ value: JSONValue?) -> String {
        func set(_ json: JSONValue, _ path: ArraySlice<String>) -> JSONValue {
            guard case .object(var members) = json, let key = path.first else { return json }
            if path.count == 1 {
                members[key] = value
            } else {
                members[key] = set(members[key] ?? .object([:]), path.dropFirst())
            }
            return .object(members)
        }
        return set(valid, path[...]).canonicalText + "\n"
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var path: [String]
        var value: JSONValue?
        var error: String
        var testDescription: String { error }
    }

    static let entry = ["indexes", "graph"]

    static let rows: [Row] = [
        Row(path: entry + ["retryCount"], value: .int(Int64.max),
            error: "indexes.graph.retryCount: 9223372036854775807 is out of range (0 to 1000000)"),
        Row(path: entry + ["retryCount"], value: .int(-1), error: "indexes.graph.retryCount: -1 is out of range (0 to 1000000)"),
        Row(path: entry + ["retryCount"], value: .int(1_000_001), error: "indexes.graph.retryCount: 1000001 is out of range (0 to 1000000)"),
        Row(path: entry + ["retryCount"], value: .string("3"), error: "indexes.graph.retryCount: must be an integer"),
        Row(path: entry + ["retryCount"], value: .double(1.5), error: "indexes.graph.retryCount: must be an integer"),
        Row(path: entry + ["retryCount"], value: nil, error: "indexes.graph.retryCount: must be an integer"),
        Row(path: entry + ["actualState"], value: .string("bogus"),
            error: "indexes.graph.actualState: must be one of absent, creating, present, deleting, failed"),
        Row(path: entry + ["desiredState"], value: .string("maybe"), error: "indexes.graph.desiredState: must be present or absent"),
        Row(path: entry + ["updatedAt"], value: .string("yesterday"),
            error: "indexes.graph.updatedAt: must be an RFC 3339 time, like 2026-11-29T10:00:00Z"),
        Row(path: entry + ["lastReconciledAt"], value: nil, error: "indexes.graph.lastReconciledAt: must be a time"),
        Row(path: entry + ["createdAt"], value: .string("1969-12-31T23:59:59Z"), error: "indexes.graph.createdAt: 1969-12-31T23:59:59Z is before 1970"),
        Row(path: entry + ["nextRetryAt"], value: .int(5), error: "indexes.graph.nextRetryAt: must be an RFC 3339 time, like 2026-11-29T10:00:00Z"),
        Row(path: entry + ["errorMessage"], value: .int(5), error: "indexes.graph.errorMessage: must be a string or null"),
        Row(path: entry + ["errorMessage"], value: .string(String(repeating: "x", count: 4_097)),
            error: "indexes.graph.errorMessage: is longer than 4096 bytes"),
        Row(path: entry + ["observedRevision"], value: .string(""),
            error: "indexes.graph.observedRevision: must be 1 to 1024 bytes without control characters"),
        Row(path: entry + ["observedRevision"], value: .string("3f2a\nINFO forged"),
            error: "indexes.graph.observedRevision: must be 1 to 1024 bytes without control characters"),
        Row(path: entry + ["indexData"], value: .array([]), error: "indexes.graph.indexData: must be an object"),
        Row(path: entry + ["colour"], value: .string("red"), error: "indexes.graph.colour: unknown field"),
        Row(path: ["indexes", "Graph!"], value: .object([:]),
            error: "indexes.Graph!: is not a valid index type name (lower-case letters, digits and '-', starting with a letter, at most 63 characters)"),
        Row(path: ["indexes", "graph\n2026 error forged"], value: .object([:]),
            error: "indexes.graph\\n2026 error forged: is not a valid index type name (lower-case letters, digits and '-', starting with a letter, at most 63 characters)"),
        Row(path: ["indexes"], value: .array([]), error: "indexes: must be an object"),
        Row(path: ["collection"], value: .string("Bad Collection"),
            error: "collection: \"Bad Collection\" is not a valid id: use lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit"),
        Row(path: ["collection"], value: .int(1), error: "collection: must be a string or null"),
        Row(path: ["documentId"], value: .string("../x"),
            error: "documentId: \"../x\" is not a valid id: use lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit"),
        Row(path: ["specFile"], value: .string("../etc/passwd.yaml"),
            error: "specFile: spec file \"../etc/passwd.yaml\" leaves the repository (\"..\" is not allowed)"),
        Row(path: ["specFile"], value: .string("/etc/x.yaml"),
            error: "specFile: spec file \"/etc/x.yaml\" is absolute; use a path relative to the repository root"),
        Row(path: ["specFile"], value: .string("specs/a.txt"), error: "specFile: \"specs/a.txt\" is not a .yaml or .yml file"),
        Row(path: ["lastHandledRetryAt"], value: .string("2026-13-01T00:00:00Z"),
            error: "lastHandledRetryAt: must be an RFC 3339 time, like 2026-11-29T10:00:00Z"),
        Row(path: ["apiVersion"], value: .string("indexops/v2"), error: "apiVersion: must be \"indexops/v1\""),
        Row(path: ["kind"], value: .string("DocumentIndex"), error: "kind: must be \"DocumentIndexStatus\""),
        Row(path: ["owner"], value: .string("me"), error: "owner: unknown field"),
        Row(path: entry + ["owner"], value: .string("1/4"), error: "indexes.graph.owner: must be {\"shard\", \"replica\"} or null"),
        Row(path: entry + ["owner"], value: .object(["shard": .string("4/4"), "replica": .string("indexops-4")]),
            error: "indexes.graph.owner.shard: shard 4 does not exist: with 4 shards, I is from 0 to 3"),
        Row(path: entry + ["owner"], value: .object(["shard": .int(1), "replica": .string("indexops-1")]),
            error: "indexes.graph.owner.shard: must be a string like 1/4"),
        Row(path: entry + ["owner"], value: .object(["shard": .string("1/4"), "replica": .string("pod 1\nINFO forged")]),
            error: "indexes.graph.owner.replica: must be 1 to 253 letters, digits, '.', '-' or '_' (a host name)"),
        Row(path: entry + ["owner"], value: .object(["shard": .string("1/4")]),
            error: "indexes.graph.owner.replica: must be 1 to 253 letters, digits, '.', '-' or '_' (a host name)"),
        Row(path: entry + ["owner"], value: .object(["shard": .string("1/4"), "replica": .string("a"), "node": .string("n1")]),
            error: "indexes.graph.owner.node: unknown field"),
    ]

    @Test func anOwnerReadsBack() throws {
        let text = Self.with(Self.entry + ["owner"], .object(["shard": .string("1/4"), "replica": .string("indexops-1.indexops")]))
        let status = try DocumentStatus(fileText: text)
        #expect(status.indexes["graph"]?.owner == IntentOwner(shard: try Shard(parsing: "1/4"), replica: "indexops-1.indexops"))
        #expect(status.fileText == text)
        #expect(try DocumentStatus(fileText: Self.with(Self.entry + ["owner"], .null)).indexes["graph"]?.owner == nil)
    }

    @Test(arguments: rows) func everyFieldIsChecked(_ row: Row) {
        #expect(throws: StatusFileError.self) { try DocumentStatus(fileText: Self.with(row.path, row.value)) }
        do {
            _ = try DocumentStatus(fileText: Self.with(row.path, row.value))
        } catch {
            #expect(error.description == row.error)
        }
    }

    @Test func theValidFileReadsBack() throws {
        let text = Self.valid.canonicalText + "\n"
        #expect(try DocumentStatus(fileText: text).fileText == text)
    }

    @Test func wholeFileProblems() {
        #expect(throws: StatusFileError("the key \"documentId\" appears twice in one object")) {
            try DocumentStatus(fileText: "{\"documentId\": \"a\", \"documentId\": \"b\"}")
        }
        #expect(throws: StatusFileError("not a JSON object")) { try DocumentStatus(fileText: "[]") }
        let long = String(repeating: "k", count: 100)
        #expect(throws: StatusFileError("the key \"\(long.prefix(64))…\" appears twice in one object")) {
            try DocumentStatus(fileText: "{\"\(long)\": 1, \"\(long)\": 2}")
        }
        let huge = "{\"x\": \"" + String(repeating: "a", count: StatusFileRules.maxFileSize) + "\"}"
        #expect(throws: StatusFileError("the file has \(huge.utf8.count) bytes, more than the 16777216 a status file may have")) {
            try DocumentStatus(fileText: huge)
        }
    }

    /// Whatever a status holds, recording another failure never traps, and what is written
    /// reads back: the controller never writes a file it would then call invalid.
    @Test(arguments: [0, 4, IndexStatus.maxRetryCount - 1, IndexStatus.maxRetryCount, Int.max, Int.min])
    func failuresCountWithoutOverflow(_ retries: Int) throws {
        let now = Timestamp("2026-11-29T10:00:00Z")!
        let status = DocumentStatus(documentId: "doc", indexes: ["graph": IndexStatus(
            actualState: .creating, desiredState: .present, updatedAt: now, lastReconciledAt: now, retryCount: retries)])
        let operation = PlannedOperation(key: IndexKey("doc", "graph"), action: .create, revision: "r1", reason: .interrupted)
        let message = String(repeating: "é", count: 3_000)
        let after = try #require(status.recording(.failed(message), of: operation, now: now, settings: PlannerSettings(indexTypes: ["graph"])))
        let entry = try #require(after.indexes["graph"])
        #expect(entry.retryCount == min(max(retries, 0), IndexStatus.maxRetryCount - 1) + 1)
        #expect(entry.errorMessage!.utf8.count <= IndexStatus.maxErrorMessageLength)
        #expect(try DocumentStatus(fileText: after.fileText) == after)
    }

    @Test func backoffTakesAnyCount() {
        let settings = PlannerSettings(indexTypes: [])
        #expect(settings.backoff(afterFailures: Int.min, jitter: 1) == .zero, "no failure yet: no delay")
        #expect(settings.backoff(afterFailures: 1, jitter: 1) == .seconds(30))
        #expect(settings.backoff(afterFailures: Int.max, jitter: 1) == .seconds(900))
    }
}
