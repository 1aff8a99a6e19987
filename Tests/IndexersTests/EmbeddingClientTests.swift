import Foundation
import IndexOpsCore
@testable import Indexers
import Testing

/// The embeddings client against a real HTTP server on loopback that answers deterministic
/// vectors and each error an endpoint gives.
@Suite("embedder")
struct EmbeddingClientTests {
    let server: EmbeddingsServer
    let folder: TempFolder

    init() throws {
        server = try EmbeddingsServer(dimensions: 16)
        folder = try TempFolder()
    }

    func cleanup() {
        server.stop()
        folder.remove()
    }

    func client(_ mode: String = "ok", model: String = "test-embed", dimensions: Int = 16, batchSize: Int = 32,
                timeout: Duration = .seconds(20), key: String? = nil) throws -> EmbeddingClient {
        var keyFile: String?
        if let key {
            keyFile = folder.file("key")
            try (key + "\n").write(toFile: keyFile!, atomically: true, encoding: .utf8)
        }
        return EmbeddingClient(settings: EmbedderSettings(
            url: server.url(mode), model: model, dimensions: dimensions, apiKeyFile: keyFile, batchSize: batchSize, timeout: timeout))
    }

    /// The error `body` throws, as an `IndexerError`.
    func failure(_ body: () async throws -> Void) async throws -> IndexerError {
        do {
            try await body()
        } catch let error as IndexerError {
            return error
        }
        throw IndexerTestFailure("no error")
    }

    @Test func chunksAreEmbeddedInBatchesInOrderAndNormalised() async throws {
        defer { cleanup() }
        let texts = ["a red car", "an automobile", "a small kitten", "git commit", "fresh bread"]
        let vectors = try await client(batchSize: 2, key: "sk-test-0123456789").embed(texts)
        #expect(vectors.count == 5)
        for vector in vectors {
            #expect(vector.count == 16)
            #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        }
        func cosine(_ a: Int, _ b: Int) -> Float { zip(vectors[a], vectors[b]).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(cosine(0, 1) > 0.5, "car and automobile share a concept")
        #expect(cosine(0, 2) < 0.1, "car and kitten do not")
        let log = try server.log()
        #expect(log.map { $0["inputs"] } == [
            .array([.string("a red car"), .string("an automobile")]),
            .array([.string("a small kitten"), .string("git commit")]),
            .array([.string("fresh bread")]),
        ])
        #expect(log.allSatisfy { $0["authorization"]?.stringValue == "Bearer sk-test-0123456789" }, "the key file's newline is not sent")
        #expect(try await client().embed([]).isEmpty)
        #expect(try server.log().count == 3, "nothing to embed: no request")
    }

    @Test func noKeyFileSendsNoAuthorization() async throws {
        defer { cleanup() }
        _ = try await client().embed(["x"])
        #expect(try server.log().first?["authorization"] == .null)
    }

    /// The operation's budget is an hour: a second's wait fits it however long a loaded
    /// machine keeps this test from running (in CI it once took two minutes to get its 429).
    @Test func aRateLimitThatFitsTheOperationIsWaitedOut() async throws {
        defer { cleanup() }
        let client = try client("ratelimit")
        let vectors = try await OperationBudget.$deadline.withValue(ContinuousClock.now + .seconds(3600)) {
            try await client.embed(["a car"])
        }
        #expect(vectors.count == 1)
        #expect(try server.log().count == 2, "one 429, then the answer")
    }

    @Test func aRateLimitPastTheOperationsBudgetIsATransientFailure() async throws {
        defer { cleanup() }
        let long = try client("ratelimit-long")
        let error = try await failure {
            _ = try await OperationBudget.$deadline.withValue(ContinuousClock.now + .seconds(120)) { try await long.embed(["a car"]) }
        }
        #expect(error.message == "embedder \(server.url("ratelimit-long")): rate limited (HTTP 429, Retry-After 1h); retried later")
        #expect(!error.isTerminal)
        let bare = try await failure { _ = try await client("ratelimit-bare").embed(["a car"]) }
        #expect(bare.message.hasSuffix("rate limited (HTTP 429); retried later"))
        #expect(!bare.isTerminal)
        // Retry-After: 1 does not fit an operation with half a second left.
        let short = try client("ratelimit")
        let tight = try await failure {
            _ = try await OperationBudget.$deadline.withValue(ContinuousClock.now + .milliseconds(500)) { try await short.embed(["a car"]) }
        }
        #expect(tight.message.hasSuffix("rate limited (HTTP 429, Retry-After 1s); retried later"))
        #expect(try server.log().count == 3, "no request was sent again")
    }

    @Test func aServerErrorIsTransientAndNeverShowsTheKey() async throws {
        defer { cleanup() }
        let error = try await failure { _ = try await client("error", key: "sk-test-0123456789").embed(["a car"]) }
        #expect(error.message == "embedder \(server.url("error")): HTTP 500: internal error handling Bearer <redacted> sorry")
        #expect(!error.isTerminal)
    }

