import Foundation
import Testing

/// `indexops run` as operators run it: the built binary on a free loopback port, reconciling
/// its clone of a bare remote that a person pushes to with `git`.
@Suite("indexops run")
struct DaemonTests {
    typealias World = ReconcileEndToEndTests.World

    /// Writes `daemon.yaml` beside the world's own configuration: its index types plus
    /// `extraTypes`, a 1-hour interval (so that only the start and webhooks make passes), and
    /// the webhook secret file `secret`.
    static func config(_ world: World, reconcile: String = "", extraTypes: String = "") throws -> String {
        let path = world.root.appendingPathComponent("daemon.yaml").path
        try Data("topsecret\n".utf8).write(to: world.root.appendingPathComponent("secret"))
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: controller, url: "\(world.remote.path)", branch: main }
            reconcile: { interval: 1h, maxRetries: 3, retryBackoff: 1m, commitInterval: 1s\(reconcile) }
            indexTypes:
              fulltext: { driver: sqlite-fts, database: indexes.sqlite }
              vector: { driver: sqlite-vector, database: indexes.sqlite }
              graph: { driver: exec, command: ["./graph-indexer"], timeout: 60s, env: { LEDGER: "\(world.ledger.path)" } }
            \(extraTypes)
            server: { webhookSecretFile: secret }

            """.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func spec(_ id: String, indexes: String) -> String {
        """
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: \(id)
          createdBy: ana@example.com
        spec:
          source: docs/doc123.md
          indexes: { \(indexes) }

