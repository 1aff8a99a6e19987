import IndexOpsCore
import Testing
import YAML

@Suite("Controller configuration")
struct ControllerConfigTests {
    private func load(_ text: String) throws(YAMLError) -> ControllerConfig {
        try ControllerConfig(bytes: Array(text.utf8), path: "indexops.yaml")
    }

    private func failure(_ text: String) -> String? {
        do {
            _ = try load(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func designExampleLoads() throws {
        let config = try load("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository:
              path: /var/lib/indexops/repo
              url: git@github.com:acme/index-specs.git
              branch: main
            reconcile: { interval: 30s, concurrency: 4, operationTimeout: 10m, maxRetries: 5 }
            indexTypes:
              fulltext: { driver: sqlite-fts, database: /var/lib/indexops/indexes.sqlite }
              vector:   { driver: sqlite-vector, database: indexes.sqlite }
              graph:    { driver: exec, command: ["/opt/indexers/graph"], timeout: 5m, env: { GRAPH_URL: "http://graph:7474" } }
            server: { listen: "0.0.0.0:8080", webhookSecretFile: /etc/indexops/webhook-secret }
            limits: { maxFileSize: 2MiB, maxDepth: 32 }
            """)
        #expect(config.repository.url == "git@github.com:acme/index-specs.git")
        #expect(config.reconcile.operationTimeout == .seconds(600))
        #expect(config.reconcile.commitInterval == .seconds(2))
        #expect(config.indexTypes["graph"] == IndexTypeSettings(
            driver: .exec, command: ["/opt/indexers/graph"], timeout: .seconds(300), env: ["GRAPH_URL": "http://graph:7474"]))
        #expect(config.server.webhookSecretFile == "/etc/indexops/webhook-secret")
        #expect(config.limits.maxFileSize == 2 << 20)
        #expect(config.limits.maxDepth == 32)
        #expect(config.limits.maxDocuments == 1_000)

        let resolved = config.resolvingPaths(relativeTo: "/etc/indexops")
        #expect(resolved.indexTypes["vector"]?.database == "/etc/indexops/indexes.sqlite")
        #expect(resolved.indexTypes["fulltext"]?.database == "/var/lib/indexops/indexes.sqlite")
    }

    @Test func sizeLimitsHaveDefaultsAndAreRead() throws {
        let defaults = ControllerConfig.embeddedDefaults.sizeLimits
        #expect(defaults.maxStatusFileSize == 1 << 20)
        #expect(defaults.maxSourceSize == 32 << 20)
        #expect(defaults.maxWorkTreeFileSize == 64 << 20)
        let config = try load("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            limits: { maxFileSize: 2MiB, maxStatusFileSize: 64KiB, maxSourceSize: 100MiB, maxWorkTreeFileSize: 1000 }
            """)
        #expect(config.limits.maxFileSize == 2 << 20)
        #expect(config.sizeLimits.maxStatusFileSize == 64 << 10)
        #expect(config.sizeLimits.maxSourceSize == 100 << 20)
        #expect(config.sizeLimits.maxWorkTreeFileSize == 1000)
        #expect(throws: YAMLError.self) {
            try load("apiVersion: indexops/v1\nkind: ControllerConfig\nlimits: { maxSourceSize: 0 }\n")
        }
    }

    @Test func defaultsWithoutAFile() {
        let config = ControllerConfig.embeddedDefaults
        #expect(config.indexTypes.keys.sorted() == ["fulltext", "vector"])
        #expect(config.indexTypes["fulltext"]?.driver == .sqliteFTS)
        #expect(config.repository.url == nil)
        #expect(config.repository.specsDir == "specs")
        #expect(config.reconcile.maxDeletePercent == 50)
        #expect(config.reconcile.minDeleteCount == 10)
        #expect(config.reconcile.maxRetries == 5)
    }

    @Test func relativeCommandsResolveAndNamesStay() throws {
        let config = try load("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            indexTypes:
              a: { driver: exec, command: [./bin/indexer, --fast] }
              b: { driver: exec, command: [python3, indexer.py] }
            """).resolvingPaths(relativeTo: "/etc/indexops")
        #expect(config.indexTypes["a"]?.command == ["/etc/indexops/./bin/indexer", "--fast"])
        #expect(config.indexTypes["b"]?.command == ["python3", "indexer.py"])
    }

    @Test func mistakesAreLocated() {
        let head = "apiVersion: indexops/v1\nkind: ControllerConfig\n"
        #expect(failure(head + "reconcile: { interval: 30 }\n")
            == "indexops.yaml:3:24: error: reconcile.interval: invalid duration \"30\": use a number and a unit, like 500ms, 30s, 10m, 1h or 1h30m")
        #expect(failure(head + "indexTypes:\n  graph: { driver: exec }\n")
            == "indexops.yaml:4:10: error: indexTypes.graph: the exec driver needs a command: an argv whose first item is a program")
        #expect(failure(head + "indexTypes:\n  graph: { driver: neo4j }\n")
            == "indexops.yaml:4:20: error: indexTypes.graph.driver: unknown driver \"neo4j\" (known: sqlite-fts, sqlite-vector, exec, noop, postgres-fts, postgres-vector)")
        #expect(failure(head + "indexTypes:\n  ft: { driver: sqlite-fts, command: [x] }\n")
            == "indexops.yaml:4:29: error: indexTypes.ft.command: command is only for the exec driver")
        #expect(failure(head + "reconcile:\n  concurency: 4\n") == "indexops.yaml:4:3: error: unknown field \"reconcile.concurency\"")
        #expect(failure(head + "reconcile: { maxDeletePercent: 150 }\n")
            == "indexops.yaml:3:32: error: reconcile.maxDeletePercent: maxDeletePercent must be between 0 and 100")
        #expect(failure(head + "reconcile: { minDeleteCount: -1 }\n")
            == "indexops.yaml:3:30: error: reconcile.minDeleteCount: minDeleteCount must not be negative")
        #expect(failure(head + "server: { listen: localhost }\n")
            == "indexops.yaml:3:19: error: server.listen: listen must be host:port, like 0.0.0.0:8080")
        #expect(failure(head + "repository: { specsDir: ../specs }\n")
            == "indexops.yaml:3:25: error: repository.specsDir: folder \"../specs\" leaves the repository (\"..\" is not allowed)")
        #expect(failure("apiVersion: indexops/v1\nkind: DocumentIndex\n")
            == "indexops.yaml:2:7: error: kind: kind \"DocumentIndex\" is not ControllerConfig")
        #expect(failure(head + "---\n" + head) == "indexops.yaml:3:1: error: a configuration file holds exactly one ControllerConfig document")
    }
}
