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
