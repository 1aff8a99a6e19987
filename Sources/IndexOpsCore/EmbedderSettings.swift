import YAML

/// The `embedder` of a vector index type: an OpenAI-compatible `POST /v1/embeddings` endpoint
/// (what Ollama, vLLM, text-embeddings-inference, LM Studio and the hosted APIs speak) that
/// turns chunks and queries into vectors (DESIGN.md §6). Without one, the vector drivers
/// keep lexical feature-hashed vectors.
///
/// ```yaml
/// indexTypes:
///   vector:
///     driver: sqlite-vector
///     embedder:
///       url: http://localhost:11434/v1/embeddings
///       model: nomic-embed-text
///       dimensions: 768
///       apiKeyFile: /etc/indexops/embedder-key   # optional: sent as a Bearer token
///       batchSize: 32                            # optional: chunks per request
///       timeout: 60s                             # optional: per request
/// ```
///
/// `model` and `dimensions` are part of the index type's fingerprint: changing either
/// rebuilds every index of the type. `url`, `apiKeyFile`, `batchSize` and `timeout` are not
/// (moving the same model to another host does not re-embed a corpus; `indexops recreate`
/// does when wanted).
public struct EmbedderSettings: Sendable, Hashable {
    /// The endpoint, `http://` or `https://`, with no user or password in it.
    public var url: String
    /// The model name sent with each request.
    public var model: String
    /// The length of the vectors the model returns; a different length is a configuration
    /// error.
    public var dimensions: Int
    /// A file holding the API key, sent as `Authorization: Bearer <key>` (a trailing newline
    /// is ignored; read at each operation, so a rotated key is picked up). A secret: shown
    /// by path only, never its content.
    public var apiKeyFile: String?
    /// Chunks sent in one request. Default 32.
    public var batchSize: Int
    /// The longest one request may take. Default 60 s.
    public var timeout: Duration

    /// The default ``batchSize``.
    public static let defaultBatchSize = 32
    /// The default ``timeout``.
    public static let defaultTimeout: Duration = .seconds(60)

    /// Creates settings.
    public init(
        url: String, model: String, dimensions: Int, apiKeyFile: String? = nil,
        batchSize: Int = EmbedderSettings.defaultBatchSize, timeout: Duration = EmbedderSettings.defaultTimeout
    ) {
        self.url = url
        self.model = model
        self.dimensions = dimensions
        self.apiKeyFile = apiKeyFile
        self.batchSize = batchSize
        self.timeout = timeout
    }

    /// What of these settings changes the vectors: the model and their length.
    public var fingerprint: String { "embedder:\(model)\u{1}\(dimensions)" }

    /// Why `url` cannot be an embeddings endpoint; `nil` when it can.
    public static func urlProblem(_ url: String) -> String? {
        let lower = url.lowercased()
        guard let scheme = ["http://", "https://"].first(where: { lower.hasPrefix($0) }) else {
            return "url must start with http:// or https://"
        }
        let authority = url.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.isEmpty { return "url has no host" }
        if authority.contains("@") { return "url must not hold a user or password: put the key in apiKeyFile" }
        return nil
    }
}

extension EmbedderSettings: Decodable {
    private enum CodingKeys: String, CodingKey { case url, model, dimensions, apiKeyFile, batchSize, timeout }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decode(String.self, forKey: .url)
        if let problem = Self.urlProblem(url) { throw DecodingProblem(problem, at: .value("url")) }
        model = try c.decode(String.self, forKey: .model)
        guard !model.isEmpty else { throw DecodingProblem("model must not be empty", at: .value("model")) }
        dimensions = try c.decode(Int.self, forKey: .dimensions)
        guard (1...65_536).contains(dimensions) else {
            throw DecodingProblem("dimensions must be between 1 and 65536", at: .value("dimensions"))
        }
        apiKeyFile = try c.decodeIfPresent(String.self, forKey: .apiKeyFile)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? Self.defaultBatchSize
        guard (1...2_048).contains(batchSize) else {
            throw DecodingProblem("batchSize must be between 1 and 2048", at: .value("batchSize"))
        }
        timeout = try c.decodeIfPresent(DurationValue.self, forKey: .timeout)?.value ?? Self.defaultTimeout
        guard timeout > .zero else { throw DecodingProblem("timeout must be positive", at: .value("timeout")) }
    }
}
