import Foundation
import Testing
@testable import Git

/// A status file as the controller writes it, about 700 bytes.
func statusText(_ index: Int, state: String = "creating") -> String {
    """
    {
      "apiVersion": "indexops/v1",
      "documentId": "doc\(index)",
      "indexes": {
        "vector": {
          "actualState": "\(state)",
          "createdAt": "2026-11-29T10:00:03Z",
          "desiredState": "present",
          "errorMessage": null,
          "indexData": { "chunks": \(index % 50) },
          "observedRevision": "\(String(index &* 2_654_435_761, radix: 16))",
          "retryCount": 0,
          "updatedAt": "2026-11-29T10:00:05Z"
        }
      },
      "kind": "DocumentIndexStatus",
      "source": { "path": "docs/doc\(index).md" },
      "specFile": "specs/doc\(index).yaml"
    }

    """
}

/// `status/<ab>/doc<index>.json`, spread over 256 folders as the controller does.
func statusPath(_ index: Int) -> String {
    "status/\(String(format: "%02x", (index &* 2_654_435_761) & 0xff))/doc\(index).json"
}

/// What `git count-objects -v` says, by key (`count`, `packs`, `in-pack`, `garbage`, …).
func countObjects(in path: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for line in try git("count-objects", "-v", in: path).split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 2 { result[parts[0]] = parts[1] }
    }
    return result
}

@Suite struct PackTests {
    @Test func aCommitOfTwentyThousandFilesIsOnePackThatGitReads() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let path = fixture.controllerPath
            let second = try Repository.open(at: path)  // another reader, opened before the commit
            let before = try repository.objectStoreCounts()  // a local clone links the remote's loose objects
            let count = 20_000
            let edits = (0..<count).map { PathEdit.write(statusPath($0), Data(statusText($0).utf8)) }

            let clock = ContinuousClock()
            let start = clock.now
            let commit = try #require(try repository.commit(edits, on: "main", parent: repository.branchTip("main"), message: "indexops: \(count) intents", author: controllerSignature))
            print("PackTests: a commit of \(count) status files took \(clock.now - start) (debug build)")

            let after = try repository.objectStoreCounts()
            // 20,000 blobs, 256 shard folders, status/, the root tree, the commit.
            #expect(after == ObjectStoreCounts(packs: before.packs + 1, packedObjects: before.packedObjects + count + 256 + 2 + 1, looseObjects: before.looseObjects))
            let counted = try countObjects(in: path)
            #expect(counted["count"] == "\(before.looseObjects)")
            #expect(counted["packs"] == "\(before.packs + 1)")
            #expect(counted["garbage"] == "0")
            _ = try git("fsck", "--strict", "--no-dangling", in: path)
            #expect(try git("log", "-1", "--format=%H %s", in: path) == "\(commit.hex) indexops: \(count) intents")
            #expect(try git("ls-tree", "-r", "--name-only", "HEAD", "status/", in: path).split(separator: "\n").count == count + 1)
            #expect(try git("show", "HEAD:\(statusPath(12_345))", in: path) + "\n" == statusText(12_345))
            #expect(try git("show", "--format=", "--name-only", "HEAD", in: path).split(separator: "\n").count == count)
            // The other handle reads the new objects without being reopened.
            #expect(try second.readFile(statusPath(7), at: commit).contents == Data(statusText(7).utf8))

            // One more edit is one more pack of five objects: the blob, three trees, the commit.
            let next = try #require(try repository.commit([.write(statusPath(7), Data(statusText(7, state: "present").utf8))], on: "main", parent: commit, message: "indexops: 1 result", author: controllerSignature))
            #expect(try repository.objectStoreCounts() == ObjectStoreCounts(packs: after.packs + 1, packedObjects: after.packedObjects + 5, looseObjects: before.looseObjects))
            #expect(try git("show", "--format=%s", "--name-status", "HEAD", in: path) == "indexops: 1 result\n\nM\t\(statusPath(7))")
            #expect(try second.readFile(statusPath(7), at: next).contents == Data(statusText(7, state: "present").utf8))
            _ = try git("fsck", "--strict", "--no-dangling", in: path)
        }
    }

    @Test func aCommitThatLosesTheRaceLeavesOnlyAnUnnamedPack() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let path = fixture.controllerPath
            let readHead = try repository.branchTip("main")
            try git("commit", "-q", "--allow-empty", "-m", "someone else", in: path)
            let before = try repository.objectStoreCounts()
            #expect(throws: GitError.self) {
                try repository.commit([.write("status/ab/x.json", Data("{}\n".utf8))], on: "main", parent: readHead, message: "ours", author: controllerSignature)
            }
            // As after a crash between the pack and the reference: a pack nothing names.
            #expect(try repository.objectStoreCounts().packs == before.packs + 1)
            _ = try git("fsck", "--strict", in: path)
            #expect(try git("log", "-1", "--format=%s", in: path) == "someone else")
        }
    }

    @Test func aReplayAfterARejectedPushIsOnePackAndPushes() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            var head = try #require(try repository.branchTip("main"))
            for index in 0..<3 {
                head = try #require(try repository.commit([.write(statusPath(index), Data(statusText(index).utf8))], on: "main", parent: head, message: "ours \(index)", author: controllerSignature))
            }
            try fixture.personPushes("specs/p.yaml", "p\n", message: "people: p")
            let before = try repository.objectStoreCounts()
            let result = try repository.push(fixture.configuration, replaying: "status", retry: PushTests.noWait)
            #expect(result.replayedCommits == 3)
            #expect(result.attempts == 2)
            // The fetch brought one pack, the replay wrote one: three commits, their trees.
            let after = try repository.objectStoreCounts()
            #expect(after.packs == before.packs + 2)
            #expect(after.looseObjects == before.looseObjects)
            #expect(try git("log", "--format=%s", "main", in: fixture.remote) == "ours 2\nours 1\nours 0\npeople: p\npeople: first specs")
            #expect(try git("show", "main:\(statusPath(2))", in: fixture.remote) + "\n" == statusText(2))
            _ = try git("fsck", "--strict", "--no-dangling", in: fixture.remote)
            _ = try git("fsck", "--strict", in: fixture.controllerPath)
        }
    }
}
