import Foundation
import Testing
@testable import Git

@Suite struct TreeTests {
    @Test func listsFilesOfAFolderWithIdsAndKindsWithoutCheckout() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let person = fixture.person
            try FileManager.default.createSymbolicLink(atPath: person + "/specs/escape.yaml", withDestinationPath: "/etc/passwd")
            try write(person + "/specs/run.sh", "#!/bin/sh\n")
            try git("add", "-A", in: person)
            try git("update-index", "--chmod=+x", "specs/run.sh", in: person)
            let gitlink = try git("rev-parse", "HEAD", in: person)
            try git("update-index", "--add", "--cacheinfo", "160000,\(gitlink),specs/vendor", in: person)
            try git("commit", "-q", "-m", "people: odd entries", in: person)
            let head = try oid(git("rev-parse", "HEAD", in: person))

            let repository = try Repository.open(at: person)
            let files = try repository.files(in: "specs/", at: head)
            #expect(files.map(\.path) == ["specs/a.yaml", "specs/escape.yaml", "specs/run.sh", "specs/team/b.yaml", "specs/vendor"])
            #expect(files.map(\.kind) == [.file, .symlink, .executable, .file, .submodule])
            for file in files {
                #expect(file.id.hex == (try git("rev-parse", "HEAD:\(file.path)", in: person)))
            }
            let lsTree = try git("ls-tree", "-r", "HEAD", "specs", in: person)
            let modes = lsTree.split(separator: "\n").map { String($0.prefix(6)) }
            #expect(files.map { String($0.mode, radix: 8) } == modes)

            let (entry, contents) = try repository.readFile("specs/team/b.yaml", at: head)
            #expect(String(decoding: contents, as: UTF8.self) == "name: b\n")
            #expect(try repository.readBlob(entry.id) == contents)

            let symlink = #expect(throws: GitError.self) { try repository.readFile("specs/escape.yaml", at: head) }
            #expect(symlink?.code == .notAFile)
            #expect(symlink?.message == "'specs/escape.yaml' is a symlink in commit \(head.short), not a regular file; it is not followed")
            let submodule = #expect(throws: GitError.self) { try repository.readFile("specs/vendor", at: head) }
            #expect(submodule?.code == .notAFile)
            let missing = #expect(throws: GitError.self) { try repository.readFile("specs/none.yaml", at: head) }
            #expect(missing?.code == .notFound)
            let outside = #expect(throws: GitError.self) { try repository.readFile("specs/../../etc/passwd", at: head) }
            #expect(outside?.code == .invalid)
            #expect(try repository.files(in: "nothing", at: head).isEmpty)
        }
    }

    @Test func changesCompareIdsAndNeverReadUnchangedObjects() throws {
        try withScratch { scratch in
            let work = scratch("work")
            try git("init", "-q", work, in: scratch.path)
            for n in 0..<20 { try write(work + "/docs/d\(n).md", "doc \(n)\n") }
            try write(work + "/specs/a.yaml", "a\n")
            try write(work + "/specs/b.yaml", "b\n")
            try write(work + "/specs/deep/old.yaml", "old\n")
            try git("add", "-A", in: work)
            try git("commit", "-q", "-m", "one", in: work)
            let first = try oid(git("rev-parse", "HEAD", in: work))
            try write(work + "/specs/a.yaml", "a2\n")
            try write(work + "/specs/c.yaml", "c\n")
            try git("rm", "-q", "specs/deep/old.yaml", in: work)
            try git("add", "-A", in: work)
            try git("commit", "-q", "-m", "two", in: work)
            let second = try oid(git("rev-parse", "HEAD", in: work))

            // Delete the unchanged docs/ tree and its blobs: a comparison by id never needs them.
            var unchanged = [try git("rev-parse", "HEAD:docs", in: work)]
            unchanged += try git("ls-tree", "-r", "--object-only", "HEAD", "docs", in: work).split(separator: "\n").map(String.init)
            unchanged.append(try git("rev-parse", "HEAD:specs/b.yaml", in: work))
            for id in unchanged {
                try FileManager.default.removeItem(atPath: work + "/.git/objects/\(id.prefix(2))/\(id.dropFirst(2))")
            }

            let repository = try Repository.open(at: work)
            let changes = try repository.changes(from: first, to: second)
            #expect(changes.map(\.description) == ["modified specs/a.yaml", "added specs/c.yaml", "removed specs/deep/old.yaml"])
            #expect(changes[0].old?.id.hex == (try git("rev-parse", "HEAD~1:specs/a.yaml", in: work)))
            #expect(changes[0].new?.id.hex == (try git("rev-parse", "HEAD:specs/a.yaml", in: work)))
            #expect(try repository.changes(from: first, to: second, in: "docs").isEmpty)
            #expect(try repository.changes(from: first, to: second, in: "specs/deep").map(\.path) == ["specs/deep/old.yaml"])
            #expect(try repository.changes(from: nil, to: first, in: "specs").count == 3)
            // The same question to git itself, which did need the objects before we deleted them:
            let expected = try git("diff", "--name-status", "HEAD~1", "HEAD", "--", "specs", in: work)
            #expect(expected == "M\tspecs/a.yaml\nA\tspecs/c.yaml\nD\tspecs/deep/old.yaml")
        }
    }
}
