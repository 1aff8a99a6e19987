import Foundation
import IndexOpsCore
import Logging
import PostgresNIO
import Synchronization
internal import _ConnectionPoolModule

/// The connections of one process to one PostgreSQL database: a PostgresNIO `PostgresClient`
/// (its connection pool) run in a task of its own for as long as the pool is held.
///
/// Nothing happens until the first call. Then the password is read (``PostgresConnectionSettings/passwordFile``,
/// else `PGPASSWORD` of `environment`), one connection is made directly to learn the exact
/// reason of a failure (the pool would only retry and, after a minute, say it could not
/// connect), and on success the pool starts; a later call after a failure starts over. The
/// pool opens at most ``PostgresConnectionSettings/maxConnections`` connections, closes
/// idle ones after a minute, and is shut down when the last reference to it goes (or by
/// ``shutdown()``). ``shared(_:)`` gives one pool per database per process.
///
/// Errors are ``PostgresAccessError``s whose messages hold no password; `CancellationError`
/// is passed through.
public final class PostgresPool: Sendable {
    /// What the pool connects to.
    public let settings: PostgresConnectionSettings
    /// How transient failures of a transaction are retried.
    public let retry: RetryPolicy
    private let environment: [String: String]
    private let starter = Starter()
    private let preparations = Preparations()
    private let runTask = Mutex<Task<Void, Never>?>(nil)
    private static let logger = Logger(label: "indexops.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Creates a pool; connects to nothing yet.
    ///
    /// - Parameters:
    ///   - environment: where `PGPASSWORD` is looked up when there is no password file.
    ///   - retry: how ``withTransaction(_:_:)`` retries transient failures.
    public init(
        settings: PostgresConnectionSettings, environment: [String: String] = ProcessInfo.processInfo.environment,
        retry: RetryPolicy = RetryPolicy()
    ) {
        self.settings = settings
        self.environment = environment
        self.retry = retry
    }

    deinit {
        runTask.withLock { $0?.cancel() }
    }

    private struct WeakPool { weak var pool: PostgresPool? }
    private static let pools = Mutex<[PostgresConnectionSettings: WeakPool]>([:])

    /// The pool of `settings` in this process: the same object for equal settings while
    /// anything holds it, so that the index types of one database share its connections.
    public static func shared(_ settings: PostgresConnectionSettings) -> PostgresPool {
        pools.withLock { pools in
            if let pool = pools[settings]?.pool { return pool }
            pools = pools.filter { $0.value.pool != nil }
            let pool = PostgresPool(settings: settings)
            pools[settings] = WeakPool(pool: pool)
            return pool
        }
    }

    /// Runs `body` with a connection of the pool.
    ///
    /// - Throws: ``PostgresAccessError`` (with `context` in front of its message) for any
    ///   failure of the connection or of `body`'s queries; `CancellationError` when the task
    ///   is cancelled.
    public func withConnection<T: Sendable>(
        _ context: String, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let (client, password) = try await running(context)
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw await failure(error, context: context, password: password)
        }
    }

