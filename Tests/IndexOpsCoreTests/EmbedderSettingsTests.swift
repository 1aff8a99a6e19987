import IndexOpsCore
import Testing
import YAML

/// The `embedder` of a vector index type in the controller configuration.
@Suite("Embedder settings")
struct EmbedderSettingsTests {
    private let head = "apiVersion: indexops/v1\nkind: ControllerConfig\nindexTypes:\n"

    private func failure(_ text: String) -> String? {
        do {
            _ = try ControllerConfig(bytes: Array((head + text).utf8), path: "indexops.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func theOllamaExampleLoadsWithDefaultsAndARelativeKeyFile() throws {
        let config = try ControllerConfig(bytes: Array((head + """
              vector:
                driver: sqlite-vector
                embedder:
                  url: http://localhost:11434/v1/embeddings
                  model: nomic-embed-text
                  dimensions: 768
                  apiKeyFile: secrets/embedder-key

            """).utf8), path: "indexops.yaml").resolvingPaths(relativeTo: "/etc/indexops")
        let embedder = try #require(config.indexTypes["vector"]?.embedder)
        #expect(embedder == EmbedderSettings(
            url: "http://localhost:11434/v1/embeddings", model: "nomic-embed-text", dimensions: 768,
            apiKeyFile: "/etc/indexops/secrets/embedder-key", batchSize: 32, timeout: .seconds(60)))
        #expect(ControllerConfig.embeddedDefaults.indexTypes["vector"]?.embedder == nil, "lexical by default")
    }

    @Test func mistakesAreLocated() {
        let vector = "  v:\n    driver: sqlite-vector\n    embedder:\n"
        #expect(failure("  ft: { driver: sqlite-fts, embedder: { url: http://e/v1/embeddings, model: m, dimensions: 8 } }\n")
            == "indexops.yaml:4:29: error: indexTypes.ft.embedder: embedder is only for the vector drivers")
        #expect(failure(vector + "      url: localhost:11434\n      model: m\n      dimensions: 8\n")
            == "indexops.yaml:7:12: error: indexTypes.v.embedder.url: url must start with http:// or https://")
        #expect(failure(vector + "      url: https://me:pw@api.example.com/v1/embeddings\n      model: m\n      dimensions: 8\n")
            == "indexops.yaml:7:12: error: indexTypes.v.embedder.url: url must not hold a user or password: put the key in apiKeyFile")
        #expect(failure(vector + "      url: http://e/v1/embeddings\n      model: m\n")?.contains("dimensions") == true)
        #expect(failure(vector + "      url: http://e/v1/embeddings\n      model: m\n      dimensions: 0\n")
            == "indexops.yaml:9:19: error: indexTypes.v.embedder.dimensions: dimensions must be between 1 and 65536")
        #expect(failure(vector + "      url: http://e/v1/embeddings\n      model: m\n      dimensions: 8\n      batchSize: 0\n")
            == "indexops.yaml:10:18: error: indexTypes.v.embedder.batchSize: batchSize must be between 1 and 2048")
        #expect(failure(vector + "      url: http://e/v1/embeddings\n      model: m\n      dimensions: 8\n      apiKey: sk-1\n")
            == "indexops.yaml:10:7: error: unknown field \"indexTypes.v.embedder.apiKey\"")
    }

    /// Model and dimensions change the vectors; where the endpoint runs, the key, the batch
    /// size and the timeout do not.
    @Test func theFingerprintIsTheModelAndTheDimensions() {
        let a = EmbedderSettings(url: "http://a/v1/embeddings", model: "m", dimensions: 8)
        var b = a
        b.url = "https://b/v1/embeddings"
        b.apiKeyFile = "/k"
        b.batchSize = 4
        b.timeout = .seconds(5)
        #expect(a.fingerprint == b.fingerprint)
        b.model = "m2"
        #expect(a.fingerprint != b.fingerprint)
        var c = a
        c.dimensions = 16
        #expect(a.fingerprint != c.fingerprint)
    }
}
