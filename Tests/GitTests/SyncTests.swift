import Foundation
import Testing
@testable import Git

@Suite struct SyncTests {
    @Test func cloneWritesTheBranchAndACleanWorkTree() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.openOrClone(at: fixture.controllerPath, remote: fixture.configuration)
            #expect(try repository.branchTip("main")?.hex == fixture.remoteHead())
            #expect(try read(fixture.controllerPath + "/specs/team/b.yaml") == "name: b\n")
            #expect(try git("status", "--porcelain", in: fixture.controllerPath) == "")
            #expect(try git("symbolic-ref", "HEAD", in: fixture.controllerPath) == "refs/heads/main")
            #expect(try git("rev-parse", "--abbrev-ref", "main@{upstream}", in: fixture.controllerPath) == "origin/main")
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath + ".partial-\(getpid())"))
        }
    }

    @Test func openWithoutRemoteReportsTheMissingRepository() throws {
        try withScratch { scratch in
            let error = #expect(throws: GitError.self) { try Repository.openOrClone(at: scratch("nothing"), remote: nil) }
            #expect(error?.code == .notFound)
            #expect(error?.message == "no repository at '\(scratch("nothing"))' and no remote URL to clone")
            try FileManager.default.createDirectory(atPath: scratch("empty"), withIntermediateDirectories: true)
            let notRepo = #expect(throws: GitError.self) { try Repository.open(at: scratch("empty")) }
            #expect(notRepo?.code == .notFound)
            #expect(notRepo?.function == "git_repository_open_ext")
            #expect(notRepo?.errorClass == .repository)
        }
    }

    @Test func syncFastForwardsAndPublishTouchesOnlyChangedFiles() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let before = try repository.branchTip("main")
            let untouchedInode = try inode(fixture.controllerPath + "/specs/a.yaml")
            try write(fixture.controllerPath + "/docs/a.md", "# local edit\n")

            try git("pull", "-q", "--ff-only", in: fixture.person)
            try write(fixture.person + "/specs/team/b.yaml", "name: b2\n")
            try write(fixture.person + "/specs/new/c.yaml", "name: c\n")
            try git("rm", "-q", "status/cd/old.json", in: fixture.person)
            try FileManager.default.createSymbolicLink(atPath: fixture.person + "/specs/link.yaml", withDestinationPath: "a.yaml")
            try write(fixture.person + "/tools/run.sh", "#!/bin/sh\n")
            chmod(fixture.person + "/tools/run.sh", 0o755)
            try git("add", "-A", in: fixture.person)
            try git("commit", "-q", "-m", "people: more", in: fixture.person)
            try git("push", "-q", "origin", "main", "main:feature", in: fixture.person)
            let pushed = try fixture.remoteHead()

            let result = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(result.outcome == .fastForwarded)
            #expect(result.previousHead == before)
            #expect(result.head?.hex == pushed)
            #expect(result.moved)
            // Only the configured branch is fetched.
            #expect(try !git("for-each-ref", "--format=%(refname)", "refs/remotes", in: fixture.controllerPath).contains("feature"))

            let report = try repository.publish(to: result.head!)
            #expect(report.written == ["specs/link.yaml", "specs/new/c.yaml", "specs/team/b.yaml", "tools/run.sh"])
            #expect(try FileManager.default.attributesOfItem(atPath: fixture.controllerPath + "/tools/run.sh")[.posixPermissions] as? Int == 0o755)
            #expect(report.removed == ["status/cd/old.json"])
            #expect(try read(fixture.controllerPath + "/specs/team/b.yaml") == "name: b2\n")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fixture.controllerPath + "/specs/link.yaml") == "a.yaml")
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath + "/status/cd"))
            #expect(try inode(fixture.controllerPath + "/specs/a.yaml") == untouchedInode)
            // The local edit of an unchanged path is kept, and is the only difference git sees.
            #expect(try read(fixture.controllerPath + "/docs/a.md") == "# local edit\n")
            #expect(try git("status", "--porcelain", in: fixture.controllerPath) == "M docs/a.md")
            let leftovers = try git("ls-files", "--others", "--exclude-standard", in: fixture.controllerPath)
            #expect(leftovers == "")

            let again = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(again.outcome == .upToDate)
            let indexInode = try inode(fixture.controllerPath + "/.git/index")
            #expect(try repository.publish(to: again.head!).isEmpty)
            #expect(try inode(fixture.controllerPath + "/.git/index") == indexInode)  // not even the index is rewritten
        }
    }

    @Test func anEmptyFolderIsClonedIntoAndAFullOneOpened() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            try FileManager.default.createDirectory(atPath: fixture.controllerPath, withIntermediateDirectories: true)
            let cloned = try Repository.openOrClone(at: fixture.controllerPath, remote: fixture.configuration)
            #expect(try cloned.branchTip("main")?.hex == fixture.remoteHead())
            #expect(try git("status", "--porcelain", in: fixture.controllerPath) == "")
            let opened = try Repository.openOrClone(at: fixture.controllerPath, remote: fixture.configuration)
            #expect(opened.workDirectory == fixture.controllerPath + "/")
        }
    }

    @Test func syncOnAnEmptyRemoteReportsNoUpstream() throws {
        try withScratch { scratch in
            try git("init", "--bare", "-q", scratch("empty.git"), in: scratch.path)
            let configuration = RemoteConfiguration(url: scratch("empty.git"))
            let repository = try Repository.clone(configuration, to: scratch("controller"))
            #expect(try repository.branchTip("main") == nil)
            let result = try repository.sync(configuration, replaying: ownCommits)
            #expect(result.outcome == .noUpstream)

            // The first commit on the unborn branch is a root commit; a second "first" one is refused.
            let root = try repository.commit([.write("status/_diagnostics.json", Data("{}\n".utf8))], on: "main", parent: nil, message: "indexops: init", author: controllerSignature)
            #expect(try git("rev-list", "--parents", "main", in: scratch("controller")) == root?.hex)
            let second = #expect(throws: GitError.self) {
                try repository.commit([.write("status/x.json", Data())], on: "main", parent: nil, message: "again", author: controllerSignature)
            }
            #expect(second?.code == .exists)
            let pushed = try repository.push(configuration, replaying: ownCommits)
            #expect(pushed.head == root)
            #expect(try git("rev-parse", "main", in: scratch("empty.git")) == root?.hex)
        }
    }
}

func inode(_ path: String) throws -> UInt64 {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw Failure("lstat \(path)") }
    return UInt64(info.st_ino)
}
