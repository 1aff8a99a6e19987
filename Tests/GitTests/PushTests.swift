import Foundation
import Testing
@testable import Git

@Suite struct PushTests {
    static let noWait = RetryPolicy(maxAttempts: 5, initialBackoff: .zero, maxBackoff: .zero)

    @Test func aPushThatWinsTheRaceIsReplayedOnAndBothCommitsLand() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            _ = try repository.sync(fixture.configuration, replaying: ownCommits)
            let ours = try #require(try repository.commit(
                [.write("status/ab/doc1.json", Data("{}\n".utf8))],
                on: "main", parent: repository.branchTip("main"), message: "indexops: doc1 reconciled", author: controllerSignature
            ))
            // People push twice: between our fetch and our first push, and again before the second.
            let peoples = Box([String]())
            repository.beforePushAttempt = { attempt in
                if attempt <= 2 {
                    peoples.value.append(try fixture.personPushes("specs/p\(attempt).yaml", "p\(attempt)\n", message: "people: spec \(attempt)"))
                }
            }
            let result = try repository.push(fixture.configuration, replaying: ownCommits, retry: Self.noWait)
            #expect(result.pushed)
            #expect(result.attempts == 3)
            #expect(result.replayedCommits == 2)
            #expect(result.head != ours)

            let remote = fixture.remote
            #expect(try fixture.remoteHead() == result.head?.hex)
            #expect(try git("log", "--format=%s", "main", in: remote) == "indexops: doc1 reconciled\npeople: spec 2\npeople: spec 1\npeople: first specs")
            #expect(try git("rev-list", "--merges", "main", in: remote) == "")
            #expect(try git("rev-parse", "main~1", in: remote) == peoples.value[1])
            #expect(try git("rev-parse", "main~2", in: remote) == peoples.value[0])
            #expect(try git("show", "--name-only", "--format=%an", "main", in: remote) == "indexops\n\nstatus/ab/doc1.json")
            #expect(try git("show", "main:specs/p2.yaml", in: remote) == "p2")
            _ = try git("fsck", "--strict", "--no-dangling", in: remote)
            #expect(try repository.trackingTip(fixture.configuration) == result.head)

            // Nothing left to push.
            let idle = try repository.push(fixture.configuration, replaying: ownCommits, retry: Self.noWait)
            #expect(!idle.pushed)
            #expect(idle.attempts == 0)
        }
    }

    @Test func retriesAreBounded() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            _ = try repository.commit([.write("status/ab/doc1.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "ours", author: controllerSignature)
            repository.beforePushAttempt = { attempt in
                try fixture.personPushes("specs/p\(attempt).yaml", "p\n", message: "people \(attempt)")
            }
            let error = #expect(throws: GitError.self) {
                try repository.push(fixture.configuration, replaying: ownCommits, retry: RetryPolicy(maxAttempts: 2, initialBackoff: .zero, maxBackoff: .zero))
            }
            #expect(error?.code == .pushRejected)
            #expect(error?.message.hasPrefix("push of 'main' rejected 2 time(s); last: ") == true)
            #expect(try git("log", "--format=%s", "-1", "main", in: fixture.remote) == "people 2")
        }
    }

    @Test func aLocalCommitOutsideTheOwnedPrefixIsNeverReplayed() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let local = try #require(try repository.commit([.write("specs/a.yaml", Data("mine\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "edits a spec", author: controllerSignature))
            try fixture.personPushes("specs/b.yaml", "b\n", message: "people")
            let error = #expect(throws: GitError.self) { try repository.push(fixture.configuration, replaying: ownCommits, retry: Self.noWait) }
            #expect(error?.code == .notReplayable)
            #expect(error?.message == "local commit \(local.short) changes 'specs/a.yaml' outside 'status/'; it is not replayed")
            #expect(try repository.branchTip("main") == local)
            #expect(try git("log", "--format=%s", "-1", "main", in: fixture.remote) == "people")
        }
    }

    @Test func backoffDoublesUpToTheLimit() {
        let policy = RetryPolicy(maxAttempts: 6, initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(500))
        #expect((1...5).map { policy.backoff(after: $0) } == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
    }
}
