import Foundation
import Testing
@testable import Git

@Suite struct PublishTests {
    /// A reader that keeps reading a file while it is published over and over only ever
    /// sees one complete version or the other: never a missing, empty or partial file.
    @Test func aConcurrentReaderOnlySeesCompleteFiles() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let versionA = Data(String(repeating: "a", count: 1 << 20).utf8)
            let versionB = Data(String(repeating: "b", count: 1 << 20).utf8)
            let path = "status/ab/big.json"
            let base = try repository.branchTip("main")
            let a = try #require(try repository.commit([.write(path, versionA)], on: "main", parent: base, message: "A", author: controllerSignature))
            let b = try #require(try repository.commit([.write(path, versionB)], on: "main", parent: a, message: "B", author: controllerSignature))
            try repository.publish(to: a)

            let file = fixture.controllerPath + "/" + path
            let state = ReaderState()
            let group = DispatchGroup()
            group.enter()
            DispatchQueue.global().async {
                while !state.isDone {
                    let seen = FileManager.default.contents(atPath: file)
                    state.record(seen == versionA || seen == versionB)
                }
                group.leave()
            }
            // However busy the machine, the reader gets to read while publishes happen:
            // start once it has read, and go on until it has read many times.
            while state.reads == 0 { usleep(1_000) }
            var round = 0
            while round < 21 || (state.reads < 50 && round < 2_000) {
                try repository.publish(to: round.isMultiple(of: 2) ? b : a)
                round += 1
            }
            try repository.publish(to: b)
            state.finish()
            group.wait()
            #expect(state.reads > 0)
            #expect(state.torn == 0)
            #expect(try read(file) == String(decoding: versionB, as: UTF8.self))
            #expect(try git("status", "--porcelain", in: fixture.controllerPath) == "")
        }
    }
}

final class ReaderState: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var readCount = 0
    private var tornCount = 0
    var reads: Int { lock.withLock { readCount } }
    var torn: Int { lock.withLock { tornCount } }

    var isDone: Bool { lock.withLock { done } }
    func finish() { lock.withLock { done = true } }
    func record(_ complete: Bool) {
        lock.withLock {
            readCount += 1
            if !complete { tornCount += 1 }
        }
    }
}

extension PublishTests {
    /// Every record of the index's cached trees, in the file's order: the folder's path,
    /// its entry count (-1: unknown) and its tree id ("" when unknown).
    static func cachedTrees(_ indexFile: String) throws -> [(path: String, entries: Int, tree: String)] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexFile)))
        let signature = Array("TREE".utf8)
        guard let start = (12..<(bytes.count - 8)).last(where: { Array(bytes[$0..<$0 + 4]) == signature }) else { return [] }
        var at = start + 8
        var records: [(path: String, entries: Int, tree: String)] = []
        func record(below prefix: String?) {
            let nul = bytes[at...].firstIndex(of: 0)!
            let name = String(decoding: bytes[at..<nul], as: UTF8.self)
            let path = prefix.map { $0.isEmpty ? name : $0 + "/" + name } ?? ""
            let newline = bytes[nul...].firstIndex(of: UInt8(ascii: "\n"))!
            let counts = String(decoding: bytes[(nul + 1)..<newline], as: UTF8.self).split(separator: " ").map { Int($0)! }
            at = newline + 1
            var tree = ""
            if counts[0] >= 0 {
                tree = bytes[at..<(at + 20)].map { String(format: "%02x", $0) }.joined()
                at += 20
            }
            records.append((path, counts[0], tree))
            for _ in 0..<counts[1] { record(below: path) }
        }
        record(below: nil)
        return records
    }

    /// The root record of the index's cached trees (the `TREE` extension, as git's
    /// index-format documentation lays it out: path, NUL, entry count, space, subtree count,
    /// newline, tree id): `nil` when there is none; an entry count of -1 when it is invalid.
    static func cachedRootTree(_ indexFile: String) throws -> (entries: Int, tree: String)? {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: indexFile)))
        let signature = Array("TREE".utf8)
        guard let start = (12..<(bytes.count - 8)).last(where: { Array(bytes[$0..<$0 + 4]) == signature }) else { return nil }
        var at = start + 8  // the signature and the extension's size
        guard bytes[at] == 0 else { return nil }  // the root's path is empty
        at += 1
        let newline = bytes[at...].firstIndex(of: UInt8(ascii: "\n"))!
        let counts = String(decoding: bytes[at..<newline], as: UTF8.self).split(separator: " ")
        let entries = Int(counts[0])!
        guard entries >= 0 else { return (entries, "") }
        return (entries, bytes[(newline + 1)..<(newline + 21)].map { String(format: "%02x", $0) }.joined())
    }

    /// A publish leaves the index's cached trees valid, so that the next process need not
    /// hash every folder again to learn what the index holds: git itself finds the root's
    /// record with every entry counted and the published commit's tree.
    @Test func aPublishLeavesTheIndexsCachedTreesValid() throws {
        try withScratch { scratch in
            let fixture = try Fixture(scratch)
            let repository = try Repository.clone(fixture.configuration, to: fixture.controllerPath)
            let commit = try #require(try repository.commit(
                [.write("status/ab/doc1.json", Data("{}\n".utf8)), .write("specs/team/c.yaml", Data("name: c\n".utf8))],
                on: "main", parent: repository.branchTip("main"), message: "indexops: two files", author: controllerSignature))
            try repository.publish(to: commit)
            let root = try #require(try Self.cachedRootTree(fixture.controllerPath + "/.git/index"))
            let files = try git("ls-files", in: fixture.controllerPath).split(separator: "\n").count
            #expect(root.entries == files)
            #expect(root.tree == (try git("rev-parse", "\(commit.hex)^{tree}", in: fixture.controllerPath)))
            #expect(try git("status", "--porcelain", in: fixture.controllerPath) == "")
        }
    }
}
