import Foundation
import Testing
@testable import Git

@Suite struct LockTests {
    @Test func onlyOldLocksThatNoProcessHoldsAreRemoved() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let gitDir = fixture.controllerPath + "/.git/"
            let now = Date()
            let hourAgo = now.addingTimeInterval(-3600)
            // Left by killed processes: old, and nobody has them open.
            let stale = [gitDir + "index.lock", gitDir + "refs/heads/main.lock"]
            // Held by a live process (old, but open), and just taken (young, not open).
            let held = gitDir + "packed-refs.lock"
            let young = gitDir + "HEAD.lock"
            for path in stale + [held] {
                try write(path, "")
                try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: path)
            }
            try write(young, "")
            try FileManager.default.setAttributes([.modificationDate: now], ofItemAtPath: young)

            // The branch's lock blocks our commit, as it blocks git.
            let blocked = #expect(throws: GitError.self) {
                try repository.commit([.write("status/ab/a.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "blocked", author: controllerSignature)
            }
            #expect(blocked?.code == .locked)
            #expect(blocked?.function == "git_reference_create_matching")

            // A live process holds the lock open (the child opens it as its stdin; we do not).
            let holder = try Child("/bin/sleep", ["infinity"], stdin: held, capture: false)
            defer { holder.stop() }

            let removed = try repository.removeStaleLocks(minimumAge: .seconds(60), now: now)
            #expect(removed.map(\.path) == stale.sorted())
            #expect(removed.first?.description.hasPrefix("removed stale lock '\(gitDir)index.lock' (last modified ") == true)
            for path in stale { #expect(!FileManager.default.fileExists(atPath: path)) }
            #expect(FileManager.default.fileExists(atPath: held))
            #expect(FileManager.default.fileExists(atPath: young))

            // Once the holder is gone, its lock is stale too.
            holder.stop()
            #expect(try repository.removeStaleLocks(minimumAge: .seconds(60), now: now).map(\.path) == [held])

            try FileManager.default.removeItem(atPath: young)
            let head = try repository.commit([.write("status/ab/a.json", Data("{}\n".utf8))], on: "main", parent: repository.branchTip("main"), message: "after recovery", author: controllerSignature)
            #expect(try repository.publish(to: #require(head)).written == ["status/ab/a.json"])
            #expect(try git("status", "--porcelain", in: fixture.controllerPath) == "")
        }
    }
}
