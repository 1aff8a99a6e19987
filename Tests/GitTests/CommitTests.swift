import Foundation
import Testing
@testable import Git

@Suite struct CommitTests {
    @Test func aCommitTouchesOnlyTheGivenPaths() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let path = fixture.controllerPath
            let parent = try repository.branchTip("main")
            let author = Signature(name: "indexops", email: "indexops@example.com", time: Date(timeIntervalSince1970: 1_800_000_000))
            let committer = Signature(name: "Controller Bot", email: "bot@example.com")
            let commit = try repository.commit(
                [.write("status/ab/doc1.json", Data("{\"a\": 1}\n".utf8)), .remove("status/cd/old.json"), .remove("status/zz/absent.json")],
                on: "main", parent: parent,
                message: "indexops: 1 index reconciled\n\ndoc1/vector: creating -> present\n",
                author: author, committer: committer
            )
            let id = try #require(commit)
            #expect(try git("rev-parse", "main", in: path) == id.hex)
            #expect(try git("rev-parse", "main~1", in: path) == parent?.hex)
            let stat = try git("show", "--stat=200", "--format=", "HEAD", in: path)
            let lines = stat.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(lines.count == 3)
            #expect(lines[0].hasPrefix("status/ab/doc1.json | 1 +"))
            #expect(lines[1].hasPrefix("status/cd/old.json  | 1 -"))
            #expect(try git("show", "--name-status", "--format=", "HEAD", in: path) == "A\tstatus/ab/doc1.json\nD\tstatus/cd/old.json")
            for untouched in ["specs", "docs"] {
                #expect(try git("rev-parse", "HEAD:\(untouched)", in: path) == git("rev-parse", "HEAD~1:\(untouched)", in: path))
            }
            #expect(try git("ls-tree", "--name-only", "HEAD", "status/", in: path) == "status/ab")
            #expect(try git("log", "-1", "--format=%an|%ae|%at|%cn|%ce|%B", in: path) == "indexops|indexops@example.com|1800000000|Controller Bot|bot@example.com|indexops: 1 index reconciled\n\ndoc1/vector: creating -> present")
            #expect(try git("show", "HEAD:status/ab/doc1.json", in: path) == "{\"a\": 1}")
            _ = try git("fsck", "--strict", "--no-dangling", in: path)

            // The same edits again change nothing: no commit, the branch stays.
            let again = try repository.commit([.write("status/ab/doc1.json", Data("{\"a\": 1}\n".utf8))], on: "main", parent: id, message: "again", author: author)
            #expect(again == nil)
            #expect(try git("rev-parse", "main", in: path) == id.hex)
            #expect(try git("rev-list", "--count", "main", in: path) == "2")
        }
    }

    @Test func aConcurrentWriterIsDetectedNotOverwritten() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let readHead = try repository.branchTip("main")
            try git("commit", "-q", "--allow-empty", "-m", "someone else", in: fixture.controllerPath)
            let theirs = try git("rev-parse", "main", in: fixture.controllerPath)

            let error = #expect(throws: GitError.self) {
                try repository.commit([.write("status/ab/x.json", Data("{}\n".utf8))], on: "main", parent: readHead, message: "ours", author: controllerSignature)
            }
            #expect(error?.code == .modified)
            #expect(error?.function == "git_reference_create_matching")
            #expect(error?.message == "old reference value does not match")
            #expect(try git("rev-parse", "main", in: fixture.controllerPath) == theirs)
        }
    }

    @Test func aDuplicatedOrUncleanPathIsRefused() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let head = try repository.branchTip("main")
            let twice = #expect(throws: GitError.self) {
                try repository.commit([.remove("status/a.json"), .write("status/a.json", Data())], on: "main", parent: head, message: "m", author: controllerSignature)
            }
            #expect(twice?.message == "'status/a.json' is edited twice in one commit")
            let escape = #expect(throws: GitError.self) {
                try repository.commit([.write("status/../specs/a.yaml", Data())], on: "main", parent: head, message: "m", author: controllerSignature)
            }
            #expect(escape?.code == .invalid)
            #expect(try repository.branchTip("main") == head)
        }
    }
}
