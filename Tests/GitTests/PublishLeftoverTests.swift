import Foundation
import Testing
@testable import Git

@Suite struct PublishLeftoverTests {
    /// The temporaries a killed publish left are removed, in any folder; files that only look
    /// alike, `.git`, and this process's own temporaries are not. (A real kill during a
    /// publish: `FailpointMatrixTests`, `publish-midway`.)
    @Test func leftoversOfAKilledPublishAreRemoved() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let root = fixture.controllerPath
            let leftovers = [".doc1.json.indexops-4242-1", "status/ab/.doc2.json.indexops-4242-17", "specs/.x.yaml.indexops-1-0"]
            let kept = [
                ".hidden", "status/ab/.doc3.json.indexops-12-", "status/.indexops-1-2", "status/a.indexops-1-2",
                "status/.y.indexops-1-2x", ".z.indexops-\(getpid())-3", ".git/.w.indexops-1-2",
            ]
            for path in leftovers + kept {
                let url = URL(fileURLWithPath: root + "/" + path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data("x".utf8).write(to: url)
            }
            try Data().write(to: URL(fileURLWithPath: repository.publishMarker))  // what the killed publish left too
            #expect(try repository.removeLeftoverPublishFiles() == leftovers.sorted())
            #expect(!FileManager.default.fileExists(atPath: repository.publishMarker))
            for path in leftovers { #expect(!FileManager.default.fileExists(atPath: root + "/" + path), "\(path)") }
            for path in kept { #expect(FileManager.default.fileExists(atPath: root + "/" + path), "\(path)") }
            #expect(try repository.removeLeftoverPublishFiles() == [])
        }
    }

    /// A publish that finished removes its marker, so the next start does not walk the work
    /// tree: a file that looks like a leftover (made by hand here) stays. One that failed
    /// leaves the marker, and the next start looks.
    @Test func aStartAfterFinishedPublishesDoesNotWalkTheWorkTree() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            try fixture.personPushes("specs/c.yaml", "name: c\n", message: "people: c")
            let result = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(try repository.publish(to: result.head!).written == ["specs/c.yaml"])
            #expect(!FileManager.default.fileExists(atPath: repository.publishMarker))
            let lookalike = fixture.controllerPath + "/specs/.c.yaml.indexops-4242-1"
            try write(lookalike, "x")
            #expect(try repository.removeLeftoverPublishFiles() == [])
            #expect(FileManager.default.fileExists(atPath: lookalike))

            try fixture.personPushes("specs/d.yaml", "name: d\n", message: "people: d")
            let next = try repository.sync(fixture.configuration, replaying: ownCommits)
            try FileManager.default.createDirectory(atPath: fixture.controllerPath + "/specs/d.yaml", withIntermediateDirectories: false)
            try write(fixture.controllerPath + "/specs/d.yaml/keep", "a folder where the file goes, not empty: the rename fails")
            #expect(throws: GitError.self) { try repository.publish(to: next.head!) }
            #expect(FileManager.default.fileExists(atPath: repository.publishMarker))
            #expect(try repository.removeLeftoverPublishFiles() == ["specs/.c.yaml.indexops-4242-1"])
        }
    }
}
