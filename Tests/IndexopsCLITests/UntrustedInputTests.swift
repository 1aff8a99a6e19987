import Foundation
import Testing

/// Issue 10 as an attacker and a careless person would try it, through the built binary
/// against a bare remote: a hand-edited status file, a secret echoed by an indexer or held in
/// the remote's URL, a changed limit, a forged log line, a plan after someone pushed. Each
/// test has its own world and loopback port, so they may run in parallel.
@Suite("untrusted input")
struct UntrustedInputTests {
    typealias World = ReconcileEndToEndTests.World

    /// A world whose only spec is `specs/doc123.yaml` with `indexes`, and a configuration
    /// `name.yaml` beside it (``writeConfig(_:to:url:indexTypes:reconcile:extra:)``).
    static func world(indexes: String, config name: String = "trust", reconcile: String = "", indexTypes: String, extra: String = "") throws -> (World, String) {
        let world = try World()
        let config = world.root.appendingPathComponent("\(name).yaml").path
        try writeConfig(world, to: config, indexTypes: indexTypes, reconcile: reconcile, extra: extra)
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.write("specs/doc123.yaml", PeopleSpec.spec("doc123", source: "docs/doc123.md", indexes: indexes))
        try world.push("doc123")
        return (world, config)
    }

    /// A configuration for the world's remote and clone (or `url`), with `indexTypes` (lines
    /// indented by two spaces; `LEDGER_PATH` stands for the world's ledger folder).
    static func writeConfig(
        _ world: World, to path: String, url: String? = nil, indexTypes: String, reconcile: String = "", extra: String = ""
    ) throws {
        let indexTypes = indexTypes.replacingOccurrences(of: "LEDGER_PATH", with: world.ledger.path)
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: controller, url: "\(url ?? world.remote.path)", branch: main }
            reconcile: { interval: 1h, maxRetries: 3, retryBackoff: 1m, commitInterval: 1s\(reconcile) }
            indexTypes:
            \(indexTypes)
            \(extra)

