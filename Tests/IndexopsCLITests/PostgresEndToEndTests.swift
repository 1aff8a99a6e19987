import Foundation
import PostgresTestSupport
import Testing

/// The built binary reconciling the quickstart into PostgreSQL and searching it, with the
/// password in a file that never shows.
@Suite("postgres drivers end to end", .enabled(if: PostgresTestServer.mustRun, "\(PostgresTestServer.unavailableReason ?? "")"))
struct PostgresEndToEndTests {
    @Test func reconcileAndSearchWithAndWithoutACollection() throws {
        let server = try PostgresTestServer.shared()
        let database = try server.makeDatabase()
        let root = try Harness.scratch()
        defer { Harness.cleanup(root) }
        let repo = root.appendingPathComponent("repo")
        try FileManager.default.copyItem(at: Harness.packageRoot.appendingPathComponent("examples/quickstart"), to: repo)
        try Harness.git(["init", "-q", "-b", "main"], in: repo)
        try Harness.git(["add", "-A"], in: repo)
        try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-q", "-m", "Quickstart"], in: repo)
        let wrongPassword = "Not-The-Password-\(UInt32.random(in: 1000...9999))"
        try Data((server.password + "\n").utf8).write(to: root.appendingPathComponent("pg-password"))
        try Data(wrongPassword.utf8).write(to: root.appendingPathComponent("wrong-password"))
        let url = server.url(database: database)
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: repo }
            indexTypes:
              fulltext: { driver: postgres-fts, url: "\(url)", passwordFile: pg-password, tls: disable }
              vector: { driver: postgres-vector, url: "\(url)", passwordFile: pg-password, tls: disable }
              locked: { driver: postgres-fts, url: "\(url)", passwordFile: wrong-password, tls: disable }

            """.utf8).write(to: root.appendingPathComponent("indexops.yaml"))
        func indexops(_ arguments: [String]) throws -> Harness.Result {
            try Harness.run(arguments + ["--config", "indexops.yaml"], in: root)
        }

        let pass = try indexops(["reconcile", "--once"])
        #expect(pass.status == 1, "the locked index type fails: \(pass.stdout)\(pass.stderr)")
        #expect(pass.stdout.contains("handbook-onboarding/locked"))
        #expect(pass.stdout.contains("password authentication failed for user \"\(server.superuser)\""), "\(pass.stdout)")
        let status = try indexops(["status", "handbook-onboarding", "-o", "json"])
        #expect(status.stdout.contains("password authentication failed"))
        let printed = pass.stdout + pass.stderr + status.stdout + status.stderr
            + (try Harness.output(["git", "log", "-p", "--all"], in: repo))
        #expect(!printed.contains(wrongPassword) && !printed.contains(server.password))
        #expect(try server.psql("SELECT count(DISTINCT document_id) FROM indexops_fulltext", database: database) == "3")
        #expect(try server.psql("SELECT count(DISTINCT document_id) FROM indexops_vector", database: database) == "2")

        let everywhere = try indexops(["search", "passages language model", "-o", "json"])
        #expect(everywhere.status == 0)
        #expect(everywhere.stdout.contains("\"indexType\": \"fulltext\""))
        #expect(everywhere.stdout.contains("\"document\": \"doc123\""), "\(everywhere.stdout)")
        let handbook = try indexops(["search", "pages failed indexes", "--collection", "handbook"])
        #expect(handbook.status == 0)
        let rows = handbook.stdoutLines.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.first.map { Array($0.dropFirst().prefix(2)) } == ["handbook-oncall", "handbook"], "\(handbook.stdout)")
        let notInHandbook = try indexops(["search", "passages language model", "--collection", "handbook", "-o", "json"])
        #expect(!notInHandbook.stdout.contains("doc123"))
        let vector = try indexops(["search", "welcome to the search team", "--type", "vector", "--collection", "handbook", "-o", "json"])
        #expect(vector.stdout.contains("\"document\": \"handbook-onboarding\""), "\(vector.stdout)\(vector.stderr)")
        #expect(!vector.stdout.contains("handbook-oncall"), "on-call has no vector index")
    }
}
