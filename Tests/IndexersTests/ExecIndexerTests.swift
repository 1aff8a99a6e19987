import Foundation
import IndexOpsCore
import Indexers
import Testing

/// The exec driver against real child processes: small scripts in a temporary folder, run
/// as `/bin/sh script --flag` (the scripts use a shell; the driver spawns without one).
/// Running a script file that was just written would fail now and then with ETXTBSY: a
/// process spawned meanwhile by a test running alongside can hold its write descriptor.
@Suite("exec")
struct ExecIndexerTests {
    let folder: TempFolder

    init() throws { folder = try TempFolder() }

    private func indexer(_ script: String, env: [String: String] = [:], timeout: Duration? = nil, grace: Duration = .seconds(5)) throws -> ExecIndexer {
        let path = try folder.script("indexer.sh", script)
        return try ExecIndexer(indexType: "graph", command: ["/bin/sh", path, "--flag"], environment: env, timeout: timeout, gracePeriod: grace)
    }

    @Test func createSendsTheRequestAndContentFileAndReturnsIndexData() async throws {
        defer { folder.remove() }
        let dir = folder.path
        let exec = try indexer("""
            cat > "\(dir)/request.json"
            file=$(sed -n 's/^  "contentFile": "\\(.*\\)",$/\\1/p' "\(dir)/request.json")
            cp "$file" "\(dir)/content.copy"
            stat -c %a "$file" > "\(dir)/mode"
            echo "$file" > "\(dir)/content.path"
            echo "$1" > "\(dir)/argv1"
            echo '{"indexData": {"nodes": 42, "engine": "graph"}, "ignored": true}'
            """)
        let data = try await exec.create(request(type: "graph", collection: "col456", revision: "3f2a", text: "héllo\ncontent"))
        #expect(data == .object(["nodes": .int(42), "engine": .string("graph")]))

        let sent = try folder.json("request.json")
        let contentFile = try #require(sent["contentFile"]?.stringValue)
        #expect(sent == .object([
            "action": .string("create"), "documentId": .string("doc1"), "indexType": .string("graph"),
            "collection": .string("col456"), "revision": .string("3f2a"), "idempotencyKey": .string("doc1/graph/3f2a"),
            "source": .object(["path": .string("docs/doc1.md")]), "contentFile": .string(contentFile),
        ]))
        #expect(folder.read("content.copy") == "héllo\ncontent")
        #expect(folder.read("mode") == "600\n")
        #expect(folder.read("argv1") == "--flag\n")
        #expect(!FileManager.default.fileExists(atPath: contentFile))  // removed afterwards
    }

    /// Content files carry the controller's prefix, and only files of that prefix (and of
    /// its exact shape) are removed after a kill, never another clone's.
    @Test func contentFilesAreNamedByTheirPrefixAndRemovedOnlyByIt() async throws {
        defer { folder.remove() }
        let tag = String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(12))
        let prefix = "indexops-content-\(tag)-"
        let path = try folder.script("indexer.sh", """
            sed -n 's/^  "contentFile": "\\(.*\\)",$/\\1/p' > "\(folder.path)/content.path"
            echo '{"indexData": {}}'
            """)
        let exec = try ExecIndexer(indexType: "graph", command: ["/bin/sh", path], contentFilePrefix: prefix)
        _ = try await exec.create(request(type: "graph", text: "content"))
        let used = try #require(folder.read("content.path")?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(URL(fileURLWithPath: used).lastPathComponent.hasPrefix(prefix))
        #expect(URL(fileURLWithPath: used).lastPathComponent.count == prefix.count + 6)

        let tmp = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let left = tmp + "/" + prefix + "AbCdEf"
        let longer = tmp + "/" + prefix + "AbCdEfG"
        let other = tmp + "/indexops-content-000000000000-AbCdEf"
        for file in [left, longer, other] { FileManager.default.createFile(atPath: file, contents: Data("x".utf8)) }
        defer { for file in [longer, other] { try? FileManager.default.removeItem(atPath: file) } }
        #expect(ExecIndexer.removeContentFiles(prefix: prefix) == [left])
        #expect(!FileManager.default.fileExists(atPath: left))
        #expect(FileManager.default.fileExists(atPath: longer) && FileManager.default.fileExists(atPath: other))
        #expect(throws: IndexerError.self) { try ExecIndexer(indexType: "graph", command: ["/bin/true"], contentFilePrefix: "a/b") }
    }

    @Test func deleteOfAURISourceHasNoContentFileAndAcceptsEmptyStdout() async throws {
        defer { folder.remove() }
        let exec = try indexer("cat > \"\(folder.path)/request.json\"")
        try await exec.delete(request(.delete, type: "graph", text: nil, source: .uri("s3://bucket/doc.pdf", revision: "v7")))
        let sent = try folder.json("request.json")
        #expect(sent == .object([
            "action": .string("delete"), "documentId": .string("doc1"), "indexType": .string("graph"),
            "collection": .null, "revision": .string("rev1"), "idempotencyKey": .string("doc1/graph/rev1"),
            "source": .object(["uri": .string("s3://bucket/doc.pdf"), "revision": .string("v7")]),
        ]))
        #expect(await indexerError { try await indexer("echo '{\"deleted\": 3}'").delete(request(.delete, type: "graph")) } == nil)
        #expect(await indexerError { try await indexer("echo deleted").delete(request(.delete, type: "graph")) }
            == "graph: /bin/sh printed something other than a JSON object on stdout (stderr was empty)")
    }

    @Test func nonZeroExitFailsWithTheTailOfStderr() async throws {
        defer { folder.remove() }
        let exec = try indexer("""
            cat > /dev/null
            echo "connecting to graph" >&2
            echo "error: connection refused" >&2
            exit 3
            """)
        let message = await indexerError { _ = try await exec.create(request(type: "graph", text: "x")) }
        #expect(message == "graph: /bin/sh exited with status 3: connecting to graph\nerror: connection refused")
    }

    @Test func theMessageKeepsTheEndOfALongStderr() async throws {
        defer { folder.remove() }
        let exec = try indexer("""
            i=0; while [ $i -lt 3000 ]; do echo "noise line $i" >&2; i=$((i+1)); done
            echo "the real cause" >&2
            exit 1
            """)
        let message = try #require(await indexerError { _ = try await exec.create(request(type: "graph", text: "x")) })
        #expect(message.hasSuffix("noise line 2999\nthe real cause"))
        #expect(message.hasPrefix("graph: /bin/sh exited with status 1: "))
        #expect(message.utf8.count <= 2_048)
    }

    @Test func badJSONAndASignalAreErrors() async throws {
        defer { folder.remove() }
        let bad = try indexer("echo 'indexed!'; echo 'warning: old format' >&2")
        #expect(await indexerError { _ = try await bad.create(request(type: "graph", text: "x")) }
            == "graph: /bin/sh printed no {\"indexData\": {...}} JSON object on stdout: warning: old format")
        let notObject = try indexer("echo '{\"indexData\": 5}'")
        #expect(await indexerError { _ = try await notObject.create(request(type: "graph", text: "x")) }?.contains("printed no") == true)
        let killed = try indexer("kill -9 $$")
        #expect(await indexerError { _ = try await killed.create(request(type: "graph", text: "x")) }
            == "graph: /bin/sh was killed by signal 9 (stderr was empty)")
    }

    @Test func theEnvironmentIsScrubbed() async throws {
        defer { folder.remove() }
        // The test process's own variables (HOME, …) play the controller's secrets; no
        // setenv here, which would race with getenv in the tests running alongside.
        let controller = ProcessInfo.processInfo.environment
        let secrets = controller.keys.filter { $0 != "PATH" }
        try #require(!secrets.isEmpty)
        let exec = try indexer("env > \"\(folder.path)/env.txt\"; echo '{\"indexData\": {}}'", env: ["GRAPH_URL": "http://graph:7474"])
        _ = try await exec.create(request(type: "graph", text: "x"))
        let shellOwn = ["PWD=", "OLDPWD=", "SHLVL=", "_="]
        let lines = Set(try #require(folder.read("env.txt")).split(separator: "\n").map(String.init).filter { line in !shellOwn.contains { line.hasPrefix($0) } })
        #expect(lines == ["GRAPH_URL=http://graph:7474", "PATH=\(controller["PATH"] ?? "")"])
    }

    @Test func aBareNameIsLookedUpInPATH() async throws {
        defer { folder.remove() }
        try await ExecIndexer(indexType: "graph", command: ["true"]).delete(request(.delete, type: "graph"))
        let missing = try ExecIndexer(indexType: "graph", command: ["indexops-no-such-program"])
        #expect(await indexerError { try await missing.delete(request(.delete, type: "graph")) }?
            .hasPrefix("graph: indexops-no-such-program is not an executable file in PATH") == true)
        #expect(throws: IndexerError("graph: the command bin/graph must be an absolute path or a name looked up in PATH")) {
            try ExecIndexer(indexType: "graph", command: ["bin/graph"])
        }
    }

    @Test func aMissingProgramIsAnError() async throws {
        defer { folder.remove() }
        let missing = try ExecIndexer(indexType: "graph", command: [folder.file("no-such-program")])
        #expect(await indexerError { _ = try await missing.create(request(type: "graph", text: "x")) }
            == "graph: cannot run \(folder.file("no-such-program")): No such file or directory")
    }

    @Test func aProgramThatNeverReadsStdinDoesNotBringDownTheController() async throws {
        defer { folder.remove() }
        // The request may hit a closed pipe: EPIPE for the driver, never a SIGPIPE that would
        // end the controller (and this test process).
        let exec = try indexer("exec 0<&-; echo '{\"indexData\": {}}'")
        for _ in 0..<20 {
            #expect(try await exec.create(request(type: "graph", text: "x")) == .object([:]))
        }
    }

    @Test func largeOutputOnBothPipesDoesNotDeadlockAndStdoutIsCapped() async throws {
        defer { folder.remove() }
        // 300 KB on stderr before stdin is read: the pipes must be served at once.
        let chatty = try indexer("""
            head -c 300000 /dev/zero | tr '\\0' e >&2
            cat > /dev/null
            echo '{"indexData": {"ok": true}}'
            """)
        #expect(try await chatty.create(request(type: "graph", text: String(repeating: "x", count: 200_000))) == .object(["ok": .bool(true)]))
        let flood = try indexer("head -c 2000000 /dev/zero | tr '\\0' o")
        #expect(await indexerError { _ = try await flood.create(request(type: "graph", text: "x")) }
            == "graph: /bin/sh printed more than 1048576 bytes on stdout (stderr was empty)")
    }

    @Test func concurrentRunsKeepTheirOwnPipes() async throws {
        defer { folder.remove() }
        let exec = try indexer("""
            id=$(sed -n 's/^  "documentId": "\\(.*\\)",$/\\1/p')
            echo "$id" >&2
            echo "{\\"indexData\\": {\\"doc\\": \\"$id\\"}}"
            """)
        let results = try await withThrowingTaskGroup(of: (String, JSONValue).self) { group in
            for i in 0..<16 {
                group.addTask { ("d\(i)", try await exec.create(request(doc: "d\(i)", type: "graph", text: "x"))) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 16)
        for (doc, data) in results { #expect(data == .object(["doc": .string(doc)])) }
    }

    @Test func anExitedProgramLeavesNoProcessBehind() async throws {
        defer { folder.remove() }
        let exec = try indexer("""
            sleep 300 &
            echo $! > "\(folder.path)/grandchild.pid"
            echo '{"indexData": {}}'
            """)
        _ = try await exec.create(request(type: "graph", text: "x"))
        let grandchild = try folder.pid("grandchild.pid")
        #expect(!isAlive(grandchild))
    }

    @Test func theTimeoutKillsTheWholeProcessGroup() async throws {
        defer { folder.remove() }
        // Both ignore SIGTERM: only the SIGKILL after the grace period ends them; the
        // grandchild holds stdout open, so end of file alone would never come.
        let exec = try indexer("""
            trap '' TERM
            sleep 300 &
            echo $! > "\(folder.path)/grandchild.pid"
            echo $$ > "\(folder.path)/child.pid"
            echo "working" >&2
            wait
            """, timeout: .seconds(2), grace: .milliseconds(200))
        let message = await indexerError { _ = try await exec.create(request(type: "graph", text: "x")) }
        #expect(message == "graph: /bin/sh timed out after 2s; its process group was terminated: working")
        for name in ["child.pid", "grandchild.pid"] {
            let pid = try folder.pid(name)
            #expect(!isAlive(pid), "\(name) \(pid) is alive")
        }
    }

    @Test func cancellingTheTaskKillsTheWholeProcessGroup() async throws {
        defer { folder.remove() }
        let exec = try indexer("""
            sleep 300 &
            echo $! > "\(folder.path)/grandchild.pid"
            echo $$ > "\(folder.path)/child.tmp"
            mv "\(folder.path)/child.tmp" "\(folder.path)/child.pid"
            wait
            """)
        let task = Task { try await exec.create(request(type: "graph", text: "x")) }
        // Wait (bounded) until the script has started its grandchild.
        for _ in 0..<3_000 where folder.read("child.pid") == nil { try await Task.sleep(for: .milliseconds(10)) }
        let child = try folder.pid("child.pid")
        let grandchild = try folder.pid("grandchild.pid")
        #expect(isAlive(child) && isAlive(grandchild))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(!isAlive(child))
        #expect(!isAlive(grandchild))
    }
}
