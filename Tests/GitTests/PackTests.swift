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

/// Every object id in the repository, packed or loose, sorted.
func allObjects(in path: String) throws -> [String] {
    Set(try git("cat-file", "--batch-all-objects", "--batch-check=%(objectname)", in: path).split(separator: "\n").map(String.init)).sorted()
}

/// The deleted files below `folder` that this process still holds open or mapped.
func deletedFilesHeld(under folder: String) -> [String] {
    var held = Set<String>()
    let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
    for line in maps.split(separator: "\n") where line.contains(folder + "/") && line.hasSuffix(" (deleted)") {
        held.insert(String(line[line.range(of: folder)!.lowerBound...]))
    }
    for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd),
           target.hasPrefix(folder + "/"), target.hasSuffix(" (deleted)") {
            held.insert(target)
        }
    }
    return held.sorted()
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

    @Test func fiveHundredCommitsKeepThePackCountBounded() throws {
        // In memory: on disk, the ten fsyncs of each commit (four for the pack, six for the
        // branch and its two reflogs) take most of a minute on a busy machine.
        try withScratch(inMemory: true) { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let path = fixture.controllerPath
            var head = try #require(try repository.branchTip("main"))
            var most = 0
            var consolidations = 0
            var packs = try repository.packFolder().packCount()
            let clock = ContinuousClock()
            let start = clock.now
            for pass in 1...500 {
                // A pass: a few statuses change, now and then one is added or removed.
                var edits = (0..<3).map { PathEdit.write(statusPath((pass * 3 + $0) % 40), Data(statusText(pass * 3 + $0).utf8)) }
                if pass % 7 == 0 { edits.append(.remove(statusPath(40 + pass - 6))) }
                edits.append(.write(statusPath(40 + pass), Data(statusText(40 + pass).utf8)))
                head = try #require(try repository.commit(edits, on: "main", parent: head, message: "indexops: pass \(pass)", author: controllerSignature))
                let now = try repository.packFolder().packCount()
                if now < packs { consolidations += 1 }
                packs = now
                most = max(most, now)
            }
            print("PackTests: 500 commits took \(clock.now - start), \(consolidations) consolidations, at most \(most) packs")
            #expect(most <= Repository.defaultPackLimit + 1)
            #expect(try repository.objectStoreCounts().looseObjects == 0)
            _ = try git("fsck", "--strict", "--no-dangling", in: path)
            #expect(try git("rev-list", "--count", "main", in: path) == "501")
            #expect(try git("show", "main:\(statusPath(40 + 500))", in: path) + "\n" == statusText(40 + 500))
            #expect(try git("show", "main~1:\(statusPath(1499 % 40))", in: path) + "\n" == statusText(1499))
            #expect(try git("ls-tree", "-r", "--name-only", "main", "status/", in: path).split(separator: "\n").count == 1 + 40 + 500 - 500 / 7)
        }
    }

    @Test func consolidationRollsSmallPacksAndLooseObjectsIntoOneAndKeepsEveryObject() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let path = fixture.controllerPath
            // Loose objects, as a local clone, an older indexops or a person's commit in the
            // clone leave them.
            let cloned = try repository.objectStoreCounts().looseObjects
            try write(path + "/notes.txt", "a person's note\n")
            try git("add", "notes.txt", in: path)
            try git("commit", "-q", "-m", "a person commits in the clone", in: path)
            var head = try #require(try repository.branchTip("main"))
            for index in 0..<6 {
                head = try #require(try repository.commit([.write(statusPath(index), Data(statusText(index).utf8))], on: "main", parent: head, message: "c\(index)", author: controllerSignature))
            }
            // A multi-pack-index, which would name the packs that go, a pack someone asked to
            // keep, and what a killed pack writer leaves (old, and fresh).
            try git("multi-pack-index", "write", in: path)
            let folder = try repository.packFolder()
            let kept = try #require(try folder.packs().first { $0.objectCount == 5 })
            try write(folder.path + "/" + kept.name + ".keep", "")
            let old = ["pack_git2_Ab12Cd", "pack_git2_Ab12Cdidx.lock", "pack-\(String(repeating: "0", count: 40)).idx", "pack-\(String(repeating: "1", count: 40)).pack", "tmp_pack_x"]
            for name in old + ["pack_git2_Fresh1"] {
                try write(folder.path + "/" + name, "partial")
            }
            for name in old {
                var times = [timespec(tv_sec: time(nil) - 7200, tv_nsec: 0), timespec(tv_sec: time(nil) - 7200, tv_nsec: 0)]
                #expect(utimensat(AT_FDCWD, folder.path + "/" + name, &times, 0) == 0)
            }
            _ = try git("fsck", "--strict", "--no-dangling", in: path)  // git ignores all of them
            let objects = try allObjects(in: path)
            // Another handle, which has read from every pack (a search for a missing object
            // maps each index).
            let second = try Repository.open(at: path)
            #expect(try second.readFile(statusPath(5), at: head).contents == Data(statusText(5).utf8))
            #expect(throws: GitError.self) { try second.readBlob(oid(String(repeating: "1", count: 40))) }
            #expect(deletedFilesHeld(under: path) == [])
            let before = try repository.objectStoreCounts()
            #expect(before.packs == 6)  // one per commit
            #expect(before.looseObjects == cloned + 3)  // the person's blob, tree and commit

            let done = try #require(try repository.consolidatePacks(in: folder))
            #expect(done.packs == 5)  // all but the kept one
            #expect(done.looseObjects == cloned + 3)
            #expect(try repository.objectStoreCounts() == ObjectStoreCounts(packs: 2, packedObjects: done.objects + kept.objectCount, looseObjects: 0))
            #expect(try allObjects(in: path) == objects)
            #expect(folder.fileNames().filter { !$0.hasPrefix("pack-") } == ["pack_git2_Fresh1"])
            #expect(folder.fileNames().filter { $0.hasPrefix("pack-000") || $0.hasPrefix("pack-111") }.isEmpty)
            #expect(FileManager.default.fileExists(atPath: folder.path + "/" + kept.name + ".pack"))
            _ = try git("fsck", "--strict", "--no-dangling", in: path)
            #expect(try countObjects(in: path)["garbage"] == "1")  // the fresh temporary stays: its writer may be alive
            #expect(try git("log", "--format=%s", "-2", in: path) == "c5\nc4")
            // Both handles read on, from the new pack, and hold no deleted file.
            #expect(try repository.readFile("specs/a.yaml", at: head).contents == Data("name: a\n".utf8))
            #expect(try second.readFile("notes.txt", at: head).contents == Data("a person's note\n".utf8))
            #expect(try second.readFile(statusPath(0), at: head).contents == Data(statusText(0).utf8))
            #expect(deletedFilesHeld(under: path) == [])

            // With nothing small left to roll up, nothing is done.
            #expect(try repository.consolidatePacks(in: folder) == nil)
        }
    }

    @Test func aCommitConsolidatesWhenThePackLimitIsPassed() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            repository.packLimit = 4
            var head = try #require(try repository.branchTip("main"))
            var counts: [Int] = []
            for index in 0..<6 {
                head = try #require(try repository.commit([.write(statusPath(index), Data(statusText(index).utf8))], on: "main", parent: head, message: "c\(index)", author: controllerSignature))
                counts.append(try repository.objectStoreCounts().packs)
            }
            // The sixth commit finds five packs (5 objects each), more than four: it rolls them
            // and the clone's loose objects into one, then writes its own.
            #expect(counts == [1, 2, 3, 4, 5, 2])
            #expect(try repository.objectStoreCounts().looseObjects == 0)
            _ = try git("fsck", "--strict", "--no-dangling", in: fixture.controllerPath)
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
            let result = try repository.push(fixture.configuration, replaying: ownCommits, retry: PushTests.noWait)
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

    @Test(arguments: [
        // (object counts ascending, loose objects, limit) -> packs rolled up
        ([Int](), 0, 32, 0),
        ([100], 0, 32, 0),
        ([5, 5], 0, 32, 2),
        ([5, 20, 1000], 0, 32, 0),  // already a progression
        ([5, 20, 1000], 30, 32, 2),  // the loose objects make the small ones too big
        ([5, 5, 5, 5, 10_000], 0, 32, 4),  // the clone's big pack stays
        ([5, 5, 5, 5, 30], 0, 32, 5),  // 20 rolled would be too big for 30
        ([1, 2, 4, 8, 16, 32], 0, 3, 4),  // a progression, but over the limit
    ])
    func rollUp(counts: [Int], loose: Int, limit: Int, expected: Int) {
        #expect(Repository.rollUpCount(objectCounts: counts, looseObjects: loose, limit: limit) == expected)
    }
}