            """.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func script(_ world: World, _ name: String, _ text: String) throws {
        let file = world.root.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        chmod(file.path, 0o755)
    }

    static func run(_ world: World, _ config: String, _ arguments: [String]) throws -> Harness.Result {
        try Harness.run(arguments + ["--config", config], in: world.root)
    }

    // MARK: - Item 3: status files are input too

    /// A hand-edited `retryCount` of Int64.max with state `creating` and a failing indexer
    /// trapped on `retryCount += 1`, at every restart. Now: a diagnostic, no trap, and the
    /// document converges.
    @Test func anOverflowingStatusFileIsReportedAndHealed() throws {
        let world = try World()
        defer { world.cleanup() }
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.write("specs/doc123.yaml", PeopleSpec.spec("doc123", source: "docs/doc123.md", indexes: "{ graph: present }"))
        try Data().write(to: world.ledger.appendingPathComponent("fail-doc123"))
        try world.push("doc123")
        #expect(try world.indexops(["reconcile", "--once"]).status == 1, "the indexer fails")

        try world.pull()
        let path = try Harness.output(["sh", "-c", "ls status/*/doc123.json"], in: world.person).trimmingCharacters(in: .newlines)
        try world.write(path, try world.status("doc123")
            .replacingOccurrences(of: "\"retryCount\": 1", with: "\"retryCount\": 9223372036854775807")
            .replacingOccurrences(of: "\"actualState\": \"failed\"", with: "\"actualState\": \"creating\""))
        try world.push("Retry doc123 forever")

        for (attempt, arguments) in [["reconcile", "--once"], ["reconcile", "--once"], ["reconcile", "--once", "--force"]].enumerated() {
            let pass = try world.indexops(arguments)
            #expect(pass.status == 1, "failed indexes, not a trap: \(pass.stderr.suffix(2_000))")
            #expect(!pass.stderr.contains("Swift runtime failure"))
            #expect(pass.stdout.contains("warning: invalid status file: indexes.graph.retryCount: 9223372036854775807 is out of range") == (attempt == 0))
        }
        try world.pull()
        #expect(try world.status("doc123").contains("\"retryCount\": 1,"), "the file was written anew")

        // The indexer recovers; a retry annotation brings the index up.
        try FileManager.default.removeItem(at: world.ledger.appendingPathComponent("fail-doc123"))
        try world.write("specs/doc123.yaml", PeopleSpec.spec(
            "doc123", source: "docs/doc123.md", indexes: "{ graph: present }",
            extra: "  annotations: { indexops/retry-requested-at: \"2026-11-29T12:00:00Z\" }\n"))
        try world.push("Retry doc123")
        let healed = try world.indexops(["reconcile", "--once"])
        #expect(healed.status == 0, "\(healed.stdout)")
        try world.pull()
        #expect(try world.status("doc123").contains("\"actualState\": \"present\""))
        #expect(world.liveGraphIndexes == ["doc123"])
    }

    @Test func theFirstPassNamesTheFileAndTheField() throws {
        let world = try World()
        defer { world.cleanup() }
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.write("specs/doc123.yaml", PeopleSpec.spec("doc123", source: "docs/doc123.md", indexes: "{ graph: present }"))
        try world.push("doc123")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        try world.pull()
        let path = try Harness.output(["sh", "-c", "ls status/*/doc123.json"], in: world.person).trimmingCharacters(in: .newlines)
        try world.write(path, try world.status("doc123").replacingOccurrences(of: "\"retryCount\": 0", with: "\"retryCount\": 9223372036854775807"))
        try world.push("Overflow by hand")
        let pass = try world.indexops(["reconcile", "--once"])
        #expect(pass.status == 0, "\(pass.stdout)")
        #expect(pass.stdout.contains(
            "\(path):1:1: warning: invalid status file: indexes.graph.retryCount: 9223372036854775807 is out of range (0 to 1000000)"))
        #expect(pass.stdout.contains("doc123/graph  create  status file was invalid  present"))
        #expect(try world.indexops(["reconcile", "--once"]).stdout.contains("nothing to do: the specs, statuses and configuration"),
                "the healed file is not reported again")
    }

    /// An orphan whose status file was broken by hand: its index is still deleted, from the
    /// last valid version of the file in git history.
    @Test func anOrphansBrokenStatusStillDeletesItsIndex() throws {
        let world = try World()
        defer { world.cleanup() }
        try world.write("specs/doc123.yaml", PeopleSpec.spec("doc123", source: "docs/doc123.md", indexes: "{ graph: present }"))
        try world.push("doc123 and the handbook")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        #expect(world.liveGraphIndexes == ["doc123", "handbook-onboarding"])

        try world.pull()
        let path = try Harness.output(["sh", "-c", "ls status/*/doc123.json"], in: world.person).trimmingCharacters(in: .newlines)
        try world.write(path, try world.status("doc123").replacingOccurrences(of: "\"actualState\": \"present\"", with: "\"actualState\": \"presnt\""))
        try Harness.git(["rm", "-q", "specs/doc123.yaml"], in: world.person)
        try world.push("Drop doc123, break its status")

        let pass = try world.indexops(["reconcile", "--once"])
        #expect(pass.status == 0, "\(pass.stdout)")
        #expect(pass.stdout.contains("\(path):1:1: warning: invalid status file: indexes.graph.actualState: must be one of absent, creating, present, deleting, failed; its document is reconciled from the last valid version in git history"))
        #expect(world.liveGraphIndexes == ["handbook-onboarding"])
        let calls = try String(contentsOf: world.ledger.appendingPathComponent("calls.log"), encoding: .utf8)
        #expect(calls.hasSuffix("delete doc123\n"))
        try world.pull()
        #expect(try !world.statusExists("doc123"))
    }

    // MARK: - Item 5: secrets never leave

    static let apiToken = "s3cr3t-api-token-42"
    static let webhookSecret = "topsecret-webhook-77"
    static let urlPassword = "hunter2-url-pass"

    /// The secrets in every output a person or a tool sees: zero hits.
    static func leaks(_ texts: [String: String]) -> [String] {
        texts.flatMap { name, text in
            [apiToken, webhookSecret, urlPassword, "hunter2"].filter { text.contains($0) }.map { "\(name) holds \($0)" }
        }.sorted()
    }

    @Test func secretsNeverLeave() throws {
        let leakyTypes = """
              leaky: { driver: exec, command: ["./leaky-indexer"], env: { API_TOKEN: "\(Self.apiToken)" } }
              graph: { driver: exec, command: ["./graph-indexer"], env: { LEDGER: "LEDGER_PATH" } }
            """
        let (world, config) = try Self.world(
            indexes: "{ leaky: present, graph: present }", indexTypes: leakyTypes, extra: "server: { webhookSecretFile: secret }")
        defer { world.cleanup() }
        try Data("\(Self.webhookSecret)\n".utf8).write(to: world.root.appendingPathComponent("secret"))
        try Self.script(world, "leaky-indexer", """
            #!/bin/sh
            cat >/dev/null
            echo "auth failed: token=$API_TOKEN webhook=$(cat secret)" >&2
            exit 1
            """)
        var outputs: [String: String] = [:]
        func record(_ name: String, _ result: Harness.Result) {
            outputs[name + " stdout"] = result.stdout
            outputs[name + " stderr"] = result.stderr
        }

        let pass = try Self.run(world, config, ["reconcile", "--once"])
        #expect(pass.status == 1)
        #expect(pass.stderr.contains("leaky-indexer exited with status 1: auth failed: token=<redacted> webhook=<redacted>"))
        record("reconcile", pass)
        for arguments in [["status"], ["status", "doc123"], ["status", "-o", "json"], ["status", "doc123", "-o", "json"],
                          ["history", "doc123"], ["history", "doc123", "-o", "json"], ["plan"], ["plan", "-o", "json"],
                          ["reconcile", "--once", "--force", "-o", "json"], ["run", "--print-config"]] {
            record(arguments.joined(separator: " "), try Self.run(world, config, arguments))
        }
        #expect(outputs["status stdout"]?.contains("token=<redacted> webhook=<redacted>") == true)
        try world.pull()
        let statusFiles = try Harness.output(["sh", "-c", "cat status/*/*.json"], in: world.person)
        #expect(statusFiles.contains("auth failed: token=<redacted> webhook=<redacted>"))
        outputs["status files"] = statusFiles
        outputs["git log -p of the remote"] = try Harness.output(["git", "log", "-p", "--all"], in: world.remote)

        // The daemon, logging JSON, runs a new failing operation and serves the page and the API.
        // A hand-added entry of a type the configuration does not define adds no metric series.
        try world.write("specs/doc124.yaml", PeopleSpec.spec("doc124", source: "docs/doc123.md", indexes: "{ leaky: present }"))
        let path = try Harness.output(["sh", "-c", "ls status/*/doc123.json"], in: world.person).trimmingCharacters(in: .newlines)
        let retired = #"  "indexes": {\#n    "retired": {"actualState": "present", "desiredState": "present", "indexData": {}, "lastReconciledAt": "2026-11-29T10:00:00Z", "retryCount": 0, "updatedAt": "2026-11-29T10:00:00Z"},"#
        try world.write(path, try world.status("doc123").replacingOccurrences(of: #"  "indexes": {"#, with: retired))
        try world.push("doc124, and a retired index type")
        let daemon = try DaemonProcess(["--config", config, "--log-format", "json"], in: world.root)
        defer { daemon.stop() }
        try Harness.waitFor(seconds: 120) { daemon.stderr.contains("\"document_id\":\"doc124\"") && daemon.stderr.contains("Pass finished") }
        for path in ["/", "/api/v1/status", "/api/v1/status/doc123", "/api/v1/status/doc124"] {
            let reply = try daemon.get(path)
            #expect(reply.status == 200)
            outputs["GET \(path)"] = reply.body
        }
        #expect(outputs["GET /"]?.contains("token=&lt;redacted&gt; webhook=&lt;redacted&gt;") == true)
        #expect(try daemon.metric("indexops_indexes{type=\"_unconfigured\",state=\"present\"}") == 1)
        #expect(try !daemon.get("/metrics").body.contains("retired"))
        daemon.signal(SIGTERM)
        daemon.process.waitUntilExit()
        outputs["daemon log (json)"] = daemon.stderr
        #expect(daemon.stderr.contains("auth failed: token=<redacted> webhook=<redacted>"))

        // A password in the remote's URL, which cannot be reached (and, with a token
        // configured, is refused before connecting: plain http, not loopback).
        let unreachable = world.root.appendingPathComponent("unreachable.yaml").path
        try Self.writeConfig(world, to: unreachable, url: "http://bot:\(Self.urlPassword)@indexops.invalid/remote.git",
                             indexTypes: leakyTypes, extra: "server: { webhookSecretFile: secret }")
        let configText = try String(contentsOfFile: unreachable, encoding: .utf8)
        try Data(configText.replacingOccurrences(of: "branch: main }", with: "branch: main, tokenEnv: INDEXOPS_TEST_TOKEN }").utf8)
            .write(to: URL(fileURLWithPath: unreachable))
        let refused = try Self.run(world, unreachable, ["reconcile", "--once"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("<redacted>"), "the URL is named, its password is not: \(refused.stderr)")
        record("reconcile, unreachable", refused)
        let refusedPlan = try Self.run(world, unreachable, ["plan"])
        #expect(refusedPlan.status == 2, "a dry run fetches too")
        record("plan, unreachable", refusedPlan)
        let textDaemon = try DaemonProcess(["--config", unreachable], in: world.root)
        defer { textDaemon.stop() }
        try Harness.waitFor(seconds: 120) { (try? textDaemon.get("/"))?.body.contains("<td class=\"error\">error</td>") == true }
        outputs["GET / (unreachable)"] = try textDaemon.get("/").body
        outputs["GET /api/v1/status (unreachable)"] = try textDaemon.get("/api/v1/status").body
        #expect(outputs["GET / (unreachable)"]?.contains("&lt;redacted&gt;") == true)
        textDaemon.signal(SIGTERM)
        textDaemon.process.waitUntilExit()
        outputs["daemon log (text, unreachable)"] = textDaemon.stderr
        #expect(textDaemon.stderr.contains("Pass failed: "))

        #expect(Self.leaks(outputs) == [])
    }

    // MARK: - Item 6: one fingerprint of the whole configuration

    @Test func raisingALimitEndsTheIdlePass() throws {
        let graph = #"  graph: { driver: exec, command: ["./graph-indexer"], env: { LEDGER: "LEDGER_PATH" } }"#
        let (world, config) = try Self.world(indexes: "{ graph: present }", indexTypes: graph)
        defer { world.cleanup() }
        try Self.writeConfig(world, to: config, indexTypes: graph, extra: "limits: { maxFileSize: 100 }")

        let small = try Self.run(world, config, ["reconcile", "--once"])
        #expect(small.status == 1)
        #expect(small.stdout.contains("(maxFileSize)"), "\(small.stdout)")
        let idle = try Self.run(world, config, ["reconcile", "--once"])
        #expect(idle.stdout.contains("nothing to do: the specs, statuses and configuration are as the last pass left them"))

        try Self.writeConfig(world, to: config, indexTypes: graph, extra: "limits: { maxFileSize: 1MiB }")
        let raised = try Self.run(world, config, ["reconcile", "--once"])
        #expect(raised.status == 0, "\(raised.stdout)")
        #expect(!raised.stdout.contains("nothing to do"))
        #expect(world.liveGraphIndexes == ["doc123"])
    }

    // MARK: - Item 7: a forged log line stays one line

    @Test func aForgedLogLineStaysOneLine() throws {
        let forged = "2026-01-01T00:00:00+0000 info indexops: [IndexOpsController] FORGED"
        let (world, config) = try Self.world(
            indexes: "{ forge: present }", indexTypes: #"  forge: { driver: exec, command: ["./forge-indexer"] }"#)
        defer { world.cleanup() }
        try Self.script(world, "forge-indexer", """
            #!/bin/sh
            cat >/dev/null
            printf 'boom\\n\(forged) success\\n\\033[2J\\033]0;pwned\\007\\302\\2332J' >&2
            exit 1
            """)
        try world.write("specs/bad.yaml", PeopleSpec.spec("bad", source: "docs/doc123.md", indexes: "{ forge: \"present\\n\(forged) spec\" }"))
        try world.push("A spec value with a newline")

        var outputs: [(String, String)] = []
        let pass = try Self.run(world, config, ["reconcile", "--once"])
        #expect(pass.status == 1)
        #expect(pass.stderr.contains("forge-indexer exited with status 1: boom\\n\(forged) success\\n\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{9b}2J"))
        #expect(pass.stderr.contains("invalid state \"present\\n\(forged) spec\""))
        outputs += [("reconcile stdout", pass.stdout), ("reconcile stderr", pass.stderr)]
        for arguments in [["status"], ["status", "doc123"], ["history", "doc123"], ["plan"], ["status", "doc123", "-o", "json"]] {
            let result = try Self.run(world, config, arguments)
            outputs += [(arguments.joined(separator: " "), result.stdout), (arguments.joined(separator: " ") + " stderr", result.stderr)]
        }
        #expect(outputs.first { $0.0 == "status" }?.1.contains("boom\\n\(forged) success") == true)
        let json = try #require(outputs.first { $0.0 == "status doc123 -o json" }?.1)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let message = ((parsed?["indexes"] as? [String: Any])?["forge"] as? [String: Any])?["errorMessage"] as? String
        #expect(message?.hasSuffix("pwned\u{7}\u{9B}2J") == true, "JSON output stays valid and means the same")
        for (name, text) in outputs {
            #expect(!text.contains("\u{1B}") && !text.contains("\u{7}") && !text.contains("\u{9B}"), "\(name) drives the terminal")
            for line in text.split(separator: "\n") where line.contains("FORGED") {
                #expect(!line.hasPrefix("2026-01-01"), "\(name) has a forged line: \(line)")
                #expect(line.contains("boom") || line.contains("invalid state"), "\(name): \(line)")
            }
        }
    }

    // MARK: - Item 8: a dry run fetches

    @Test func aDryRunFetchesAndChangesNothingLocal() throws {
        let world = try World()
        defer { world.cleanup() }
        try FileManager.default.removeItem(at: world.person.appendingPathComponent("specs/handbook"))
        try world.write("specs/doc123.yaml", PeopleSpec.spec("doc123", source: "docs/doc123.md", indexes: "{ graph: present }"))
        try world.push("doc123")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)

        try world.write("specs/late.yaml", PeopleSpec.spec("late", source: "docs/doc123.md", indexes: "{ graph: present }"))
        try world.push("late")
        let remoteHead = try Harness.output(["git", "rev-parse", "main"], in: world.remote)
        let localHead = try Harness.output(["git", "rev-parse", "main"], in: world.controller)
        for arguments in [["plan"], ["reconcile", "--once", "--dry-run"]] {
            let plan = try world.indexops(arguments)
            #expect(plan.status == 0)
            #expect(plan.stdout.contains("late/graph  create  not created yet"), "\(plan.stdout)")
            #expect(try Harness.output(["git", "rev-parse", "main"], in: world.controller) == localHead, "the local branch stays")
            #expect(try Harness.output(["git", "rev-parse", "origin/main"], in: world.controller) == remoteHead, "fetched")
            #expect(!FileManager.default.fileExists(atPath: world.controller.appendingPathComponent("specs/late.yaml").path))
            #expect(try Harness.output(["git", "status", "--porcelain"], in: world.controller) == "")
            #expect(try Harness.output(["git", "rev-parse", "main"], in: world.remote) == remoteHead, "nothing pushed")
            #expect(world.liveGraphIndexes == ["doc123"])
        }
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        #expect(world.liveGraphIndexes == ["doc123", "late"])
    }
}
