import IndexOpsCore
import Testing
import YAML

@Suite("Naming rules, times and durations")
struct ModelTests {
    @Test(arguments: ["a", "doc123", "0", "a.b_c-d", String(repeating: "a", count: 128)])
    func validIDs(_ id: String) {
        #expect(Identifier.isValidID(id))
    }

    @Test(arguments: ["", "A", "doc/1", "..", "-a", "a-", "a b", "é", "a\n", String(repeating: "a", count: 129)])
    func invalidIDs(_ id: String) {
        #expect(!Identifier.isValidID(id))
        #expect(Identifier.idProblem(id) != nil)
    }

    @Test func indexTypeNames() {
        #expect(Identifier.isValidIndexType("vector"))
        #expect(Identifier.isValidIndexType("graph-2"))
        #expect(!Identifier.isValidIndexType("2graph"))
        #expect(!Identifier.isValidIndexType("Vector"))
        #expect(!Identifier.isValidIndexType("a_b"))
        #expect(!Identifier.isValidIndexType(String(repeating: "a", count: 64)))
    }

    @Test func rfc3339() throws {
        let t = try #require(Timestamp("2026-11-29T10:00:00Z"))
        #expect(t.secondsSinceEpoch == 1_795_946_400)
        #expect(Timestamp("2026-11-29T12:00:00+02:00") == t)
        #expect(Timestamp("2026-11-29t10:00:00.250z")!.secondsSinceEpoch == 1_795_946_400.25)
        #expect(Timestamp("2024-02-29T00:00:00Z") != nil)
        for bad in ["2025-02-29T00:00:00Z", "2026-11-29 10:00:00Z", "2026-11-29T10:00:00", "2026-13-01T00:00:00Z",
                    "2026-11-29T24:00:00Z", "2026-11-29T10:00:00.Z", "yesterday", ""] {
            #expect(Timestamp(bad) == nil, "\(bad)")
        }
    }

    @Test func durations() {
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("10m") == .seconds(600))
        #expect(DurationText.parse("1h30m") == .seconds(5_400))
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        for bad in ["", "30", "s", "1d", "1.5h", "-1s", "1h 30m"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
        for text in ["30s", "10m", "1h30m", "500ms", "1h0m1s"] {
            let d = DurationText.parse(text)!
            #expect(DurationText.parse(DurationText.format(d)) == d)
        }
        #expect(DurationText.format(.seconds(5_401)) == "1h30m1s")
    }

    @Test func sourcePaths() {
        #expect(Source.pathProblem("docs/a.md") == nil)
        #expect(Source.pathProblem("docs/./a.md") != nil)
        #expect(Source.pathProblem("docs//a.md") != nil)
        #expect(Source.pathProblem("docs/a.md/") != nil)
        #expect(Source.pathProblem(".git/config") != nil)
        #expect(Source.pathProblem("a\\..\\b") != nil)
        #expect(Source.uriProblem("s3://bucket/key") == nil)
        #expect(Source.uriProblem("https://x/y z") != nil)
        #expect(Source.uriProblem("://x") != nil)
    }
}
