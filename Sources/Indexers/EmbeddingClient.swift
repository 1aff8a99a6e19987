import AsyncHTTPClient
import Foundation
import IndexOpsCore
import NIOCore
import NIOHTTP1

/// A client of an OpenAI-compatible embeddings endpoint (`POST /v1/embeddings`: Ollama, vLLM,
/// text-embeddings-inference, LM Studio, the hosted APIs), for the vector drivers.
///
/// ``embed(_:)`` sends the texts in batches of ``EmbedderSettings/batchSize`` —
/// `{"model": …, "input": [...], "encoding_format": "float"}` — and returns one
/// L2-normalised vector per text, in order, so that a dot product is the cosine similarity.
/// The API key (``EmbedderSettings/apiKeyFile``) is read at each call and sent as
/// `Authorization: Bearer …`; it never appears in an error.
///
/// Errors are ``IndexerError``s, transient (retried by the reconciler's backoff) except
/// those that only a configuration change can fix, which are terminal: the endpoint does not
/// know the model, or its vectors are not ``EmbedderSettings/dimensions`` long. A 429 with
/// `Retry-After` is waited out when the wait fits the operation's ``OperationBudget`` (or,
/// outside an operation, the request timeout), at most twice per batch; otherwise it is a
/// transient failure. Cancellation (the operation timeout) stops a request at once.
public struct EmbeddingClient: Sendable {
    /// The endpoint and model.
    public let settings: EmbedderSettings
    private let http: HTTPClient

    /// Times one batch is sent again after a 429 with `Retry-After`.
    static let rateLimitRetries = 2

    /// A client of the endpoint `settings` name, over AsyncHTTPClient's shared client (which
    /// never needs shutting down).
    public init(settings: EmbedderSettings, httpClient: HTTPClient = .shared) {
        self.settings = settings
        self.http = httpClient
    }

    /// The length of the vectors.
    public var dimensions: Int { settings.dimensions }

