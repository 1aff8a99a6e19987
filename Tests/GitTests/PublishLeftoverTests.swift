import Foundation
import Testing
@testable import Git

@Suite struct PublishLeftoverTests {
    /// The temporaries a killed publish left are removed, in any folder; files that only look
    /// alike, `.git`, and this process's own temporaries are not.
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
            #expect(try repository.removeLeftoverPublishFiles() == leftovers.sorted())
            for path in leftovers { #expect(!FileManager.default.fileExists(atPath: root + "/" + path), "\(path)") }
            for path in kept { #expect(FileManager.default.fileExists(atPath: root + "/" + path), "\(path)") }
            #expect(try repository.removeLeftoverPublishFiles() == [])
        }
    }
}