    /// Runs `body` in a transaction (`BEGIN` … `COMMIT`, or `ROLLBACK` when it throws),
    /// again from the start after a transient failure, following ``retry``. `body` must be
    /// safe to run again: what a rolled-back attempt did is gone.
    ///
    /// - Throws: ``PostgresAccessError`` for a failure that is not transient, or that is
    ///   and lasted through every retry; `CancellationError` when the task is cancelled
    ///   (the transaction is rolled back).
    public func withTransaction<T: Sendable>(
        _ context: String, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                let (client, password) = try await running(context)
                do {
                    return try await client.withTransaction(logger: Self.logger) { connection in try await body(connection) }
                } catch {
                    throw await failure(error, context: context, password: password)
                }
            } catch let error as PostgresAccessError {
                attempt += 1
                guard error.kind == .transient, attempt < retry.attempts else { throw error }
                try await Task.sleep(for: retry.delay(afterAttempt: attempt))
            }
        }
    }

    /// The value `make` returns, made once per pool and key while it succeeds: what a driver
    /// sets up on first use (its table), made by one caller while the others wait for it.
    /// A failure is not kept: the next call tries again.
    ///
    /// - Throws: what `make` throws.
    public func prepared<T: Sendable>(_ key: String, _ make: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let value = try await preparations.value(key, make) as? T else {
            fatalError("PostgresPool.prepared: key \(key) was prepared with another type")
        }
        return value
    }

    /// Closes every connection and stops the pool's task; the pool cannot be used again.
    public func shutdown() async {
        let task = runTask.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    // MARK: Starting

    /// The running client and the password it uses, started on the first call.
    private func running(_ context: String) async throws -> (PostgresClient, String?) {
        try await starter.client { [self] () async throws -> (PostgresClient, String?) in
            let password = try readPassword(context)
            let tls = try tlsConfiguration(context)
            do {
                try await probe(password: password, tls: tls)
            } catch {
                throw PostgresAccessError(error, context: "\(context): connecting to \(settings.url)", secret: password)
            }
            let clientTLS: PostgresClient.Configuration.TLS
            if let tls { clientTLS = settings.tls == .require ? .require(tls) : .prefer(tls) } else { clientTLS = .disable }
            var configuration = PostgresClient.Configuration(
                host: settings.host, port: settings.port, username: settings.user, password: password,
                database: settings.database, tls: clientTLS)
            configuration.options.maximumConnections = settings.maxConnections
            configuration.options.connectTimeout = .seconds(10)
            let client = PostgresClient(configuration: configuration, backgroundLogger: Self.logger)
            runTask.withLock { task in
                task?.cancel()
                task = Task { await client.run() }
            }
            return (client, password)
        }
    }

    /// Makes one connection and closes it: a failure says why (a wrong password, a refused
    /// connection) at once.
    private func probe(password: String?, tls: TLSConfiguration?) async throws {
        let connectionTLS: PostgresConnection.Configuration.TLS
        if let tls {
            let context = try NIOSSLContext(configuration: tls)
            connectionTLS = settings.tls == .require ? .require(context) : .prefer(context)
        } else {
            connectionTLS = .disable
        }
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: password, database: settings.database,
            tls: connectionTLS)
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: Self.logger)
        try? await connection.close()
    }

    /// The error for a failure of the running pool. When the pool gave up connecting, a probe
    /// connection tells why.
    private func failure(_ error: any Error, context: String, password: String?) async -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        let classified = PostgresAccessError(error, context: context, secret: password)
        guard let poolError = error as? ConnectionPoolError, poolError == .connectionCreationCircuitBreakerTripped else { return classified }
        do {
            try await probe(password: password, tls: try tlsConfiguration(context))
            return classified
        } catch {
            return PostgresAccessError(error, context: "\(context): connecting to \(settings.url)", secret: password)
        }
    }

    /// The password from the password file (without a trailing newline), else `PGPASSWORD`.
    private func readPassword(_ context: String) throws -> String? {
        guard let file = settings.passwordFile else { return environment["PGPASSWORD"] }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw PostgresAccessError("\(context): cannot read the passwordFile \(file)", kind: .configuration)
        }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
        guard let password = String(validating: bytes, as: UTF8.self), !password.isEmpty else {
            throw PostgresAccessError("\(context): the passwordFile \(file) is empty or not UTF-8 text", kind: .configuration)
        }
        return password
    }

    /// The TLS configuration of the settings; `nil` when TLS is disabled. The server's
    /// certificate and host name are verified against `caFile` or the system's roots.
    private func tlsConfiguration(_ context: String) throws -> TLSConfiguration? {
        guard settings.tls != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw PostgresAccessError("\(context): cannot read the caFile \(caFile) as PEM certificates: \(error)", kind: .configuration)
            }
        }
        return tls
    }
}

/// How a transaction is retried after a transient failure: up to ``attempts`` in all, the
/// delay doubling from ``firstDelay`` up to ``maxDelay``, each delay jittered by up to +50 %.
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts in all (1: no retry). Default 4.
    public var attempts: Int
    /// The delay after the first failure. Default 100 ms.
    public var firstDelay: Duration
    /// The longest delay. Default 2 s.
    public var maxDelay: Duration

    /// Creates a policy.
    public init(attempts: Int = 4, firstDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2)) {
        self.attempts = attempts
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
    }

    /// The delay after the `attempt`-th failure (1-based).
    func delay(afterAttempt attempt: Int) -> Duration {
        var delay = firstDelay
        for _ in 1..<max(attempt, 1) where delay < maxDelay { delay *= 2 }
        delay = min(delay, maxDelay)
        return delay + delay * Double.random(in: 0..<0.5)
    }
}

/// One running client at a time, started by one caller while the others wait.
private actor Starter {
    private var current: (client: PostgresClient, password: String?)?
    private var starting: Task<(PostgresClient, String?), any Error>?

    func client(_ start: @escaping @Sendable () async throws -> (PostgresClient, String?)) async throws -> (PostgresClient, String?) {
        if let current { return current }
        let task = starting ?? Task { try await start() }
        starting = task
        do {
            let started = try await task.value
            current = started
            starting = nil
            return started
        } catch {
            starting = nil
            throw error
        }
    }
}

/// Values made once per key, by one caller while the others wait; failures are not kept.
private actor Preparations {
    private var done: [String: any Sendable] = [:]
    private var running: [String: Task<any Sendable, any Error>] = [:]

    func value(_ key: String, _ make: @escaping @Sendable () async throws -> any Sendable) async throws -> any Sendable {
        if let value = done[key] { return value }
        let task = running[key] ?? Task { try await make() }
        running[key] = task
        do {
            let value = try await task.value
            done[key] = value
            running[key] = nil
            return value
        } catch {
            running[key] = nil
            throw error
        }
    }
}