    /// One vector per text, in order, L2-normalised.
    ///
    /// - Throws: ``IndexerError`` (see the type); `CancellationError` when the task is
    ///   cancelled.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let key = try apiKey()
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(start + settings.batchSize, texts.count)])
            vectors += try await embedBatch(batch, key: key)
            start += batch.count
        }
        return vectors
    }

    /// The API key in `path`, without surrounding white space; `nil` for an empty file. The
    /// same reading as the client's, for a redactor of configured secrets.
    ///
    /// - Throws: ``IndexerError`` naming the file (never its content) when it cannot be read.
    public static func readKey(atPath path: String) throws(IndexerError) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IndexerError("embedder: cannot read the apiKeyFile \(path)")
        }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return key.isEmpty ? nil : key
    }

    private func apiKey() throws(IndexerError) -> String? {
        guard let path = settings.apiKeyFile else { return nil }
        return try Self.readKey(atPath: path)
    }

    private var label: String { "embedder \(settings.url)" }

    private func embedBatch(_ batch: [String], key: String?) async throws -> [[Float]] {
        var retries = 0
        while true {
            let reply = try await post(batch, key: key)
            switch reply.status {
            case 200..<300:
                return try decode(reply.body, count: batch.count)
            case 429:
                let wait = reply.retryAfter.flatMap(Self.retryAfter)
                if let wait, retries < Self.rateLimitRetries, OperationBudget.allows(waiting: wait, fallback: settings.timeout) {
                    retries += 1
                    try await Task.sleep(for: wait)
                    continue
                }
                let after = wait.map { ", Retry-After \(DurationText.format($0))" } ?? ""
                throw IndexerError("\(label): rate limited (HTTP 429\(after)); retried later")
            default:
                throw failure(status: reply.status, body: reply.body, key: key)
            }
        }
    }

    private struct Reply {
        var status: Int
        var retryAfter: String?
        var body: [UInt8]
    }

    /// One request, cancelled past ``EmbedderSettings/timeout`` (the answer's body included).
    private func post(_ batch: [String], key: String?) async throws -> Reply {
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let body = JSONValue.object([
            "model": .string(settings.model), "input": .array(batch.map(JSONValue.string)), "encoding_format": .string("float"),
        ]).canonicalText
        request.body = .bytes(ByteBuffer(string: body))
        // Floats as JSON text take at most ~25 bytes each; the rest is a generous margin.
        let limit = batch.count * settings.dimensions * 32 + (1 << 20)
        let http = http
        let timeout = settings.timeout
        let sent = request
        do {
            return try await withThrowingTaskGroup(of: Reply?.self) { group in
                group.addTask {
                    let response = try await http.execute(sent, timeout: .nanoseconds(Int64(timeout.inSeconds * 1e9)))
                    let bytes = try await response.body.collect(upTo: limit)
                    return Reply(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: Array(buffer: bytes))
                }
                group.addTask {
                    // AsyncHTTPClient's deadline covers connecting and the answer's head; this
                    // one, a moment later, the body too.
                    try await Task.sleep(for: timeout + .milliseconds(500))
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw IndexerError("\(label): no answer within \(DurationText.format(timeout)) (embedder.timeout)") }
                return first
            }
        } catch let error as IndexerError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw IndexerError("\(label): no answer within \(DurationText.format(timeout)) (embedder.timeout)")
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw IndexerError("\(label): the answer is longer than \(limit) bytes")
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw IndexerError("\(label): cannot reach the endpoint: \(error)")
        }
    }

    private struct Response: Decodable {
        struct Item: Decodable {
            var embedding: [Float]
            var index: Int?
        }
        var data: [Item]
    }

    private func decode(_ body: [UInt8], count: Int) throws(IndexerError) -> [[Float]] {
        let response: Response
        do {
            response = try JSONDecoder().decode(Response.self, from: Data(body))
        } catch {
            throw IndexerError("\(label): the answer is not an embeddings response (expected {\"data\": [{\"embedding\": [...]}]})")
        }
        guard response.data.count == count else {
            throw IndexerError("\(label): \(response.data.count) vectors came back for \(count) inputs")
        }
        let items = response.data.enumerated().sorted { ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset) }
        var vectors: [[Float]] = []
        for (_, item) in items {
            guard item.embedding.count == settings.dimensions else {
                throw IndexerError(
                    "\(label): the model \"\(settings.model)\" returns vectors of \(item.embedding.count) dimensions, "
                        + "but embedder.dimensions is \(settings.dimensions): fix the configuration",
                    terminal: true)
            }
            vectors.append(Self.normalised(item.embedding))
        }
        return vectors
    }

    /// An error answer: a model the endpoint does not know is terminal, anything else transient.
    private func failure(status: Int, body: [UInt8], key: String?) -> IndexerError {
        let text = String(decoding: body.prefix(64 << 10), as: UTF8.self)
        let json = JSONValue(parsing: text)
        let error = json?["error"]
        var message = error?["message"]?.stringValue ?? error?.stringValue ?? json?["message"]?.stringValue
            ?? String(text.prefix(300))
        if let key, !key.isEmpty { message = message.replacingOccurrences(of: key, with: "<redacted>") }
        message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        if message.count > 300 { message = String(message.prefix(299)) + "…" }
        let code = error?["code"]?.stringValue
        let lower = message.lowercased()
        let unknownModel = code == "model_not_found"
            || ((status == 404 || status == 400) && lower.contains("model") && (lower.contains("not found") || lower.contains("does not exist")))
        if unknownModel {
            return IndexerError(
                "\(label): the endpoint does not serve the model \"\(settings.model)\" (embedder.model): HTTP \(status): \(message)",
                terminal: true)
        }
        return IndexerError("\(label): HTTP \(status): \(message)")
    }

    /// `Retry-After` as seconds or an HTTP date.
    static func retryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite { return .milliseconds(Int64(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }

    static func normalised(_ vector: [Float]) -> [Float] {
        var norm: Float = 0
        for value in vector { norm += value * value }
        guard norm > 0, norm.isFinite else { return vector }
        let scale = 1 / norm.squareRoot()
        return vector.map { $0 * scale }
    }
}

extension Duration {
    /// The duration in seconds.
    fileprivate var inSeconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
