import Foundation
import IndexOpsCore
import PostgresAccess
import PostgresNIO
import PostgresTestSupport
import Synchronization
import Testing

/// The pool against a real server: credentials, errors and their classes, retries.
@Suite("PostgreSQL pool", .enabled(if: PostgresTestServer.mustRun, "\(PostgresTestServer.unavailableReason ?? "")"))
struct PostgresPoolTests {
    let server: PostgresTestServer
    let database: String

    init() throws {
        server = try PostgresTestServer.shared()
        database = try server.makeDatabase()
    }

    func settings(user: String? = nil, passwordFile: String? = nil, port: Int? = nil) throws -> PostgresConnectionSettings {
        let url = "postgresql://\(user ?? server.superuser)@127.0.0.1:\(port ?? server.port)/\(database)"
        return try PostgresConnectionSettings(url: url, passwordFile: passwordFile, tls: .disable)
    }

    /// A file holding `text`, removed by the caller.
    func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "pg-secret-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func error(_ body: () async throws -> Void) async -> PostgresAccessError? {
        do {
            try await body()
            return nil
        } catch let error as PostgresAccessError {
            return error
        } catch {
            Issue.record("unexpected \(type(of: error)): \(error)")
            return nil
        }
    }

    @Test func connectsWithThePasswordFromPGPASSWORDOrAFile() async throws {
        let pool = PostgresPool(settings: try settings(), environment: ["PGPASSWORD": server.password])
        let answer = try await pool.withConnection("asking") { connection in
            var value = 0
            for try await n in try await connection.query("SELECT 41 + 1", logger: Logger(label: "t")).decode(Int.self) { value = n }
            return value
        }
        #expect(answer == 42)
        await pool.shutdown()

        let path = try file(server.password + "\n")  // a trailing newline is not part of it
        defer { try? FileManager.default.removeItem(atPath: path) }
        let filePool = PostgresPool(settings: try settings(passwordFile: path), environment: ["PGPASSWORD": "not this one"])
        let user = try await filePool.withConnection("asking") { connection in
            var name = ""
            for try await n in try await connection.query("SELECT current_user", logger: Logger(label: "t")).decode(String.self) { name = n }
            return name
        }
        #expect(user == server.superuser)
        await filePool.shutdown()
    }

    @Test func aWrongPasswordIsAConfigurationErrorThatDoesNotShowIt() async throws {
        let secret = "Wr0ng-S3cret-\(UInt32.random(in: 1000...9999))"
        let pool = PostgresPool(settings: try settings(), environment: ["PGPASSWORD": secret])
        let failure = try #require(await error { try await pool.withTransaction("indexing doc1") { _ in } })
        #expect(failure.kind == .configuration)
        #expect(failure.sqlState == "28P01")
        #expect(failure.message == "indexing doc1: connecting to \(try settings().url): password authentication failed for user \"\(server.superuser)\" [SQLSTATE 28P01]")
        #expect(!failure.message.contains(secret))
        await pool.shutdown()
    }

    @Test func noPasswordOrAMissingFileIsAConfigurationError() async throws {
        let none = PostgresPool(settings: try settings(), environment: [:])
        let noPassword = try #require(await error { try await none.withConnection("asking") { _ in } })
        #expect(noPassword.kind == .configuration)
        #expect(noPassword.message.hasSuffix("the server asks for a password and none is set (passwordFile or PGPASSWORD)"))

        let missing = PostgresPool(settings: try settings(passwordFile: "/nonexistent/pg-password"), environment: [:])
        let noFile = try #require(await error { try await missing.withConnection("asking") { _ in } })
        #expect(noFile == PostgresAccessError("asking: cannot read the passwordFile /nonexistent/pg-password", kind: .configuration))
    }

    @Test func aRefusedConnectionIsTransientAndRetriedWithBackoff() async throws {
        // A port nothing listens on: bound, then closed.
        let closedPort = try PostgresTestServerSupport.closedPort()
        let pool = PostgresPool(
            settings: try settings(port: closedPort), environment: ["PGPASSWORD": server.password],
            retry: RetryPolicy(attempts: 3, firstDelay: .milliseconds(10), maxDelay: .milliseconds(20)))
        let attempts = Counter()
        let failure = try #require(await error {
            _ = try await pool.withTransaction("indexing doc1") { _ in attempts.increment() }
        })
        #expect(failure.kind == .transient)
        #expect(failure.message.hasPrefix("indexing doc1: connecting to postgresql://\(server.superuser)@127.0.0.1:\(closedPort)/\(database): cannot connect:"))
        #expect(failure.message.lowercased().contains("refused"))
        #expect(attempts.value == 0)  // the body never ran: no connection
    }

    @Test func aSerializationFailureIsRetriedAndAFailedBodyRolledBack() async throws {
        let pool = PostgresPool(settings: try settings(), environment: ["PGPASSWORD": server.password],
                                retry: RetryPolicy(attempts: 3, firstDelay: .milliseconds(10)))
        let logger = Logger(label: "t")
        try await pool.withConnection("setup") { c in try await c.query("CREATE TABLE t (n int)", logger: logger) }
        let attempts = Counter()
        try await pool.withTransaction("writing") { connection in
            try await connection.query("INSERT INTO t VALUES (1)", logger: logger)
            if attempts.increment() == 1 {
                try await connection.query("DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = '40001'; END $$", logger: logger)
            }
        }
        #expect(attempts.value == 2)
        #expect(try server.psql("SELECT count(*) FROM t", database: database) == "1")  // the first attempt was rolled back

        let failure = try #require(await error {
            try await pool.withTransaction("writing") { connection in
                try await connection.query("INSERT INTO t VALUES (2)", logger: logger)
                try await connection.query("INSERT INTO missing_table VALUES (2)", logger: logger)
            }
        })
        #expect(failure == PostgresAccessError(
            "writing: relation \"missing_table\" does not exist [SQLSTATE 42P01]", kind: .configuration, sqlState: "42P01"))
        #expect(try server.psql("SELECT count(*) FROM t", database: database) == "1")
        await pool.shutdown()
    }

    @Test func preparedRunsOncePerKeyAndKeepsNoFailure() async throws {
        let pool = PostgresPool(settings: try settings(), environment: [:])
        let calls = Counter()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { try await pool.prepared("a") { calls.increment() } }
            }
            for try await value in group { #expect(value == 1) }
        }
        #expect(calls.value == 1)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await pool.prepared("b") { () async throws -> Int in throw Boom() } }
        #expect(try await pool.prepared("b") { 7 } == 7)
    }

    @Test func sharedPoolsAreOnePerDatabase() throws {
        let a = PostgresPool.shared(try settings())
        let b = PostgresPool.shared(try settings())
        let other = PostgresPool.shared(try settings(user: "someone"))
        #expect(a === b)
        #expect(a !== other)
    }

    @Test(arguments: [
        ("28P01", PostgresAccessError.Kind.configuration), ("42501", .configuration), ("42P01", .configuration),
        ("0A000", .configuration), ("3D000", .configuration), ("40001", .transient), ("40P01", .transient),
        ("08006", .transient), ("53300", .transient), ("57P01", .transient), ("23505", .failure), ("22P02", .failure),
    ])
    func sqlStatesAreClassified(state: String, kind: PostgresAccessError.Kind) {
        #expect(PostgresAccessError.kind(ofSQLState: state) == kind)
    }
}

enum PostgresTestServerSupport {
    /// A loopback port that was bound and closed: connecting to it is refused.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A count that closures on several tasks may bump.
final class Counter: Sendable {
    private let count = Atomic(0)
    /// Adds one and returns the new count.
    @discardableResult
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
    var value: Int { count.load(ordering: .relaxed) }
}
