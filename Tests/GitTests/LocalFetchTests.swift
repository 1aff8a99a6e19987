import Foundation
import Testing
@testable import Git

/// A fetch from a repository on this machine copies what the new commits changed, found by
/// comparing trees; the clone ends with every object of the upstream, whatever its shape.
@Suite struct LocalFetchTests {
    static func fetch(_ repository: Repository, _ fixture: Fixture) throws -> (objects: Int, treesRead: Int) {
        try repository.fetchLocally(from: fixture.remote, ref: "refs/heads/main", into: "refs/remotes/origin/main", prune: false)
    }

    /// Objects that the clone's remote-tracking branch reaches and the clone lacks, as real
    /// git lists them (`?<id>`); empty when the clone is whole.
    static func missingObjects(in directory: String) throws -> String {
        try git("rev-list", "--objects", "--missing=print", "refs/remotes/origin/main", in: directory)
            .split(separator: "\n").filter { $0.hasPrefix("?") }.joined(separator: "\n")
    }

    /// One edited file among 600 in 30 folders: the fetch reads the three trees on its path
    /// on each side (not the 30 folders), copies five objects (commit, three trees, blob),
    /// and the clone is whole and fsck-clean.
    @Test func oneEditedFileCostsTheTreesOnItsPath() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            try git("pull", "-q", "--ff-only", "origin", "main", in: fixture.person)
            for folder in 0..<30 {
                for file in 0..<20 { try write(fixture.person + "/specs/f\(folder)/d\(file).yaml", "name: d\(folder)-\(file)\n") }
            }
            try git("add", "-A", in: fixture.person)
            try git("commit", "-q", "-m", "people: 600 specs", in: fixture.person)
            try git("push", "-q", "origin", "main", in: fixture.person)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)

            let pushed = try fixture.personPushes("specs/f7/d3.yaml", "name: edited\n", message: "people: one edit")
            let copied = try Self.fetch(repository, fixture)
            #expect(copied.objects == 5)
            #expect(copied.treesRead == 6, "root, specs and specs/f7, new and old")
            #expect(try repository.trackingTip(fixture.configuration)?.hex == pushed)
            #expect(try git("reflog", "-1", "--format=%gs", "refs/remotes/origin/main", in: fixture.controllerPath) == "indexops: fetch")
            #expect(try Self.missingObjects(in: fixture.controllerPath) == "")
            _ = try git("fsck", "--strict", "--no-dangling", in: fixture.controllerPath)

            let again = try Self.fetch(repository, fixture)
            #expect(again.objects == 0 && again.treesRead == 0, "nothing new: not even a tree is read")
        }
    }

    /// A merge of a side branch (whose files only the second parent brings), then a commit
    /// with names no checkout would write: every object arrives, as git itself counts.
    @Test func mergesAndCraftedTreesArriveWhole() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let person = fixture.person
            try git("pull", "-q", "--ff-only", "origin", "main", in: person)
            try git("checkout", "-q", "-b", "side", in: person)
            try write(person + "/specs/side/s.yaml", "name: s\n")
            try git("add", "-A", in: person)
            try git("commit", "-q", "-m", "people: side", in: person)
            try git("checkout", "-q", "main", in: person)
            try write(person + "/docs/main.md", "# main\n")
            try git("add", "-A", in: person)
            try git("commit", "-q", "-m", "people: main", in: person)
            try git("merge", "-q", "--no-ff", "-m", "people: merge side", "side", in: person)
            try git("push", "-q", "origin", "main", in: person)

            let merged = try Self.fetch(repository, fixture)
            #expect(merged.objects == 11, "three commits; the side's blob, specs/side, specs and root; main's blob, docs and root; the merge's root")
            #expect(try Self.missingObjects(in: fixture.controllerPath) == "")

            let hostile = try CraftedTreeTests.pushHostileCommit(fixture)
            _ = try Self.fetch(repository, fixture)
            #expect(try repository.trackingTip(fixture.configuration)?.hex == hostile)
            #expect(try Self.missingObjects(in: fixture.controllerPath) == "")
        }
    }
}
