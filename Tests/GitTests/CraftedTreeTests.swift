import Foundation
import Testing
@testable import Git

/// One entry of a tree object made by hand: any name, even one git itself would refuse.
struct CraftedEntry {
    var mode: String
    var name: [UInt8]
    var id: String

    init(_ mode: String, _ name: String, _ id: String) {
        self.init(mode, Array(name.utf8), id)
    }

    init(_ mode: String, _ name: [UInt8], _ id: String) {
        self.mode = mode
        self.name = name
        self.id = id
    }
}

/// Writes a tree object with exactly `entries` (in git's order) into the repository at
/// `directory` with `git hash-object --literally`, as an attacker would; returns its id.
func craftTree(_ entries: [CraftedEntry], in directory: String) throws -> String {
    func key(_ e: CraftedEntry) -> [UInt8] { e.mode == "40000" ? e.name + [UInt8(ascii: "/")] : e.name }
    var bytes: [UInt8] = []
    for entry in entries.sorted(by: { key($0).lexicographicallyPrecedes(key($1)) }) {
        bytes += Array("\(entry.mode) ".utf8) + entry.name + [0]
        var hex = Substring(entry.id)
        while !hex.isEmpty {
            bytes.append(UInt8(hex.prefix(2), radix: 16)!)
            hex = hex.dropFirst(2)
        }
    }
    let file = directory + "/.crafted-tree-\(UUID().uuidString)"
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    return try git("hash-object", "-t", "tree", "--literally", "-w", file, in: directory)
}

/// The entries of an existing tree, to add crafted ones beside them.
func treeEntries(_ treeish: String, in directory: String) throws -> [CraftedEntry] {
    try git("ls-tree", treeish, in: directory).split(separator: "\n").map { line in
        let parts = line.split(separator: "\t", maxSplits: 1)
        let fields = parts[0].split(separator: " ")
        return CraftedEntry(fields[0] == "040000" ? "40000" : String(fields[0]), String(parts[1]), String(fields[2]))
    }
}

func blob(_ text: String, in directory: String) throws -> String {
    let file = directory + "/.crafted-blob-\(UUID().uuidString)"
    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    return try git("hash-object", "-w", file, in: directory)
}

@Suite struct CraftedTreeTests {
    /// The person pushes a commit whose tree holds `..`, `.git`, `.GIT`, `git~1`, a name
    /// with `/` and outward symlinks beside good files; returns the commit.
    static func pushHostileCommit(_ fixture: Fixture) throws -> String {
        let person = fixture.person
        try git("pull", "-q", "--ff-only", "origin", "main", in: person)
        let hook = try blob("#!/bin/sh\ntouch /tmp/pwned\n", in: person)
        let hooks = try craftTree([CraftedEntry("100755", "pre-commit", hook)], in: person)
        let dotGit = try craftTree([CraftedEntry("40000", "hooks", hooks)], in: person)
        let escaped = try craftTree([CraftedEntry("100644", "escaped.txt", try blob("out\n", in: person))], in: person)
        let outside = try blob("../../outside.txt", in: person)
        let absolute = try blob("/etc/passwd", in: person)
        let inside = try blob("a.md", in: person)
        var docs = try treeEntries("HEAD:docs", in: person)
        docs += [CraftedEntry("120000", "outward", outside), CraftedEntry("120000", "inward", inside), CraftedEntry("100644", "new.md", try blob("new\n", in: person))]
        var root = try treeEntries("HEAD", in: person).filter { $0.name != Array("docs".utf8) }
        root += [
            CraftedEntry("40000", "docs", try craftTree(docs, in: person)),
            CraftedEntry("40000", "..", escaped),
            CraftedEntry("40000", ".git", dotGit),
            CraftedEntry("40000", ".GIT", dotGit),
            CraftedEntry("40000", "git~1", dotGit),
            CraftedEntry("100644", "a/b", hook),
            CraftedEntry("120000", "passwd", absolute),
        ]
        let tree = try craftTree(root, in: person)
        let commit = try git("commit-tree", tree, "-p", "HEAD", "-m", "people: a hostile tree", in: person)
        try git("update-ref", "refs/heads/main", commit, in: person)
        try git("push", "-q", "origin", "main", in: person)
        return commit
    }

    static let expectedSkipped = [
        ".. (unsafeName): '..' names the folder above",
        ".GIT (unsafeName): '.git' (in any letter case) is git's own folder",
        ".git (unsafeName): '.git' (in any letter case) is git's own folder",
        "a\\x2fb (unsafeName): a name with '/' inside",
        "docs/outward (unsafeSymlink): its target '../../outside.txt' climbs out of the work tree; the symlink is not created",
        "git~1 (unsafeName): an NTFS spelling of '.git'",
        "passwd (unsafeSymlink): its target '/etc/passwd' is absolute, outside the work tree; the symlink is not created",
    ]

    static func described(_ skipped: [SkippedEntry]) -> [String] {
        skipped.map { "\($0.path) (\($0.kind.rawValue)): \($0.reason)" }
    }