        """
    }

    /// A world whose only specs are `documents`, each with one index of the exec type `name`,
    /// run by `script` (with `$LEDGER` set); returns the world and its daemon configuration.
    static func execWorld(
        _ name: String, script: String, documents: [String] = ["doc123"], reconcile: String = "", typeSettings: String = ""
    ) throws -> (World, String) {
        let world = try World()
        let file = world.root.appendingPathComponent("\(name)-indexer")
        try Data(script.utf8).write(to: file)
        chmod(file.path, 0o755)
        let config = try Self.config(
            world, reconcile: reconcile,
            extraTypes: "  \(name): { driver: exec, command: [\"./\(name)-indexer\"]\(typeSettings), env: { LEDGER: \"\(world.ledger.path)\" } }")
        for id in documents { try world.write("specs/\(id).yaml", Self.spec(id, indexes: "\(name): present")) }
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.push("Documents with \(name) indexes")
        return (world, config)
    }

    /// Starts the daemon, sends SIGTERM once the exec indexer has written `$LEDGER/started`,
    /// and expects exit 0. Returns the stopped daemon and the `started` file.
    static func stopWhileAnOperationRuns(_ world: World, config: String, grace: String) throws -> (DaemonProcess, URL) {
        let daemon = try DaemonProcess(["--config", config, "--shutdown-grace", grace], in: world.root)
        let started = world.ledger.appendingPathComponent("started")
        do {
            try Harness.waitFor(seconds: 120) { FileManager.default.fileExists(atPath: started.path) }
            daemon.signal(SIGTERM)
            try Harness.waitFor(seconds: 60) { !daemon.process.isRunning }
        } catch {
            daemon.stop()
            throw error
        }
        #expect(daemon.process.terminationStatus == 0, "\(daemon.stderr)")
        return (daemon, started)
    }

    static func waitForStatus(_ daemon: DaemonProcess, _ path: String, _ status: Int) throws {
        try Harness.waitFor(seconds: 120) { (try? daemon.get(path).status) == status }
    }

    /// Probes, metrics, the status API and page, JSON logs and a clean exit on SIGTERM.
    @Test func probesMetricsStatusAndPage() throws {
        let world = try World()
        defer { world.cleanup() }
        let script = world.root.appendingPathComponent("html-indexer")
        try Data("#!/bin/sh\ncat >/dev/null\necho '<script>alert(\"x\")</script> & more' >&2\nexit 1\n".utf8).write(to: script)
        chmod(script.path, 0o755)
        let config = try Self.config(world, extraTypes: "  html: { driver: exec, command: [\"./html-indexer\"] }")
        try world.write("specs/doc123.yaml", Self.spec("doc123", indexes: "fulltext: present, html: present"))
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.push("Two indexes for doc123")

        let daemon = try DaemonProcess(["--config", config, "--log-format", "json"], in: world.root)
        defer { daemon.stop() }
        #expect(try daemon.get("/healthz").status == 200)
        try Self.waitForStatus(daemon, "/readyz", 200)

        // Metrics: valid Prometheus text with the pass, the indexes per type and state, the operations.
        let metrics = try daemon.get("/metrics")
        #expect(metrics.status == 200)
        #expect(prometheusProblems(metrics.body) == [])
        #expect(try daemon.metric("indexops_indexes{type=\"fulltext\",state=\"present\"}") == 1)
        #expect(try daemon.metric("indexops_indexes{type=\"html\",state=\"failed\"}") == 1)
        #expect(try daemon.metric("indexops_operations_total{type=\"html\",action=\"create\",result=\"failed\"}") == 1)
        #expect(try daemon.metric("indexops_passes_total{result=\"problems\"}") == 1)
        // Every series names the replica's shard: 0/1 for a single replica.
        #expect(metrics.body.contains("indexops_pass_duration_seconds_count{shard=\"0/1\"} 1"))
        #expect(metrics.body.contains("indexops_git_push_duration_seconds_count{shard=\"0/1\"} 1"))
        #expect(metrics.body.contains("indexops_last_successful_pass_timestamp_seconds{shard=\"0/1\"} "))
        #expect(metrics.body.contains("indexops_indexes{shard=\"0/1\",type=\"fulltext\",state=\"present\"} 1"))

        // The status API.
        let system = try daemon.get("/api/v1/status")
        #expect(system.status == 200)
        let systemJSON = try #require(try JSONSerialization.jsonObject(with: Data(system.body.utf8)) as? [String: Any])
        #expect(systemJSON["documents"] as? Int == 1)
        #expect(((systemJSON["failed"] as? [[String: Any]])?.first?["indexType"] as? String) == "html")
        let document = try daemon.get("/api/v1/status/doc123")
        #expect(document.status == 200)
        #expect(document.body.contains("\"documentId\": \"doc123\""))
        let unknown = try daemon.get("/api/v1/status/nope")
        #expect(unknown.status == 404)
        #expect(unknown.body.contains("\"error\": \"no status for document \\\"nope\\\"\""))
        #expect(try daemon.get("/api/v1/collections/none").status == 404)

        // The page: counts, the failed index with its error escaped, the last pass, the commits.
        let page = try daemon.get("/")
        #expect(page.status == 200)
        #expect(page.body.contains("<h2>Indexes per state</h2>"))
        #expect(page.body.contains("<td class=\"present\">present</td><td class=\"n\">1</td>"))
        #expect(page.body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"))
        #expect(!page.body.contains("<script"))
        #expect(page.body.contains("2 operations (1 succeeded, 1 failed), 2 commits, pushed"))
        let head = try Harness.output(["git", "rev-parse", "main"], in: world.remote).prefix(12)
        #expect(page.body.contains("<code>\(head)</code>"))

        // SIGTERM: exit 0; every log line is a JSON object with a level and a message.
        daemon.signal(SIGTERM)
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0)
        let lines = daemon.stderr.split(separator: "\n")
        #expect(lines.count > 5)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] is String && object?["message"] is String, "not a JSON log line: \(line)")
        }
        #expect(lines.contains { $0.contains("\"document_id\":\"doc123\"") && $0.contains("\"index_type\":\"html\"") })
        #expect(lines.contains { $0.contains("Pass finished") && $0.contains("\"commit\":") && $0.contains("\"duration\":") })
        #expect(!daemon.stderr.contains("topsecret"))
    }

    /// Only a signed webhook triggers a pass; forged, unsigned and oversized ones are refused
    /// and the server stays healthy.
    @Test func webhook() throws {
        let world = try World()
        defer { world.cleanup() }
        let config = try Self.config(world)
        try world.write("specs/doc123.yaml", Self.spec("doc123", indexes: "fulltext: present"))
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.push("doc123")
        let daemon = try DaemonProcess(["--config", config], in: world.root)
        defer { daemon.stop() }
        try Self.waitForStatus(daemon, "/readyz", 200)
        #expect(try daemon.metricSum("indexops_passes_total") == 1)

        // A new spec upstream, which only a pass will see.
        try world.write("specs/doc456.yaml", Self.spec("doc456", indexes: "fulltext: present"))
        try world.push("doc456")
        let body = world.root.appendingPathComponent("payload.json")
        try Data(#"{"ref": "refs/heads/main"}"#.utf8).write(to: body)
        let signature = try Harness.output(
            ["sh", "-c", "printf %s '{\"ref\": \"refs/heads/main\"}' | openssl dgst -sha256 -hmac topsecret | sed 's/.*= //'"], in: world.root
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(signature.count == 64)
        let big = world.root.appendingPathComponent("big.json")
        try Data(repeating: 0x20, count: 2 << 20).write(to: big)

        let forged = try daemon.request("POST", "/hooks/git", headers: ["X-Hub-Signature-256: sha256=" + String(repeating: "0", count: 64)], bodyFile: body)
        #expect(forged.status == 401)
        let wrongToken = try daemon.request("POST", "/hooks/git", headers: ["X-Gitlab-Token: nottopsecret"], bodyFile: body)
        #expect(wrongToken.status == 401)
        let unsigned = try daemon.request("POST", "/hooks/git", bodyFile: body)
        #expect(unsigned.status == 401)
        let oversized = try daemon.request("POST", "/hooks/git", headers: ["X-Hub-Signature-256: sha256=\(signature)"], bodyFile: big)
        #expect(oversized.status == 413)
        #expect(try daemon.get("/healthz").status == 200)
        #expect(try daemon.metric("indexops_webhooks_total{result=\"unauthorized\"}") == 3)
        #expect(try daemon.metric("indexops_webhooks_total{result=\"too_large\"}") == 1)
        #expect(try daemon.metricSum("indexops_passes_total") == 1, "a refused webhook started a pass")
        #expect(try !world.remoteHasStatus("doc456"))

        // The signed one: a pass pushes doc456's status.
        let valid = try daemon.request("POST", "/hooks/git", headers: ["X-Hub-Signature-256: sha256=\(signature)"], bodyFile: body)
        #expect(valid.status == 202)
        try Harness.waitFor(seconds: 120) { (try? world.remoteHasStatus("doc456")) == true }
        try Harness.waitFor(seconds: 120) { (try? daemon.metricSum("indexops_passes_total")) == 2 }
        #expect(try daemon.metric("indexops_webhooks_total{result=\"accepted\"}") == 1)

        // GitLab's token and the generic header trigger too.
        let gitlab = try daemon.request("POST", "/hooks/git", headers: ["X-Gitlab-Token: topsecret"], bodyFile: body)
        #expect(gitlab.status == 202)
        let generic = try daemon.request("POST", "/hooks/git", headers: ["X-Indexops-Signature: sha256=\(signature)"], bodyFile: body)
        #expect(generic.status == 202)
        try Harness.waitFor(seconds: 120) { (try? daemon.metricSum("indexops_passes_total")) ?? 0 >= 3 }
        #expect(try daemon.get("/healthz").status == 200)
    }

    /// Webhooks during a pass are not lost: they make one more pass after it.
    @Test func webhookDuringAPassRunsOneMoreAfterIt() throws {
        let (world, config) = try Self.execWorld(
            "slow", script: "#!/bin/sh\ncat >/dev/null\ntouch \"$LEDGER/started\"\nsleep 5\necho '{\"indexData\": {}}'\n")
        defer { world.cleanup() }
        let daemon = try DaemonProcess(["--config", config], in: world.root)
        defer { daemon.stop() }
        try Harness.waitFor(seconds: 120) { FileManager.default.fileExists(atPath: world.ledger.appendingPathComponent("started").path) }
        for _ in 0..<2 {
            #expect(try daemon.request("POST", "/hooks/git", headers: ["X-Gitlab-Token: topsecret"]).status == 202)
        }
        #expect(try daemon.get("/readyz").status == 503, "the first pass is still running")
        try Harness.waitFor(seconds: 120) { (try? daemon.metricSum("indexops_passes_total")) ?? 0 >= 2 }
        #expect(try daemon.metric("indexops_passes_total{result=\"ok\"}") == 1)
        #expect(try daemon.metric("indexops_passes_total{result=\"idle\"}") == 1)
    }

    /// Without a secret file the webhook is off: 404.
    @Test func webhookOff() throws {
        let world = try World()
        defer { world.cleanup() }
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.push("quickstart")
        let daemon = try DaemonProcess(["--config", world.config], in: world.root)
        defer { daemon.stop() }
        let reply = try daemon.request("POST", "/hooks/git", headers: ["X-Gitlab-Token: anything"])
        #expect(reply.status == 404)
        #expect(reply.body.contains("the webhook is off"))
    }

    /// SIGTERM during a slow exec operation: it ends, its status is committed and pushed, the
    /// operations not started keep their `creating` intent, and the process exits 0 within
    /// the grace period.
    @Test func sigtermLetsTheRunningOperationEnd() throws {
        let (world, config) = try Self.execWorld(
            "slow", script: """
            #!/bin/sh
            id=$(tr -d '\\n' | sed -n 's/.*"documentId": *"\\([^"]*\\)".*/\\1/p')
            printf '%s' "$id" > "$LEDGER/started.tmp" && mv "$LEDGER/started.tmp" "$LEDGER/started"
            sleep 4
            echo '{"indexData": {"slow": true}}'

