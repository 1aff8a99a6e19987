import Foundation
import Testing
@testable import Git

@Suite struct HTTPTests {
    @Test func cloneAndPushWithATokenFromAFileOrTheEnvironment() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let token = "tok-\(UInt64.random(in: 1...UInt64.max))"
            let server = try HTTPServer(root: scratch.path, token: token)
            defer { server.stop() }
            try write(scratch("token"), token + "\n")
            let remote = RemoteConfiguration(url: server.url("remote.git"), authentication: .token(.file(scratch("token"))))
            let repository = try Repository.clone(remote, to: fixture.controllerPath)
            #expect(try repository.branchTip("main")?.hex == fixture.remoteHead())

            let ours = try repository.commit([.write("status/ab/doc1.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "indexops: over http", author: controllerSignature)
            let pushed = try repository.push(remote, replaying: ownCommits)
            #expect(pushed.head == ours)
            #expect(try fixture.remoteHead() == ours?.hex)

            try fixture.personPushes("specs/c.yaml", "c\n", message: "people")
            // A variable of the environment as it is (setenv would race with other tests):
            // a second server whose token is the value of HOME.
            let home = try #require(ProcessInfo.processInfo.environment["HOME"])
            let homeServer = try HTTPServer(root: scratch.path, token: home)
            defer { homeServer.stop() }
            let fromEnvironment = RemoteConfiguration(url: homeServer.url("remote.git"), authentication: .token(.environment("HOME")))
            #expect(try repository.sync(fromEnvironment, replaying: ownCommits).outcome == .fastForwarded)
        }
    }

    @Test func aWrongTokenFailsAuthenticationAndPlainHttpElsewhereIsRefused() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let server = try HTTPServer(root: scratch.path, token: "right")
            defer { server.stop() }
            try write(scratch("token"), "wrong\n")
            let remote = RemoteConfiguration(url: server.url("remote.git"), authentication: .token(.file(scratch("token"))))
            let wrong = #expect(throws: GitError.self) { try Repository.clone(remote, to: fixture.controllerPath) }
            #expect(wrong?.code == .auth)
            #expect(wrong?.message == "the remote '\(server.url("remote.git"))' refused the configured credentials")
            #expect(wrong.map { !$0.description.contains("wrong") } == true)
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath))

            let missing = RemoteConfiguration(url: server.url("remote.git"), authentication: .token(.environment("INDEXOPS_TEST_UNSET_VARIABLE")))
            let unset = #expect(throws: GitError.self) { try Repository.clone(missing, to: fixture.controllerPath) }
            #expect(unset?.code == .configuration)
            #expect(unset?.message == "the secret from environment variable INDEXOPS_TEST_UNSET_VARIABLE is empty")

            let plain = RemoteConfiguration(url: "http://git.example.com/specs.git", authentication: .token(.file(scratch("token"))))
            let refused = #expect(throws: GitError.self) { try Repository.clone(plain, to: fixture.controllerPath) }
            #expect(refused?.code == .configuration)
            #expect(refused?.message == "refusing to send a token over plain http to 'http://git.example.com/specs.git'; use https")
        }
    }
}
