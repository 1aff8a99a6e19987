import Foundation
import Testing
@testable import Git

/// The git seams of a status branch: the view a pass reads, the mirror of the status folder
/// in the work tree, and a deleted status branch taken as it is.
@Suite struct StatusBranchGitTests {
    static func statusCommit(_ repository: Repository, _ name: String, branch: String = "indexops/status") throws -> OID {
        try #require(try repository.commit(
            [.write("status/ab/\(name).json", Data("{\"name\": \"\(name)\"}\n".utf8))], on: branch, parent: repository.branchTip(branch),
            message: "indexops: \(name)\n\n\(OwnCommits.trailer) 0123456789abcdef0123456789abcdef01234567\n", author: controllerSignature))
    }

    @Test func theViewHasTheSpecsOfOneBranchAndTheStatusesOfTheOther() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let spec = try #require(try repository.branchTip("main"))
            // No status branch yet: the spec branch's own old status folder is not read.
            let empty = try repository.statusView(spec: spec, status: nil, folder: "status")
            #expect(try repository.files(in: "status", at: empty).isEmpty)
            #expect(try repository.files(in: "specs", at: empty).map(\.path) == ["specs/a.yaml", "specs/team/b.yaml"])

            let first = try Self.statusCommit(repository, "one")
            #expect(try repository.files(in: "", at: first).map(\.path) == ["status/ab/one.json"], "the status branch holds status/ only")
            let view = try repository.statusView(spec: spec, status: first, folder: "status")
            #expect(try repository.files(in: "status", at: view).map(\.path) == ["status/ab/one.json"])
            #expect(try repository.entry(at: "docs/a.md", in: view) != nil)
            // The same two commits give the same view, and nothing new is written for it.
            let packs = try FileManager.default.contentsOfDirectory(atPath: repository.gitDirectory + "objects/pack").count
            #expect(try repository.statusView(spec: spec, status: first, folder: "status") == view)
            #expect(try FileManager.default.contentsOfDirectory(atPath: repository.gitDirectory + "objects/pack").count == packs)
            // The history of a status file is the status branch's.
            let second = try Self.statusCommit(repository, "two")
            let later = try repository.statusView(spec: spec, status: second, folder: "status")
            #expect(try repository.history(of: "status/ab/one.json", from: later).map(\.commit) == [first])
        }
    }

    @Test func theMirrorWritesOnlyWhatChangedAndNeverTheIndex() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            try FileManager.default.removeItem(atPath: fixture.controllerPath + "/status")
            let one = try Self.statusCommit(repository, "one")
            let first = try repository.mirror(folder: "status", of: one, previous: nil)
            #expect(first.written == ["status/ab/one.json"])
            #expect(try read(fixture.controllerPath + "/status/ab/one.json") == "{\"name\": \"one\"}\n")
            let two = try Self.statusCommit(repository, "two")
            let second = try repository.mirror(folder: "status", of: two, previous: first.tree)
            #expect(second.written == ["status/ab/two.json"] && second.removed.isEmpty)
            // The index still holds main's old status file only: git status shows the old one deleted and the new ones untracked.
            let porcelain = try git("status", "--porcelain", in: fixture.controllerPath)
            #expect(porcelain.contains("?? status/ab/"), "\(porcelain)")
            // The branch deleted: every mirrored file goes.
            let gone = try repository.mirror(folder: "status", of: nil, previous: second.tree)
            #expect(gone.removed == ["status/ab/one.json", "status/ab/two.json"])
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath + "/status/ab/one.json"))
        }
    }

    @Test func aDeletedStatusBranchIsTakenAsItIs() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            var remote = fixture.configuration
            remote.branch = "indexops/status"
            // First use: the remote has no such branch; nothing happens, and the first push makes it.
            #expect(try repository.sync(remote, replaying: ownCommits, takingDeletion: true).outcome == .noUpstream)
            let pushed = try Self.statusCommit(repository, "pushed")
            #expect(try repository.push(remote, replaying: ownCommits, takingDeletion: true).pushed)
            #expect(try git("rev-parse", "refs/heads/indexops/status", in: fixture.remote) == pushed.hex)

            try git("push", "-q", "origin", ":refs/heads/indexops/status", in: fixture.person)
            let result = try repository.sync(remote, replaying: ownCommits, takingDeletion: true)
            #expect(result.outcome == .deleted)
            #expect(try repository.branchTip("indexops/status") == nil)
            #expect(try repository.trackingTip(remote) == nil)
            // The next status commit starts a new history; the deleted one never comes back.
            let fresh = try Self.statusCommit(repository, "fresh")
            #expect(try repository.push(remote, replaying: ownCommits, takingDeletion: true).pushed)
            #expect(try git("rev-list", "refs/heads/indexops/status", in: fixture.remote) == fresh.hex)
            // Without takingDeletion (the spec branch), nothing is pruned or deleted.
            try git("push", "-q", "origin", ":refs/heads/indexops/status", in: fixture.person)
            _ = try repository.sync(remote, replaying: ownCommits)
            #expect(try repository.branchTip("indexops/status") == fresh)
        }
    }
}
