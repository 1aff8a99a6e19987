import Foundation
import IndexOpsCore
import Testing
import YAML

/// The annotated reference files under specs/ are documentation: they must stay valid and
/// show every field there is.
@Suite("Reference files in specs/")
struct ReferenceFileTests {
    static let specs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("specs")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: specs.appendingPathComponent(name)))
    }

    /// Every key path written in a YAML file, like `spec.indexes.vector`.
    static func keyPaths(_ bytes: [UInt8]) -> Set<String> {
        var paths = Set<String>()
        var pending = YAMLStream(parsing: bytes, file: "r").documents.map { ("", $0.root) }
        while let (prefix, node) = pending.popLast() {
            for pair in node.pairs ?? [] {
                let path = prefix.isEmpty ? pair.key.scalar!.value : prefix + "." + pair.key.scalar!.value
                paths.insert(path)
                pending.append((path, pair.value))
            }
        }
        return paths
    }

    @Test func documentIndexReference() throws {
        let bytes = try Self.bytes("document-index.yaml")
        let file = SpecFile(path: "specs/document-index.yaml", bytes: bytes)
        #expect(file.diagnostics.isEmpty)
        let index = try #require(file.resources.first?.index)
        #expect(index.metadata.retryRequestedAt != nil && index.metadata.recreateRequestedAt != nil)
        #expect(index.spec.indexes == ["vector": .present, "fulltext": .present, "graph": .absent])
        #expect(Self.keyPaths(bytes).isSuperset(of: [
            "apiVersion", "kind", "metadata.name", "metadata.collection", "metadata.createdBy",
            "metadata.annotations.indexops/retry-requested-at", "metadata.annotations.indexops/recreate-requested-at",
            "spec.source", "spec.indexes",
        ]))
    }

    @Test func controllerConfigReference() throws {
        let bytes = try Self.bytes("controller-config.yaml")
        let config = try ControllerConfig(bytes: bytes, path: "specs/controller-config.yaml")
        #expect(config.indexTypes.keys.sorted() == ["fulltext", "graph", "pg-fulltext", "pg-vector", "vector"])
        #expect(config.repository.sshKeyFile == "/etc/indexops/ssh/id_ed25519")
        #expect(config.limits == YAMLLimits.default)
        #expect(config.sizeLimits == SizeLimits())
        let fields = [
            "repository.path", "repository.url", "repository.branch", "repository.specsDir", "repository.statusDir",
            "repository.sshKeyFile", "repository.knownHostsFile", "repository.authorName", "repository.authorEmail",
            "repository.stallTimeout",
            "reconcile.interval", "reconcile.concurrency", "reconcile.operationTimeout", "reconcile.maxRetries",
            "reconcile.retryBackoff", "reconcile.maxRetryBackoff", "reconcile.commitInterval", "reconcile.maxDeletePercent",
            "reconcile.minDeleteCount",
            "indexTypes.fulltext.driver", "indexTypes.fulltext.database", "indexTypes.graph.command",
            "indexTypes.graph.timeout", "indexTypes.graph.env", "server.listen", "server.webhookSecretFile",
            "limits.maxFileSize", "limits.maxDepth", "limits.maxDocuments", "limits.maxScalarLength",
            "limits.aliasExpansionFloor", "limits.aliasExpansionRatio",
            "limits.maxStatusFileSize", "limits.maxSourceSize", "limits.maxWorkTreeFileSize", "shard",
        ] + ["url", "passwordFile", "tls", "caFile", "maxConnections", "schema", "table", "textSearchConfig"].map { "indexTypes.pg-fulltext.\($0)" }
            + ["indexTypes.pg-vector.vectorStorage"]
        #expect(Set(fields).subtracting(Self.keyPaths(bytes)) == [])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("# tokenFile:") && text.contains("# tokenEnv:"))
        for field in ["embedder:", "url:", "model:", "dimensions:", "apiKeyFile:", "batchSize:", "timeout:"] {
            #expect(text.contains("#     \(field)") || text.contains("#   \(field)"), "the embedder example shows \(field)")
        }
    }

    @Test func configInTheSpecsFolderIsSkippedWithAHint() throws {
        let file = SpecFile(path: "specs/controller-config.yaml", bytes: try Self.bytes("controller-config.yaml"))
        #expect(file.diagnostics.map(\.description) == [
            "specs/controller-config.yaml:12:7: warning: a ControllerConfig configures the controller; pass it with --config, not in the specs (skipped)",
        ])
    }
}
