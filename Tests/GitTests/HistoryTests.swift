import Foundation
import Testing
@testable import Git

@Suite struct HistoryTests {
    @Test func historyListsTheCommitsThatTouchedAPathNewestFirst() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let path = "status/ab/doc1.json"
            try fixture.personPushes(path, "{\"v\": 1}\n", message: "status v1")
            try fixture.personPushes("specs/other.yaml", "x\n", message: "unrelated")
            try fixture.personPushes(path, "{\"v\": 2}\n", message: "status v2")
            try git("rm", "-q", path, in: fixture.person)
            try git("commit", "-q", "-m", "status removed", in: fixture.person)
            try fixture.personPushes(path, "{\"v\": 3}\n", message: "status v3\n\nbody line")

            let repository = try Repository.open(at: fixture.person)
            let head = try repository.resolve("HEAD")
            let history = try repository.history(of: path, from: head)
            #expect(history.map(\.summary) == ["status v3", "status removed", "status v2", "status v1"])
            #expect(history.map(\.commit.hex) == (try git("log", "--first-parent", "--format=%H", "--", path, in: fixture.person)).split(separator: "\n").map(String.init))
            #expect(history[0].blob?.hex == (try git("rev-parse", "HEAD:\(path)", in: fixture.person)))
            #expect(history[1].blob == nil)
            #expect(history[2].blob?.hex == (try git("rev-parse", "HEAD~2:\(path)", in: fixture.person)))
            #expect(history[0].message == "status v3\n\nbody line\n")
            #expect(history[0].author.description == "Pat Person <pat@example.com>")
            #expect(history[0].author.time.timeIntervalSince1970 == Double(try git("log", "-1", "--format=%at", in: fixture.person)))
            #expect(try repository.history(of: path, from: head, limit: 2).count == 2)
            #expect(try repository.history(of: "docs/a.md", from: head).map(\.summary) == ["people: first specs"])
        }
    }
}
