import Foundation
import Testing
@testable import Git

/// A publish that patches the index as bytes (``IndexFile``) leaves the index git itself
/// reads back exactly as the published commit: every entry's mode, id and path, a clean
/// `git status`, and a valid cached tree.
@Suite struct IndexFileTests {
    /// `mode id path` of every entry, as git lists the index and the commit.
    static func index(_ directory: String) throws -> [String] {
        try git("ls-files", "-s", in: directory).split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            let fields = parts[0].split(separator: " ")
            return "\(fields[0]) \(fields[1]) \(parts[1])"
        }
    }

    static func tree(_ commit: OID, _ directory: String) throws -> [String] {
        try git("ls-tree", "-r", commit.hex, in: directory).split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            let fields = parts[0].split(separator: " ")
            return "\(fields[0]) \(fields[2]) \(parts[1])"
        }
    }

    @Test func publishesPatchTheIndexAsGitReadsIt() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let clone = fixture.controllerPath
            func publish(_ changes: [PathEdit], _ message: String) throws -> OID {
                let commit = try #require(try repository.commit(
                    changes, on: "main", parent: repository.branchTip("main"), message: message, author: controllerSignature))
                try repository.publish(to: commit)
                #expect(try git("status", "--porcelain", "--untracked-files=all", in: clone) == "", "\(message)")
                #expect(try Self.index(clone) == Self.tree(commit, clone), "\(message)")
                // Each cached tree that claims to be known is what git finds at its path.
                for record in try PublishTests.cachedTrees(clone + "/.git/index") where record.entries >= 0 {
                    #expect(record.tree == (try git("rev-parse", "\(commit.hex):\(record.path)", in: clone)), "\(message): '\(record.path)'")
                    let below = try git("ls-files", "--", record.path.isEmpty ? "." : record.path, in: clone).split(separator: "\n").count
                    #expect(record.entries == below, "\(message): '\(record.path)'")
                }
                return commit
            }

            // The clone's first publish: libgit2's index, left with valid cached trees.
            _ = try publish([.write("status/ab/doc1.json", Data("{}\n".utf8))], "one status")
            var reads = repository.counters.libgit2IndexReads
            // Replaced, added beside others, added first and last in their folders, removed.
            let second = try publish([
                .write("specs/a.yaml", Data("name: a2\n".utf8)), .write("status/ab/doc0.json", Data("{\"a\":0}\n".utf8)),
                .write("status/ab/doc9.json", Data("{\"a\":9}\n".utf8)), .write("status/ab/doc5.json", Data("{\"a\":5}\n".utf8)),
                .remove("status/cd/old.json"),
            ], "replace, add, remove")
            #expect(repository.counters.libgit2IndexReads == reads, "patched as bytes")
            let root = try #require(try PublishTests.cachedRootTree(clone + "/.git/index"))
            #expect(root.entries == (try Self.index(clone).count))
            #expect(root.tree == (try repository.treeID(ofCommit: second).hex))

            // New folders get their records; a folder whose last file goes loses its own.
            let third = try publish([
                .write("status/ef/doc2.json", Data("{}\n".utf8)), .write("docs/new/deep/b.md", Data("# B\n".utf8)),
                .remove("specs/team/b.yaml"),
            ], "new folders, a folder gone")
            #expect(repository.counters.libgit2IndexReads == reads)
            let after = try #require(try PublishTests.cachedRootTree(clone + "/.git/index"))
            #expect(after.entries == (try Self.index(clone).count))
            #expect(after.tree == (try repository.treeID(ofCommit: third).hex))

            // An index as bytes indexops does not patch (version 4, paths compressed): libgit2
            // reads and writes it, as before.
            _ = try git("update-index", "--index-version", "4", in: clone)
            _ = try publish([.write("status/ef/doc2.json", Data("{\"b\":1}\n".utf8))], "a version 4 index")
            #expect(repository.counters.libgit2IndexReads == reads + 1)
            _ = try git("fsck", "--no-dangling", in: clone)
        }
    }
}
