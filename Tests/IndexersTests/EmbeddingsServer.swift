import Foundation
import IndexOpsCore

/// The deterministic OpenAI-compatible embeddings endpoint of
/// `Tests/Fixtures/embeddings-server.py`, run by `python3` on a free loopback port; it ends
/// with ``stop()`` or when this process ends (it exits when its stdin closes).
final class EmbeddingsServer {
    private let process = Process()
    private let input = Pipe()
    /// The port it listens on.
    let port: Int

    /// Starts a server whose vectors have `dimensions` numbers.
    init(dimensions: Int = 16) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/embeddings-server.py")
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, String(dimensions)]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw IndexerTestFailure("the embeddings server did not start") }
            line += chunk
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw IndexerTestFailure("the embeddings server printed no port")
        }
        self.port = port
    }

    /// The endpoint of a mode (see the script: ok, ratelimit, error, slow, short, …).
    func url(_ mode: String = "ok") -> String { "http://127.0.0.1:\(port)/\(mode)/v1/embeddings" }

    /// The requests it answered so far: `path`, `inputs`, `authorization`.
    func log() throws -> [JSONValue] {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = ["curl", "-sf", "http://127.0.0.1:\(port)/log"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        guard case .array(let items)? = JSONValue(parsing: String(decoding: data, as: UTF8.self)) else {
            throw IndexerTestFailure("the embeddings server's log is not a JSON array")
        }
        return items
    }

    /// Ends the server.
    /// Stops the server with SIGKILL and waits for it. Closing its stdin is not enough: a
    /// server started at the same moment by a parallel test can inherit the pipe's write end,
    /// so this one never sees EOF, and the wait blocked both of CI's cooperative threads.
    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

struct IndexerTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