    static func expectNothingEscaped(_ fixture: Fixture) throws {
        let controller = fixture.controllerPath
        #expect(!FileManager.default.fileExists(atPath: fixture.scratch("escaped.txt")))
        #expect(!FileManager.default.fileExists(atPath: controller + "/.git/hooks/pre-commit"))
        for name in [".GIT", "git~1", "a", "passwd", "docs/outward", ".."] where name != ".." {
            #expect(!FileManager.default.fileExists(atPath: controller + "/" + name), "\(name)")
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: controller + "/docs/inward") == "a.md")
        #expect(try read(controller + "/docs/new.md") == "new\n")
        // No temporary file anywhere.
        let leftovers = try git("ls-files", "--others", in: controller)
        #expect(leftovers == "")
    }

    @Test func anExistingCloneWritesNothingUnsafe() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let hostile = try Self.pushHostileCommit(fixture)
            let result = try repository.sync(fixture.configuration, replaying: ownCommits)
            #expect(result.head?.hex == hostile)
            let report = try repository.publish(to: try #require(result.head))
            #expect(Self.described(report.skipped) == Self.expectedSkipped)
            #expect(report.written == ["docs/inward", "docs/new.md"])
            try Self.expectNothingEscaped(fixture)
            // The report is the same whenever asked, and a publish that changes nothing
            // reports them again.
            #expect(Self.described(try repository.entriesLeftOutOfWorkTree(at: hostile.asOID())) == Self.expectedSkipped)
            let again = try repository.publish(to: hostile.asOID())
            #expect(again.isEmpty)
            #expect(Self.described(again.skipped) == Self.expectedSkipped)
            // Reads never produce those paths either.
            let files = try repository.files(in: "", at: hostile.asOID()).map(\.path)
            #expect(!files.contains { $0.hasPrefix("..") || $0.hasPrefix(".git") || $0.hasPrefix(".GIT") || $0.hasPrefix("git~1") || $0.hasPrefix("a/") })
            var skipped: [SkippedEntry] = []
            _ = try repository.files(in: "", at: hostile.asOID(), skipped: &skipped)
            #expect(skipped.map(\.path).sorted() == ["..", ".GIT", ".git", "a\\x2fb", "git~1"])
        }
    }

    @Test func aFreshCloneWritesNothingUnsafe() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            _ = try Self.pushHostileCommit(fixture)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            #expect(try repository.branchTip("main")?.hex == fixture.remoteHead())
            try Self.expectNothingEscaped(fixture)
            #expect(try read(fixture.controllerPath + "/specs/team/b.yaml") == "name: b\n")
        }
    }

    @Test func aFileOverTheWorkTreeLimitStaysInGitOnly() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            repository.workTreeFileLimit = BlobSizeLimit(bytes: 1000, setting: "limits.maxWorkTreeFileSize")
            try fixture.personPushes("docs/a.md", String(repeating: "x", count: 2000), message: "people: a large a.md")
            let result = try repository.sync(fixture.configuration, replaying: ownCommits)
            let report = try repository.publish(to: try #require(result.head))
            #expect(Self.described(report.skipped) == ["docs/a.md (tooLarge): a file of 2000 bytes, over limits.maxWorkTreeFileSize (1000 bytes); not written to the work tree"])
            #expect(report.removed == ["docs/a.md"], "the old version is not left looking current")
            #expect(!FileManager.default.fileExists(atPath: fixture.controllerPath + "/docs/a.md"))
            let blob = try git("rev-parse", "main:docs/a.md", in: fixture.remote)
            let error = #expect(throws: GitError.self) { try repository.readBlob(blob.asOID(), limit: BlobSizeLimit(bytes: 1000, setting: "limits.maxSourceSize")) }
            #expect(error?.code == .tooLarge)
            #expect(error?.message == "blob \(blob.prefix(7)) is 2000 bytes, over limits.maxSourceSize (1000 bytes); it was not read")
            #expect(try repository.objectSize(blob.asOID()) == 2000)
        }
    }

    /// A write that fails half-way leaves no temporary file behind, and the next publish
    /// (once the obstacle is gone) completes.
    @Test func aFailedPublishLeavesNoTemporaryFile() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let base = try repository.branchTip("main")
            let next = try #require(try repository.commit(
                [.write("docs/early.md", Data("early\n".utf8)), .write("docs/late.md", Data("late\n".utf8))],
                on: "main", parent: base, message: "two files", author: controllerSignature))
            // Something untracked sits where a file must go: a folder with a file in it.
            try write(fixture.controllerPath + "/docs/late.md/keep.txt", "mine\n")
            let error = #expect(throws: GitError.self) { try repository.publish(to: next) }
            #expect(error?.message.hasPrefix("replace folder '") == true)
            let names = try FileManager.default.contentsOfDirectory(atPath: fixture.controllerPath + "/docs")
            #expect(!names.contains { $0.contains(".indexops-") }, "\(names)")
            try FileManager.default.removeItem(atPath: fixture.controllerPath + "/docs/late.md")
            try repository.publish(to: next)
            #expect(try read(fixture.controllerPath + "/docs/late.md") == "late\n")
            #expect(try git("status", "--porcelain", in: fixture.controllerPath) == "")
        }
    }
}

extension String {
    func asOID() throws -> OID { try oid(self) }
}
