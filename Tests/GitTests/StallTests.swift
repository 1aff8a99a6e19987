import Foundation
import Testing
@testable import Git

@Suite struct StallTests {
    /// A server that stays connected but sends nothing new: the fetch is abandoned once the
    /// stall timeout has passed without progress, and nothing is changed.
    @Test func aFetchWithoutProgressIsAbandonedAndChangesNothing() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let before = try repository.branchTip("main")
            try fixture.personPushes("specs/x.yaml", "x\n", message: "people: new spec")
            let server = try HTTPServer(root: scratch.path, token: "t", stallFetches: true)
            defer { server.stop() }
            try write(scratch("token"), "t\n")
            let stalled = RemoteConfiguration(url: server.url("remote.git"), authentication: .token(.file(scratch("token"))), stallTimeout: .milliseconds(300))
            let error = #expect(throws: GitError.self) { try repository.sync(stalled, replaying: ownCommits) }
            #expect(error?.code == .stalled)
            #expect(error?.function == "git_remote_fetch")
            #expect(error?.message == "fetch of '\(server.url("remote.git"))' made no progress for 0.3 seconds; abandoned")
            #expect(try repository.branchTip("main") == before)
            #expect(try repository.trackingTip(stalled) == before)
        }
    }
}

/// A remote that accepts the connection and then says nothing calls no libgit2 callback, so
/// only the outer deadline can end the attempt: every network operation is abandoned as
/// stalled, over http and over ssh, and nothing changes.
@Suite struct SilentRemoteTests {
    static let timeout = Duration.milliseconds(500)

    @Test func fetchPushAndCloneOverHTTPAreAbandoned() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let before = try repository.branchTip("main")
            let ours = try repository.commit(
                [.write("status/ab/doc1.json", Data("{}\n".utf8))], on: "main", parent: before, message: "indexops: ours", author: controllerSignature)
            let silent = try SilentServer()
            defer { silent.stop() }
            let url = "http://127.0.0.1:\(silent.port)/remote.git"
            let remote = RemoteConfiguration(url: url, stallTimeout: Self.timeout)

            let fetch = #expect(throws: GitError.self) { try repository.sync(remote, replaying: ownCommits) }
            #expect(fetch?.code == .stalled)
            #expect(fetch?.message == "fetch of '\(url)' made no progress for 0.5 seconds; abandoned")
            let push = #expect(throws: GitError.self) { try repository.push(remote, replaying: ownCommits) }
            #expect(push?.code == .stalled)
            #expect(push?.message == "push of '\(url)' made no progress for 0.5 seconds; abandoned")
            #expect(try repository.branchTip("main") == ours, "the local commit stays")
            let clone = #expect(throws: GitError.self) { try Repository.clone(remote, to: scratch("second")) }
            #expect(clone?.code == .stalled)
            #expect(!FileManager.default.fileExists(atPath: scratch("second")), "no half-made clone is left")
        }
    }

    @Test func fetchOverSSHIsAbandoned() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let silent = try SilentServer()
            defer { silent.stop() }
            try write(scratch("known_hosts"), "")
            let url = "ssh://git@127.0.0.1:\(silent.port)/remote.git"
            let remote = RemoteConfiguration(url: url, knownHostsFile: scratch("known_hosts"), stallTimeout: Self.timeout)
            let error = #expect(throws: GitError.self) { try repository.sync(remote, replaying: ownCommits) }
            #expect(error?.code == .stalled)
            #expect(error?.message == "fetch of '\(url)' made no progress for 0.5 seconds; abandoned")
        }
    }
}
