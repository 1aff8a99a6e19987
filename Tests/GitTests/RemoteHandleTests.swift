import Foundation
import Testing
@testable import Git

/// A `Repository` looks its remote up once and reuses it for every fetch and push: each
/// `git_remote_lookup` leaks about 20 KiB per configuration entry in libgit2 1.5 (its PCRE2
/// match data), which made `indexops run` grow by half a megabyte a pass. A failed fetch
/// forgets the handle, so that the next one starts from a fresh lookup.
@Suite struct RemoteHandleTests {
    @Test func fetchesAndPushesReuseOneRemoteAndAFailureForgetsIt() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            _ = try repository.sync(fixture.configuration, replaying: ownCommits)
            let first = try #require(repository.remoteHandles.values.first)
            for i in 1...3 {
                try fixture.personPushes("specs/p\(i).yaml", "p\(i)\n", message: "people: \(i)")
                _ = try repository.sync(fixture.configuration, replaying: ownCommits)
            }
            _ = try repository.commit(
                [.write("status/ab/doc1.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"),
                message: "indexops: doc1 reconciled", author: controllerSignature)
            let pushed = try repository.push(fixture.configuration, replaying: ownCommits, retry: PushTests.noWait)
            #expect(pushed.pushed)
            #expect(try fixture.remoteHead() == pushed.head?.hex, "the reused remote pushed")
            #expect(try git("show", "main:specs/p3.yaml", in: fixture.remote) == "p3", "the reused remote fetched every push")
            #expect(repository.remoteHandles.count == 1)
            #expect(repository.remoteHandles.values.first === first, "looked up again")

            // The remote goes away: the fetch fails and the handle is dropped; it comes back.
            let away = fixture.remote + ".away"
            try FileManager.default.moveItem(atPath: fixture.remote, toPath: away)
            #expect(throws: GitError.self) { try repository.fetch(fixture.configuration) }
            #expect(repository.remoteHandles.isEmpty)
            try FileManager.default.moveItem(atPath: away, toPath: fixture.remote)
            try fixture.personPushes("specs/p4.yaml", "p4\n", message: "people: 4")
            _ = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(try repository.trackingTip(fixture.configuration)?.hex == fixture.remoteHead())
            #expect(repository.remoteHandles.count == 1)
            #expect(repository.remoteHandles.values.first !== first)
        }
    }
}
