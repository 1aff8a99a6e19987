import Foundation
import Testing
@testable import Git

/// Two controllers (two clones) push to one remote: the one that pushes second, from the old
/// head, is rejected and replays; the remote never loses the first one's commit. Over a path,
/// a `file://` URL, and smart HTTP.
@Suite struct ConcurrentPushTests {
    static let once = RetryPolicy(maxAttempts: 1, initialBackoff: .zero, maxBackoff: .zero)

    /// Clones `a` and `b` of the fixture's remote, reached through `remote`, each with one
    /// status commit of its own on the same head.
    static func twoClones(_ fixture: Fixture, _ remote: RemoteConfiguration, in scratch: Scratch) throws -> (a: Repository, aCommit: OID, b: Repository, bCommit: OID) {
        let a = try Repository.clone(remote, to: scratch("a"))
        let b = try Repository.clone(remote, to: scratch("b"))
        let aCommit = try #require(try a.commit([.write("status/aa/doc-a.json", Data("{\"a\":1}\n".utf8))], on: "main", parent: a.branchTip("main"), message: "indexops: doc-a", author: controllerSignature))
        let bCommit = try #require(try b.commit([.write("status/bb/doc-b.json", Data("{\"b\":1}\n".utf8))], on: "main", parent: b.branchTip("main"), message: "indexops: doc-b", author: controllerSignature))
        return (a, aCommit, b, bCommit)
    }

    static func localURLs(_ fixture: Fixture) -> [RemoteConfiguration] {
        [fixture.configuration, RemoteConfiguration(url: "file://" + fixture.remote)]
    }

    @Test(arguments: [false, true]) func aPushFromTheOldHeadIsRejectedAndTheFirstCommitStays(fileURL: Bool) throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let remote = Self.localURLs(fixture)[fileURL ? 1 : 0]
            let (a, aCommit, b, bCommit) = try Self.twoClones(fixture, remote, in: scratch)
            #expect(try a.push(remote, replaying: ownCommits, retry: Self.once).head == aCommit)
            let error = #expect(throws: GitError.self) { try b.push(remote, replaying: ownCommits, retry: Self.once) }
            #expect(error?.code == .pushRejected)
            #expect(try fixture.remoteHead() == aCommit.hex)
            #expect(try b.branchTip("main") == bCommit, "nothing of b's is lost either: it is still to push")
        }
    }

    /// The race itself: `b` reads the remote's branch and checks it, then `a` lands a push,
    /// then `b` would move the branch. libgit2 1.5's local transport moved it anyway, over
    /// `a`'s commit; the branch now moves only from the id `b` read.
    @Test(arguments: [false, true]) func aPushThatLosesTheRaceIsRejectedThenReplayed(fileURL: Bool) throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let remote = Self.localURLs(fixture)[fileURL ? 1 : 0]
            try Self.race(fixture, remote, scratch: scratch)
            _ = try git("fsck", "--strict", "--no-dangling", in: fixture.remote)
        }
    }

    @Test func overSmartHTTPTheServerRejectsTheLoserToo() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try HTTPServer(root: scratch.path, token: "race")
            defer { server.stop() }
            try write(scratch("token"), "race\n")
            let remote = RemoteConfiguration(url: server.url("remote.git"), authentication: .token(.file(scratch("token"))))
            try Self.race(fixture, remote, scratch: scratch)
        }
    }

    /// `b`'s push lets `a` push in its window: `b` is rejected, the remote has `a`'s commit;
    /// then `b` replays onto it and both land, in a linear history.
    static func race(_ fixture: Fixture, _ remote: RemoteConfiguration, scratch: Scratch) throws {
        let (a, aCommit, b, _) = try twoClones(fixture, remote, in: scratch)
        let landed = Box(false)
        b.whilePushing = { () throws -> Void in
            guard !landed.value else { return }
            landed.value = true
            let pushed = try a.push(remote, replaying: ownCommits, retry: once)
            #expect(pushed.head == aCommit)
        }
        let error = #expect(throws: GitError.self) { try b.push(remote, replaying: ownCommits, retry: once) }
        #expect(landed.value)
        #expect(error?.code == .pushRejected)
        #expect(try fixture.remoteHead() == aCommit.hex, "the remote keeps a's commit")

        let result = try b.push(remote, replaying: ownCommits, retry: PushTests.noWait)
        #expect(result.replayedCommits == 1)
        #expect(try fixture.remoteHead() == result.head?.hex)
        #expect(try git("log", "--format=%s", "main", in: fixture.remote) == "indexops: doc-b\nindexops: doc-a\npeople: first specs")
        #expect(try git("rev-list", "--merges", "main", in: fixture.remote) == "")
        #expect(try git("show", "main:status/aa/doc-a.json", in: fixture.remote) == "{\"a\":1}")
    }

    @Test func localRemotePaths() {
        #expect(LocalRemote.repositoryPath("/srv/git/specs.git") == "/srv/git/specs.git")
        #expect(LocalRemote.repositoryPath("../specs.git") == "../specs.git")
        #expect(LocalRemote.repositoryPath("file:///srv/git/my%20specs.git") == "/srv/git/my specs.git")
        #expect(LocalRemote.repositoryPath("FILE://localhost/srv/specs.git") == "/srv/specs.git")
        #expect(LocalRemote.repositoryPath("file://host/srv/specs.git") == nil)
        #expect(LocalRemote.repositoryPath("git@github.com:org/specs.git") == nil)
        #expect(LocalRemote.repositoryPath("https://example.com/specs.git") == nil)
        #expect(LocalRemote.repositoryPath("ssh://git@example.com/specs.git") == nil)
    }
}
