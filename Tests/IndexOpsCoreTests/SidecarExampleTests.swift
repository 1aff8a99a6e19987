import Foundation
import IndexOpsCore
import Testing
import YAML

/// examples/sidecar cannot be built or applied here (no Docker engine, no cluster): these
/// tests read the manifests with our YAML module and check what the README promises of them.
struct SidecarExampleTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/sidecar")

    static func manifests(_ file: String = "kubernetes.yaml") throws -> [Node] {
        let path = folder.appendingPathComponent(file).path
        let stream = YAMLStream(parsing: try String(contentsOfFile: path, encoding: .utf8), file: path)
        if let error = stream.error { throw error }
        return stream.documents.filter { !$0.isEmpty }.map(\.root)
    }

    static func resource(_ kind: String, in nodes: [Node]) throws -> Node {
        try #require(nodes.first { $0["kind"]?.scalar?.value == kind }, "no \(kind)")
    }

    static func list(_ node: Node?) -> [Node] {
        if case .sequence(let items)? = node?.content { return items }
        return []
    }

    @Test func kubernetesManifest() throws {
        let nodes = try Self.manifests()
        #expect(nodes.compactMap { $0["kind"]?.scalar?.value } == ["Secret", "ConfigMap", "Deployment", "Service"])

        let pod = try #require(try Self.resource("Deployment", in: nodes)["spec"]?["template"])
        let annotations = pod["metadata"]?["annotations"]
        #expect(annotations?["prometheus.io/scrape"]?.scalar?.value == "true")
        #expect(annotations?["prometheus.io/path"]?.scalar?.value == "/metrics")
        #expect(annotations?["prometheus.io/port"]?.scalar?.value == "8080")

        let containers = Self.list(pod["spec"]?["containers"])
        #expect(containers.compactMap { $0["name"]?.scalar?.value } == ["app", "indexops"])
        let sidecar = try #require(containers.last)
        #expect(sidecar["livenessProbe"]?["httpGet"]?["path"]?.scalar?.value == "/healthz")
        #expect(sidecar["readinessProbe"]?["httpGet"]?["path"]?.scalar?.value == "/readyz")
        let args = Self.list(sidecar["args"]).compactMap { $0.scalar?.value }
        #expect(args.prefix(3) == ["run", "--config", "/etc/indexops/config/indexops.yaml"])

        // Both containers mount the repository volume.
        for container in containers {
            let mounts = Self.list(container["volumeMounts"]).compactMap { $0["name"]?.scalar?.value }
            #expect(mounts.contains("repo"), "\(container["name"]?.scalar?.value ?? "?") does not mount the repository")
        }
        // The credentials come from the Secret.
        let volumes = Self.list(pod["spec"]?["volumes"])
        let credentials = try #require(volumes.first { $0["name"]?.scalar?.value == "credentials" })
        #expect(credentials["secret"]?["secretName"]?.scalar?.value == "indexops-credentials")
        let secretKeys = (try Self.resource("Secret", in: nodes)["stringData"]?.pairs ?? []).map(\.key.scalar?.value)
        #expect(secretKeys == ["ssh-key", "known_hosts", "webhook-secret"])
    }

    /// The ConfigMap's configuration is one indexops accepts, and its paths match the mounts.
    @Test func configurationInTheConfigMap() throws {
        let configMap = try Self.resource("ConfigMap", in: try Self.manifests())
        let text = try #require(configMap["data"]?["indexops.yaml"]?.scalar?.value)
        let config = try ControllerConfig(bytes: Array(text.utf8), path: "indexops.yaml")
        #expect(config.server.listen == "0.0.0.0:8080")
        #expect(config.server.webhookSecretFile == "/etc/indexops/secret/webhook-secret")
        #expect(config.repository.sshKeyFile == "/etc/indexops/secret/ssh-key")
        #expect(config.repository.path?.hasPrefix("/repo/") == true)
        #expect(config.repository.statusBranch == "indexops/status", "the example runs where main is protected")
    }

    /// The scaled-out variant: N replicas of a StatefulSet, each with its own clone on its own
    /// volume, its shard from its pod name, N equal to the replica count, a disruption budget,
    /// and a configuration whose indexes every replica shares.
    @Test func shardedStatefulSet() throws {
        let nodes = try Self.manifests("kubernetes-sharded.yaml")
        #expect(nodes.compactMap { $0["kind"]?.scalar?.value } == ["Secret", "ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget"])
        let set = try Self.resource("StatefulSet", in: nodes)
        let replicas = try #require(set["spec"]?["replicas"]?.scalar.flatMap { Int($0.value) })
        #expect(replicas > 1)
        #expect(set["spec"]?["serviceName"]?.scalar?.value == "indexops")
        #expect(set["spec"]?["updateStrategy"]?["type"]?.scalar?.value == "OnDelete", "two layouts never run side by side")
        let containers = Self.list(set["spec"]?["template"]?["spec"]?["containers"])
        let container = try #require(containers.first)
        let args = Self.list(container["args"]).compactMap { $0.scalar?.value }
        #expect(args.prefix(3) == ["run", "--config", "/etc/indexops/config/indexops.yaml"])
        #expect(args.contains("--shard-from-hostname"))
        let shards = try #require(args.firstIndex(of: "--shards").map { args[$0 + 1] })
        #expect(Int(shards) == replicas, "--shards is the replica count")
        // Every pod's shard is valid: the names a StatefulSet gives, through the same rules.
        let name = try #require(set["metadata"]?["name"]?.scalar?.value)
        for ordinal in 0..<replicas {
            let shard = try Shard.resolve(shard: nil, shards: (shards, "--shards"), fromHostname: true, configured: .single,
                                          hostname: { "\(name)-\(ordinal)" })
            #expect(shard.description == "\(ordinal)/\(replicas)")
        }
        // Its own clone on its own volume.
        let claims = Self.list(set["spec"]?["volumeClaimTemplates"]).compactMap { $0["metadata"]?["name"]?.scalar?.value }
        #expect(claims == ["repo"])
        let mounts = Self.list(container["volumeMounts"])
        #expect(mounts.contains { $0["name"]?.scalar?.value == "repo" && $0["mountPath"]?.scalar?.value == "/repo" })
        let volumes = Self.list(set["spec"]?["template"]?["spec"]?["volumes"]).compactMap { $0["name"]?.scalar?.value }
        #expect(!volumes.contains("repo"), "the clone is a claim per pod, not a volume of the template")
        let budget = try Self.resource("PodDisruptionBudget", in: nodes)
        #expect(budget["spec"]?["maxUnavailable"]?.scalar?.value == "1")
        #expect(budget["spec"]?["selector"]?["matchLabels"]?["app"]?.scalar?.value == "indexops")
        // The configuration is accepted, on the clone's volume, with indexes every replica shares.
        let text = try #require(try Self.resource("ConfigMap", in: nodes)["data"]?["indexops.yaml"]?.scalar?.value)
        let config = try ControllerConfig(bytes: Array(text.utf8), path: "indexops.yaml")
        #expect(config.repository.path?.hasPrefix("/repo/") == true)
        #expect(config.shard == .single, "the shard comes from the pod, not from the shared configuration")
        #expect(config.indexTypes.values.allSatisfy { $0.driver.rawValue.hasPrefix("postgres-") })
    }

    @Test func dockerfile() throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let stages = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.contains("swift:") == true)
        for library in ["libgit2-1.5", "libyaml-0-2", "libsqlite3-0"] { #expect(text.contains(library)) }
        #expect(text.contains("/etc/indexops/config/indexops.yaml"))
    }
}
