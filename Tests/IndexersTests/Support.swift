import Foundation
import IndexOpsCore
import Indexers
import Testing

/// A temporary folder, removed by `remove()`.
struct TempFolder {
    let path: String

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/indexers-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw IndexerError("mkdtemp failed") }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes an executable `/bin/sh` script and returns its path.
    func script(_ name: String, _ body: String) throws -> String {
        let path = file(name)
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    func read(_ name: String) -> String? { try? String(contentsOfFile: file(name), encoding: .utf8) }

    /// The JSON a script saved.
    func json(_ name: String) throws -> JSONValue {
        let text = try #require(read(name), "\(name) was not written")
        return try #require(JSONValue(parsing: text), "\(name) is not JSON: \(text)")
    }

    /// The process id a script saved.
    func pid(_ name: String) throws -> Int32 {
        let text = try #require(read(name), "\(name) was not written")
        return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}

/// A request for `doc`, with `text` as its content.
func request(
    _ action: IndexOperationKind = .create, doc: String = "doc1", type: String, collection: String? = nil,
    revision: String = "rev1", text: String? = nil, source: Source = .path("docs/doc1.md")
) -> IndexRequest {
    IndexRequest(
        action: action, documentId: doc, indexType: type, collection: collection, revision: revision,
        source: source, content: text.map { Array($0.utf8) })
}

/// Runs the `sqlite3` command-line shell on `database` and returns its output, trimmed.
func sqlite(_ database: String, _ sql: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    process.arguments = [database, sql]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "sqlite3 failed on \(sql)")
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The message of the IndexerError that `body` throws, or `nil`.
func indexerError(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let error as IndexerError {
        return error.message
    } catch {
        return "unexpected \(type(of: error)): \(error)"
    }
}

/// Whether a process is running: it exists and is not a zombie (a killed process whose
/// parent has not reaped it yet is dead).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}
