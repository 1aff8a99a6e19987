import Foundation
import Testing
@testable import Git

/// A person rewinds or rewrites the branch with a force-push: the controller takes the new
/// upstream as it is, replays only its own status commits that were never upstream, and never
/// pushes back what the upstream dropped.
@Suite struct RewriteTests {
    /// Our own status commit on top of the branch: our author, the trailer, `status/` only.
    @discardableResult
    static func statusCommit(_ repository: Repository, _ name: String) throws -> OID {
        try #require(try repository.commit(
            [.write("status/ab/\(name).json", Data("{\"name\": \"\(name)\"}\n".utf8))], on: "main", parent: repository.branchTip("main"),
            message: "indexops: \(name)\n\n\(OwnCommits.trailer) 0123456789abcdef0123456789abcdef01234567\n", author: controllerSignature))
    }

    /// The person makes the remote's branch `commit`, whatever it was.
    static func forcePush(_ fixture: Fixture, _ commit: String) throws {
        try git("fetch", "-q", "origin", in: fixture.person)
        try git("push", "-q", "--force", "origin", "\(commit):refs/heads/main", in: fixture.person)
    }

    static func reachableOnRemote(_ fixture: Fixture) throws -> String {
        try git("rev-list", "--objects", "--all", in: fixture.remote)
    }

    @Test func aRewoundBranchStaysRewoundAndOurUnpushedCommitIsReplayed() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let first = try #require(try repository.branchTip("main"))
            try Self.statusCommit(repository, "pushed")
            _ = try repository.push(fixture.configuration, replaying: ownCommits)
            let secret = try fixture.personPushes("docs/secret.txt", "hunter2\n", message: "people: oops, a secret")
            let secretBlob = try git("rev-parse", "\(secret):docs/secret.txt", in: fixture.person)
            #expect(try repository.sync(fixture.configuration, replaying: ownCommits).outcome == .fastForwarded)
            let unpushed = try Self.statusCommit(repository, "unpushed")

            // The person takes the secret back: the branch is rewound to before it.
            try Self.forcePush(fixture, first.hex)
            let result = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(result.outcome == .rewritten(replayed: 1))
            let rewrite = try #require(result.rewrite)
            #expect(rewrite.previousUpstream.hex == secret)
            #expect(rewrite.upstream == first)
            #expect(rewrite.replayed == [unpushed])
            #expect(rewrite.dropped.count == 2, "our pushed status commit and the secret were upstream once, and are gone")
            #expect(rewrite.dropped.contains(try oid(secret)))
            #expect(rewrite.description.hasPrefix("the upstream of 'main' was rewritten (\(String(secret.prefix(7))) -> \(first.short)): took it as it is, replayed 1 status commit(s) of our own, dropped 2 commit(s) that are not upstream ("))
            let head = try #require(result.head)
            #expect(try git("log", "--format=%s", "main", in: fixture.controllerPath) == "indexops: unpushed\npeople: first specs")
            #expect(try git("show", "-s", "--format=%an <%ae>", "main", in: fixture.controllerPath) == "indexops <indexops@example.com>")

            // Several pushes later, neither the secret nor its blob is on the remote.
            let pushed = try repository.push(fixture.configuration, replaying: ownCommits)
            #expect(pushed.head == head)
            for round in 0..<3 {
                try Self.statusCommit(repository, "round\(round)")
                #expect(try repository.sync(fixture.configuration, replaying: ownCommits).rewrite == nil)
                _ = try repository.push(fixture.configuration, replaying: ownCommits)
            }
            let objects = try Self.reachableOnRemote(fixture)
            #expect(!objects.contains(secret))
            #expect(!objects.contains(secretBlob))
            #expect(try git("cat-file", "-p", "main:status/ab/unpushed.json", in: fixture.remote) == "{\"name\": \"unpushed\"}")
        }
    }

    @Test func aRewrittenBranchKeepsOnlyOurOwnStatusCommits() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let before = try fixture.personPushes("specs/a.yaml", "name: a2\n", message: "people: a2")
            #expect(try repository.sync(fixture.configuration, replaying: ownCommits).outcome == .fastForwarded)
            let ours = try Self.statusCommit(repository, "ours")
            // Local commits that are not our own: a spec edit, a status edit without the
            // trailer, a status edit by someone else with it.
            let spec = try #require(try repository.commit([.write("specs/local.yaml", Data("x\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "local spec\n\n\(OwnCommits.trailer) x\n", author: controllerSignature))
            let noTrailer = try #require(try repository.commit([.write("status/ab/b.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "indexops: no trailer", author: controllerSignature))
            let person = Signature(name: "Pat Person", email: "pat@example.com")
            let someoneElse = try #require(try repository.commit([.write("status/ab/c.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "x\n\n\(OwnCommits.trailer) y\n", author: person))

            // The person rewrites the last commit: amended, force-pushed.
            try git("commit", "-q", "--amend", "-m", "people: a2, reworded", in: fixture.person)
            let amended = try git("rev-parse", "HEAD", in: fixture.person)
            try git("push", "-q", "--force", "origin", "main", in: fixture.person)

            let result = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(result.outcome == .rewritten(replayed: 1))
            let rewrite = try #require(result.rewrite)
            #expect(rewrite.previousUpstream.hex == before)
            #expect(rewrite.upstream.hex == amended)
            #expect(rewrite.replayed == [ours])
            #expect(Set(rewrite.dropped) == [try oid(before), spec, noTrailer, someoneElse])
            #expect(try git("log", "--format=%s", "main", in: fixture.controllerPath) == "indexops: ours\npeople: a2, reworded\npeople: first specs")
            _ = try repository.push(fixture.configuration, replaying: ownCommits)
            #expect(!(try Self.reachableOnRemote(fixture)).contains(before))
        }
    }

    /// A pass that stopped between the fetch and the move of the branch left the
    /// remote-tracking branch at the new upstream: the reflog still tells what was upstream.
    @Test func aRewriteIsFoundAfterAnInterruptedSync() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let first = try #require(try repository.branchTip("main"))
            let dropped = try fixture.personPushes("docs/b.md", "b\n", message: "people: b")
            _ = try repository.sync(fixture.configuration, replaying: ownCommits)
            let ours = try Self.statusCommit(repository, "ours")
            try Self.forcePush(fixture, first.hex)
            try repository.fetch(fixture.configuration)  // …and the pass ends here
            #expect(try repository.trackingTip(fixture.configuration) == first)

            let result = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(result.outcome == .rewritten(replayed: 1))
            #expect(result.rewrite?.previousUpstream.hex == dropped)
            #expect(result.rewrite?.replayed == [ours])
            #expect(result.rewrite?.dropped == [try oid(dropped)])
            _ = try repository.push(fixture.configuration, replaying: ownCommits)
            #expect(!(try Self.reachableOnRemote(fixture)).contains(dropped))
        }
    }

    /// A push rejected because the branch was rewritten meanwhile is not a failure: the
    /// rewrite is taken, our commit replayed and pushed.
    @Test func aPushRacingARewriteLands() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let first = try #require(try repository.branchTip("main"))
            let dropped = try fixture.personPushes("docs/b.md", "b\n", message: "people: b")
            _ = try repository.sync(fixture.configuration, replaying: ownCommits)
            try Self.statusCommit(repository, "ours")
            repository.beforePushAttempt = { attempt in
                if attempt == 1 { try Self.forcePush(fixture, first.hex) }
            }
            let result = try repository.push(fixture.configuration, replaying: ownCommits, retry: PushTests.noWait)
            #expect(result.pushed)
            #expect(result.rewrites.map(\.previousUpstream.hex) == [dropped])
            #expect(result.replayedCommits == 1)
            #expect(try git("log", "--format=%s", "main", in: fixture.remote) == "indexops: ours\npeople: first specs")
        }
    }
}