            """, documents: ["doc123", "doc456"], reconcile: ", concurrency: 1")
        defer { world.cleanup() }

        let (daemon, started) = try Self.stopWhileAnOperationRuns(world, config: config, grace: "30s")
        defer { daemon.stop() }

        // The remote holds the finished operation's result and the other one's intent.
        try world.pull()
        let ran = try String(contentsOf: started, encoding: .utf8)
        #expect(["doc123", "doc456"].contains(ran))
        let first = try world.status(ran)
        let second = try world.status(ran == "doc123" ? "doc456" : "doc123")
        #expect(first.contains("\"actualState\": \"present\""), "\(first)")
        #expect(first.contains("\"slow\": true"))
        #expect(second.contains("\"actualState\": \"creating\""), "\(second)")
        #expect(daemon.stderr.contains("Shutting down"))

        // Nothing is lost: the next start runs the operation that had not started.
        let next = try Harness.run(["reconcile", "--once", "--config", config], in: world.root)
        #expect(next.status == 0, "\(next.stderr)")
        try world.pull()
        #expect(try world.status(ran == "doc123" ? "doc456" : "doc123").contains("\"actualState\": \"present\""))
    }

    /// An operation that outlives the grace period is cancelled (its program's process group
    /// is terminated); its failure is committed and pushed and the process still exits 0,
    /// long before the operation would have ended.
    @Test func sigtermPastTheGracePeriodCancels() throws {
        let (world, config) = try Self.execWorld("stuck", script: "#!/bin/sh\ncat >/dev/null\ntouch \"$LEDGER/started\"\nsleep 300\n")
        defer { world.cleanup() }

        let (daemon, _) = try Self.stopWhileAnOperationRuns(world, config: config, grace: "1s")
        defer { daemon.stop() }
        #expect(daemon.stderr.contains("The grace period ended"))
        try world.pull()
        let status = try world.status("doc123")
        #expect(status.contains("\"actualState\": \"failed\""), "\(status)")
        #expect(status.contains("cancelled: indexops was stopping"))
    }

    /// A pass that hangs: not ready (no pass has succeeded) and, once no pass has ended within
    /// 3 intervals plus the operation timeout, not healthy either.
    @Test func probesFailWhileThePassHangs() throws {
        // The type's own timeout (5m) outlasts the health window of 3 × 1s + 1s.
        let (world, config) = try Self.execWorld(
            "stuck", script: "#!/bin/sh\ncat >/dev/null\ntouch \"$LEDGER/started\"\nsleep 300\n",
            reconcile: ", operationTimeout: 1s", typeSettings: ", timeout: 5m")
        defer { world.cleanup() }

        let daemon = try DaemonProcess(["--config", config, "--interval", "1s", "--shutdown-grace", "1s"], in: world.root)
        defer { daemon.stop() }
        try Harness.waitFor(seconds: 120) { FileManager.default.fileExists(atPath: world.ledger.appendingPathComponent("started").path) }
        #expect(try daemon.get("/readyz").status == 503)
        try Self.waitForStatus(daemon, "/healthz", 503)
        #expect(try daemon.get("/readyz").status == 503)
        daemon.signal(SIGTERM)
        try Harness.waitFor(seconds: 60) { !daemon.process.isRunning }
        #expect(daemon.process.terminationStatus == 0)
    }

    /// Flags beat the environment, which beats the file; secrets stay out of the printout.
    @Test func printConfig() throws {
        let world = try World()
        defer { world.cleanup() }
        let config = try Self.config(world, extraTypes: """
              keyed: { driver: exec, command: ["./x"], env: { API_KEY: "s3cr3t-value" } }
              pg: { driver: postgres-fts, url: "postgresql://indexops@db:5432/rag", passwordFile: pg-password }
            """)
        let process = Process()
        process.executableURL = Harness.binary
        process.arguments = ["run", "--config", config, "--listen", "127.0.0.1:9999", "--print-config"]
        process.currentDirectoryURL = world.root
        process.environment = ProcessInfo.processInfo.environment.merging([
            "INDEXOPS_LISTEN": "0.0.0.0:1111", "INDEXOPS_INTERVAL": "7m", "INDEXOPS_LOG_FORMAT": "json",
        ]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let server = json["server"] as? [String: Any]
        #expect(server?["listen"] as? String == "127.0.0.1:9999", "the flag wins over INDEXOPS_LISTEN and the file")
        #expect((server?["webhookSecretFile"] as? String)?.hasSuffix("/secret") == true)
        #expect((json["reconcile"] as? [String: Any])?["interval"] as? String == "7m", "the environment wins over the file")
        #expect((json["reconcile"] as? [String: Any])?["commitInterval"] as? String == "1s", "the file wins over the default")
        #expect((json["log"] as? [String: Any])?["format"] as? String == "json")
        #expect(json["shutdownGrace"] as? String == "30s")
        #expect(text.contains("API_KEY"))
        #expect(!text.contains("s3cr3t-value"))
        let pg = ((json["indexTypes"] as? [String: Any])?["pg"] as? [String: Any])?["postgres"] as? [String: Any]
        #expect(pg?["url"] as? String == "postgresql://indexops@db:5432/rag")
        #expect((pg?["passwordFile"] as? String)?.hasSuffix("/pg-password") == true)
        #expect(pg?["table"] as? String == "indexops_pg")
        #expect(!text.contains("topsecret"))

        let bad = try Harness.run(["run", "--config", config, "--interval", "soon", "--print-config"], in: world.root)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--interval: \"soon\" is not a duration"))
    }
}

extension ReconcileEndToEndTests.World {
    /// Whether the remote's main branch has a status file for the document.
    func remoteHasStatus(_ id: String) throws -> Bool {
        let hash = try Harness.output(["sh", "-c", "printf %s \(id) | sha256sum"], in: root).prefix(2)
        let files = try Harness.output(["git", "ls-tree", "-r", "--name-only", "main"], in: remote)
        return files.contains("status/\(hash)/\(id).json")
    }
}
