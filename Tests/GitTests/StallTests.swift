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
            let server = try HTTPServer(root: scratch.path, token: "t", scratch: scratch, stallFetches: true)
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
