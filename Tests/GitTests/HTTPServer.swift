import Foundation
@testable import Git

/// `git http-backend` behind a small Python HTTP server on a free loopback port that
/// demands HTTP basic authentication with one token (user `x-access-token`):
/// `Tests/Fixtures/git-http-server.py`. Plain http on loopback stands in for https: the
/// token path is the same in libgit2.
final class HTTPServer {
    let port: Int
    private let process: Child

    /// With `stallFetches`, a fetch's answer starts, then only empty progress packets
    /// follow (every 50 ms, until the client hangs up): a server that is alive but makes
    /// no progress.
    init(root: String, token: String, stallFetches: Bool = false) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/git-http-server.py").path
        process = try Child("/usr/bin/python3", [script, root, token, stallFetches ? "stall" : "serve"])
        var line = ""
        var buffer = [UInt8](repeating: 0, count: 64)
        while !line.contains("\n") {
            let count = Glibc.read(process.stdout!, &buffer, buffer.count)
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                process.stop()
                throw Failure("the http server did not start: \(String(decoding: process.readAll().stderr, as: UTF8.self))")
            }
            line += String(decoding: buffer[..<count], as: UTF8.self)
        }
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw Failure("no port from the http server: \(line)") }
        self.port = port
        let child = process
        DispatchQueue.global().async { _ = child.readAll() }
    }

    func url(_ repository: String) -> String { "http://127.0.0.1:\(port)/\(repository)" }

    /// Stops the server; safe to call twice.
    func stop() { process.stop() }

    deinit { stop() }
}
