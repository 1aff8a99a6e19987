import Foundation
import Testing

/// sqlite-vector with an embedder, through the binary: a reconcile embeds the chunks, and
/// `indexops search --type vector` embeds the query the same way, so a word the documents do
/// not contain finds them by meaning. The endpoint is Tests/Fixtures/embeddings-server.py on
/// loopback.
@Suite("Embedder end to end")
struct EmbedderEndToEndTests {
    @Test func semanticSearchThroughTheBinary() throws {
        let server = try ScriptedEmbeddings()
        defer { server.stop() }
        let root = try Harness.scratch()
        defer { Harness.cleanup(root) }
        let repo = root.appendingPathComponent("repo")
        for (id, text) in [("fleet", "Our cars are serviced every spring."), ("pets", "Kittens sleep most of the day.")] {
            try Harness.write(PeopleSpec.spec(id, source: "docs/\(id).md"), to: "specs/\(id).yaml", in: repo)
            try Harness.write(text + "\n", to: "docs/\(id).md", in: repo)
        }
        try Harness.git(["init", "-q", "-b", "main"], in: repo)
        try Harness.git(["add", "-A"], in: repo)
        try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-qm", "Two documents"], in: repo)
        try Harness.write("sk-test-do-not-print\n", to: "embedder-key", in: root)
        try Harness.write("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: repo }
            indexTypes:
              semantic:
                driver: sqlite-vector
                embedder:
                  url: http://127.0.0.1:\(server.port)/ok/v1/embeddings
                  model: test-embed
                  dimensions: 16
                  apiKeyFile: embedder-key
                  batchSize: 8
                  timeout: 10s

            """, to: "indexops.yaml", in: root)

        let reconcile = try Harness.run(["reconcile", "--once", "--config", "indexops.yaml"], in: root)
        #expect(reconcile.status == 0, "\(reconcile.stdout)\(reconcile.stderr)")
        let search = try Harness.run(["search", "automobile", "--type", "semantic", "--config", "indexops.yaml", "-o", "json"], in: root)
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout.contains("\"document\": \"fleet\""), "\(search.stdout)")
        #expect(!search.stdout.contains("pets"))

        let printed = try Harness.run(["run", "--config", "indexops.yaml", "--print-config"], in: root)
        #expect(printed.stdout.contains("embedder-key"), "the key file is shown by path")
        #expect(printed.stdout.contains("\"model\": \"test-embed\""))
        for output in [reconcile, search, printed] {
            #expect(!(output.stdout + output.stderr).contains("sk-test-do-not-print"))
        }

        // A model the endpoint does not serve is a configuration error: no retry is planned.
        try Harness.write(try String(contentsOf: root.appendingPathComponent("indexops.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "model: test-embed", with: "model: no-such-model"), to: "indexops.yaml", in: root)
        let wrong = try Harness.run(["reconcile", "--once", "--config", "indexops.yaml"], in: root)
        #expect(wrong.status == 1, "the model change rebuilds, and the rebuild fails")
        #expect(wrong.stdout.contains("does not serve the model \"no-such-model\" (embedder.model)"), "\(wrong.stdout)")
    }
}

/// `python3 Tests/Fixtures/embeddings-server.py` on a free loopback port.
final class ScriptedEmbeddings {
    private let process = Process()
    private let input = Pipe()
    let port: Int

    init() throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Harness.packageRoot.appendingPathComponent("Tests/Fixtures/embeddings-server.py").path, "16"]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw HarnessError("the embeddings server did not start") }
            line += chunk
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw HarnessError("the embeddings server printed no port")
        }
        self.port = port
    }

    /// Stops the server with SIGKILL and waits for it. Closing its stdin is not enough: a
    /// server started at the same moment by a parallel test can inherit the pipe's write end,
    /// so this one never sees EOF, and the wait blocked both of CI's cooperative threads.
    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