    @Test func aSlowServerTimesOut() async throws {
        defer { cleanup() }
        let error = try await failure { _ = try await client("slow", timeout: .milliseconds(300)).embed(["a car"]) }
        #expect(error.message == "embedder \(server.url("slow")): no answer within 300ms (embedder.timeout)")
        #expect(!error.isTerminal)
    }

    @Test func aWrongDimensionIsAConfigurationError() async throws {
        defer { cleanup() }
        let error = try await failure { _ = try await client("short").embed(["a car"]) }
        #expect(error.message == """
            embedder \(server.url("short")): the model "test-embed" returns vectors of 15 dimensions, \
            but embedder.dimensions is 16: fix the configuration
            """)
        #expect(error.isTerminal)
        let configured = try await failure { _ = try await client(dimensions: 768).embed(["a car"]) }
        #expect(configured.isTerminal)
    }

    @Test func aWrongModelIsAConfigurationError() async throws {
        defer { cleanup() }
        let error = try await failure { _ = try await client(model: "text-embedding-nope").embed(["a car"]) }
        #expect(error.message == """
            embedder \(server.url()): the endpoint does not serve the model "text-embedding-nope" (embedder.model): \
            HTTP 404: The model `text-embedding-nope` does not exist or you do not have access to it.
            """)
        #expect(error.isTerminal)
    }

    @Test func anUnreachableOrConfusedEndpointIsTransient() async throws {
        defer { cleanup() }
        let confused = try await failure { _ = try await client("garbage").embed(["a car"]) }
        #expect(confused.message.hasSuffix("the answer is not an embeddings response (expected {\"data\": [{\"embedding\": [...]}]})"))
        #expect(!confused.isTerminal)
        server.stop()
        let gone = try await failure { _ = try await client(timeout: .seconds(1)).embed(["a car"]) }
        // AsyncHTTPClient retries a refused connection until the request's deadline; which of
        // the two it reports then depends on timing. Either way: transient, and it says where.
        #expect(gone.message.hasPrefix("embedder \(server.url()): cannot reach the endpoint: ")
            || gone.message == "embedder \(server.url()): no answer within 1s (embedder.timeout)", "\(gone.message)")
        #expect(!gone.isTerminal)
        let missingKey = try await failure {
            _ = try await EmbeddingClient(settings: EmbedderSettings(
                url: server.url(), model: "test-embed", dimensions: 16, apiKeyFile: folder.file("no-such-key"))).embed(["x"])
        }
        #expect(missingKey.message == "embedder: cannot read the apiKeyFile \(folder.file("no-such-key"))")
    }

    @Test func retryAfterIsSecondsOrAnHTTPDate() {
        #expect(EmbeddingClient.retryAfter("120") == .seconds(120))
        #expect(EmbeddingClient.retryAfter(" 1.5 ") == .milliseconds(1_500))
        #expect(EmbeddingClient.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == .zero, "a date in the past: at once")
        #expect(EmbeddingClient.retryAfter("soon") == nil)
    }

    /// sqlite-vector with an embedder stores the endpoint's vectors and embeds the query the
    /// same way: "automobile" finds the document about cars, which shares no word with it.
    @Test func sqliteVectorWithAnEmbedderSearchesByMeaning() async throws {
        defer { cleanup() }
        let settings = EmbedderSettings(url: server.url(), model: "test-embed", dimensions: 16, batchSize: 2)
        let indexer = try SQLiteVectorIndexer(
            indexType: "semantic", databasePath: folder.file("indexes.sqlite"), embedder: EmbeddingClient(settings: settings))
        let cars = Array(repeating: "Our fleet of cars is serviced every spring.", count: 60).joined(separator: "\n\n")
        let data = try await indexer.create(request(doc: "fleet", type: "semantic", text: cars))
        #expect(data == .object(["chunks": .int(3), "dimensions": .int(16), "model": .string("test-embed")]))
        _ = try await indexer.create(request(doc: "pets", type: "semantic", text: "Kittens sleep most of the day."))
        #expect(try server.log().map { $0["inputs"]?.arrayCount ?? 0 } == [2, 1, 1], "three chunks in batches of two, then one")
        let hits = try await indexer.search("automobile", collection: nil, limit: 5)
        #expect(hits.map(\.documentId) == ["fleet"])
        #expect(try server.log().last?["inputs"] == .array([.string("automobile")]), "the query is embedded the same way")
        #expect(try sqlite(folder.file("indexes.sqlite"), "SELECT DISTINCT length(vector) FROM vec_semantic") == "64")
    }
}

extension JSONValue {
    var arrayCount: Int? {
        if case .array(let items) = self { return items.count }
        return nil
    }
}
