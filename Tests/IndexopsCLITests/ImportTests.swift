import Foundation
import PostgresTestSupport
import Testing

/// `indexops import` from both table layouts of a real PostgreSQL server, and from their dump:
/// the first pass afterwards runs exactly the operations the old state still owes (an exec
/// indexer's ledger shows which), a second import changes nothing, a hand-declared id is
/// kept, and bad input writes nothing.
@Suite("import", .enabled(if: PostgresTestServer.mustRun, "\(PostgresTestServer.unavailableReason ?? "")"))
struct ImportTests {
    /// The spec/status tables, with PostgreSQL enum types, as the issue describes them.
    static let specStatusDDL = """
        CREATE TYPE index_type AS ENUM ('VECTOR', 'FULLTEXT', 'GRAPH');
        CREATE TYPE desired_index_state AS ENUM ('present', 'absent');
        CREATE TYPE actual_index_state AS ENUM ('absent', 'creating', 'present', 'deleting', 'failed');
        CREATE TABLE document_index_specs (
            id bigserial PRIMARY KEY, document_id varchar(24) NOT NULL, index_type index_type NOT NULL,
            desired_state desired_index_state NOT NULL, created_by varchar(256) NOT NULL,
            gmt_created timestamp NOT NULL DEFAULT timezone('UTC', now()), gmt_updated timestamp NOT NULL DEFAULT timezone('UTC', now()),
            UNIQUE (document_id, index_type));
        CREATE TABLE document_index_statuses (
            id bigserial PRIMARY KEY, document_id varchar(24) NOT NULL, index_type index_type NOT NULL,
            actual_state actual_index_state NOT NULL, index_data text, error_message text, retry_count int NOT NULL DEFAULT 0,
            gmt_created timestamp NOT NULL DEFAULT timezone('UTC', now()), gmt_updated timestamp NOT NULL DEFAULT timezone('UTC', now()),
            gmt_last_reconciled timestamp, UNIQUE (document_id, index_type));
        """

    /// The single table and its documents.
    static let singleTableDDL = """
        CREATE TYPE index_type AS ENUM ('VECTOR', 'FULLTEXT', 'GRAPH');
        CREATE TYPE index_status AS ENUM ('PENDING', 'CREATING', 'ACTIVE', 'DELETING', 'DELETION_IN_PROGRESS', 'FAILED');
        CREATE TABLE document (
            id varchar(24) PRIMARY KEY, name varchar(1024) NOT NULL, "user" varchar(256) NOT NULL, collection_id varchar(24),
            status varchar(32) NOT NULL DEFAULT 'COMPLETE', object_path varchar(1024), doc_metadata text,
            gmt_created timestamp NOT NULL DEFAULT timezone('UTC', now()), gmt_updated timestamp NOT NULL DEFAULT timezone('UTC', now()),
            gmt_deleted timestamp);
        CREATE TABLE document_index (
            id bigserial PRIMARY KEY, document_id varchar(24) NOT NULL, index_type index_type NOT NULL, status index_status NOT NULL,
            version int NOT NULL DEFAULT 1, observed_version int, index_data text, error_message text,
            gmt_created timestamp NOT NULL DEFAULT timezone('UTC', now()), gmt_updated timestamp NOT NULL DEFAULT timezone('UTC', now()),
            gmt_last_reconciled timestamp, UNIQUE (document_id, index_type));
        """

    /// A repository, a configuration with three exec index types that log each request to a
    /// ledger, and the password in a file.
    struct World {
        let root: URL
        let repo: URL
        let ledger: URL
        let server: PostgresTestServer
        let database: String

        /// - Parameter sharing: a world whose indexer (and so whose configuration's revisions)
        ///   this one uses.
        init(database: String, server: PostgresTestServer, sharing: World? = nil) throws {
            root = try Harness.scratch()
            repo = root.appendingPathComponent("repo")
            ledger = sharing?.ledger ?? root.appendingPathComponent("ledger")
            self.server = server
            self.database = database
            try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
            try Harness.git(["init", "-q", "-b", "main"], in: repo)
            try Harness.write("# Index specs\n", to: "README.md", in: repo)
            try Harness.git(["add", "-A"], in: repo)
            try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-q", "-m", "Start"], in: repo)
            let indexer = (sharing?.root ?? root).appendingPathComponent("indexer").path
            if sharing == nil {
                try Harness.write("#!/bin/sh\nrequest=$(tr -d '\\n')\nprintf '%s\\n' \"$request\" >> \"$LEDGER\"\necho '{\"indexData\": {\"built\": true}}'\n", to: "indexer", in: root)
                chmod(indexer, 0o755)
                FileManager.default.createFile(atPath: ledger.path, contents: nil)
            }
            let type = "{ driver: exec, command: [\"\(indexer)\"], env: { LEDGER: \"\(ledger.path)\" } }"
            try Harness.write("""
                apiVersion: indexops/v1
                kind: ControllerConfig
                repository: { path: repo }
                indexTypes:
                  vector: \(type)
                  fulltext: \(type)
                  graph: \(type)

                """, to: "indexops.yaml", in: root)
            try Harness.write(server.password + "\n", to: "pg-password", in: root)
        }

        var url: String { server.url(database: database) }

        func indexops(_ arguments: [String], environment: [String: String]? = nil) throws -> Harness.Result {
            try Harness.run(arguments + ["--config", "indexops.yaml"], in: root, environment: environment)
        }

        func importFromDatabase(_ extra: [String] = []) throws -> Harness.Result {
            try indexops(["import", url, "--password-file", "pg-password", "--tls", "disable", "--user", "Importer <ops@example.com>"] + extra)
        }

        /// The operations the exec indexer ran: `create doc/type`, sorted.
        func operations() throws -> [String] {
            try String(contentsOf: ledger, encoding: .utf8).split(separator: "\n").map { line in
                let request = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return "\(request["action"]!) \(request["documentId"]!)/\(request["indexType"]!)"
            }.sorted()
        }

        func commits() throws -> Int { try Harness.output(["git", "rev-list", "--count", "HEAD"], in: repo).trimmed.count > 0
            ? Int(try Harness.output(["git", "rev-list", "--count", "HEAD"], in: repo).trimmed)! : 0 }

        func file(_ path: String) -> String? { try? String(contentsOf: repo.appendingPathComponent(path), encoding: .utf8) }
    }

    @Test func specStatusTablesAreAdoptedAndTheFirstPassRunsOnlyWhatIsOwed() throws {
        let server = try PostgresTestServer.shared()
        let database = try server.makeDatabase()
        try server.psql(Self.specStatusDDL + """
            INSERT INTO document_index_specs (document_id, index_type, desired_state, created_by) VALUES
              ('doc-present', 'VECTOR', 'present', 'ana@example.com'), ('doc-present', 'FULLTEXT', 'present', 'ana@example.com'),
              ('doc-pending', 'VECTOR', 'present', 'bo@example.com'), ('doc-pending', 'FULLTEXT', 'present', 'bo@example.com'),
              ('doc-interrupted', 'VECTOR', 'present', 'bo@example.com'),
              ('doc-absent', 'VECTOR', 'absent', 'bo@example.com'), ('doc-absent', 'FULLTEXT', 'absent', 'bo@example.com'),
              ('doc-absent', 'GRAPH', 'absent', 'bo@example.com'),
              ('doc-failed-due', 'VECTOR', 'present', 'bo@example.com'), ('doc-failed-wait', 'VECTOR', 'present', 'bo@example.com'),
              ('doc-failed-spent', 'GRAPH', 'present', 'bo@example.com');
            INSERT INTO document_index_statuses (document_id, index_type, actual_state, index_data, error_message, retry_count, gmt_last_reconciled) VALUES
              ('doc-present', 'VECTOR', 'present', '{"chunks": 12}', NULL, 0, timezone('UTC', now())),
              ('doc-present', 'FULLTEXT', 'present', '{"chunks": 12}', NULL, 0, timezone('UTC', now())),
              ('doc-pending', 'FULLTEXT', 'absent', NULL, NULL, 0, NULL),
              ('doc-interrupted', 'VECTOR', 'creating', NULL, NULL, 0, timezone('UTC', now()) - interval '1 hour'),
              ('doc-absent', 'VECTOR', 'present', '{}', NULL, 0, timezone('UTC', now())),
              ('doc-absent', 'FULLTEXT', 'deleting', '{}', NULL, 0, timezone('UTC', now()) - interval '1 hour'),
              ('doc-failed-due', 'VECTOR', 'failed', NULL, 'embedding service timed out', 1, timezone('UTC', now()) - interval '1 day'),
              ('doc-failed-wait', 'VECTOR', 'failed', NULL, 'rate limited', 3, timezone('UTC', now())),
              ('doc-failed-spent', 'GRAPH', 'failed', NULL, 'graph store refused', 5, timezone('UTC', now()) - interval '1 day'),
              ('doc-orphan', 'VECTOR', 'present', '{}', NULL, 0, timezone('UTC', now()));
            """, database: database)
        let world = try World(database: database, server: server)
        defer { Harness.cleanup(world.root) }

        let dry = try world.importFromDatabase(["--source-template", "s3://docs/{document_id}.pdf", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        #expect(dry.stdout.contains("would import 8 of 8 documents"), "\(dry.stdout)")
        #expect(dry.stdout.contains("+ specs/_/doc-absent.yaml"))
        #expect(try world.commits() == 1, "a dry run writes nothing")

        let imported = try world.importFromDatabase(["--source-template", "s3://docs/{document_id}.pdf"])
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains("imported 8 of 8 documents (12 rows) from \(world.url)"), "\(imported.stdout)")
        let message = try Harness.output(["git", "log", "-1", "--format=%an <%ae>%n%B"], in: world.repo)
        #expect(message.hasPrefix("Importer <ops@example.com>\nindexops import: 8 documents from \(world.url)\n"), "\(message)")
        #expect(message.contains("vector: 1 present, 1 pending, 1 interrupted, 2 failed, 1 to delete, 1 orphaned"), "\(message)")
        #expect(message.contains("fulltext: 1 present, 1 pending, 1 to delete"), "\(message)")
        #expect(message.contains("graph: 1 failed, 1 absent"), "\(message)")
        #expect(!message.contains(server.password))
        #expect(world.file("specs/_/doc-present.yaml") == """
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata:
              name: "doc-present"
              createdBy: "ana@example.com"
            spec:
              source:
                uri: "s3://docs/doc-present.pdf"
              indexes:
                fulltext: present
                vector: present

            """)
        #expect(world.file("specs/_/doc-orphan.yaml") == nil, "a status without a spec is an orphan")
        let failed = try world.indexops(["status", "doc-failed-due", "-o", "json"])
        #expect(failed.stdout.contains("embedding service timed out"), "\(failed.stdout)")
        let history = try world.indexops(["history", "doc-present"])
        #expect(history.stdout.contains("imported from \(world.url)"), "\(history.stdout)")

        let pass = try world.indexops(["reconcile", "--once"])
        #expect(try world.operations() == [
            "create doc-failed-due/vector", "create doc-interrupted/vector", "create doc-pending/fulltext", "create doc-pending/vector",
            "delete doc-absent/fulltext", "delete doc-absent/vector", "delete doc-orphan/vector",
        ], "\(pass.stdout)\(pass.stderr)")

        let again = try world.importFromDatabase(["--source-template", "s3://docs/{document_id}.pdf"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("nothing to import: 8 of 8 documents (12 rows) already imported"), "\(again.stdout)")
        let commits = try world.commits()
        let second = try world.indexops(["reconcile", "--once"])
        _ = second
        #expect(try world.commits() == commits, "the second import changed nothing the pass acts on")
    }

    @Test func singleTableIsAdoptedKeepsAHandDeclaredIdAndItsDumpGivesTheSameFiles() throws {
        let server = try PostgresTestServer.shared()
        let database = try server.makeDatabase()
        try server.psql(Self.singleTableDDL + """
            INSERT INTO document (id, name, "user", collection_id, object_path, gmt_deleted) VALUES
              ('s-active', 'Onboarding', 'ana@example.com', 'handbook', 's3://bucket/onboarding.pdf', NULL),
              ('s-pending', 'Pending', 'bo@example.com', NULL, 's3://bucket/pending.pdf', NULL),
              ('s-creating', 'Creating', 'bo@example.com', 'handbook', 's3://bucket/creating.pdf', NULL),
              ('s-deleting', 'Deleting', 'bo@example.com', NULL, 's3://bucket/deleting.pdf', NULL),
              ('s-failed', 'Failed', 'bo@example.com', NULL, 's3://bucket/failed.pdf', NULL),
              ('s-gone', 'Gone', 'bo@example.com', NULL, 's3://bucket/gone.pdf', timezone('UTC', now())),
              ('s-hand', 'Hand', 'bo@example.com', NULL, 's3://bucket/hand.pdf', NULL);
            INSERT INTO document_index (document_id, index_type, status, version, observed_version, index_data, error_message, gmt_last_reconciled) VALUES
              ('s-active', 'VECTOR', 'ACTIVE', 2, 2, '{"chunks": 3}', NULL, timezone('UTC', now())),
              ('s-active', 'FULLTEXT', 'ACTIVE', 2, 2, '{"chunks": 3}', NULL, timezone('UTC', now())),
              ('s-active', 'GRAPH', 'ACTIVE', 2, 2, NULL, NULL, timezone('UTC', now())),
              ('s-pending', 'VECTOR', 'PENDING', 1, NULL, NULL, NULL, NULL),
              ('s-creating', 'VECTOR', 'CREATING', 1, NULL, NULL, NULL, timezone('UTC', now()) - interval '1 hour'),
              ('s-deleting', 'VECTOR', 'DELETING', 1, 1, '{}', NULL, timezone('UTC', now())),
              ('s-deleting', 'FULLTEXT', 'DELETION_IN_PROGRESS', 1, 1, '{}', NULL, timezone('UTC', now()) - interval '1 hour'),
              ('s-failed', 'VECTOR', 'FAILED', 1, NULL, NULL, 'token limit exceeded', timezone('UTC', now()) - interval '1 day'),
              ('s-gone', 'VECTOR', 'ACTIVE', 1, 1, '{}', NULL, timezone('UTC', now())),
              ('s-hand', 'VECTOR', 'ACTIVE', 1, 1, '{}', NULL, timezone('UTC', now()));
            """, database: database)
        let world = try World(database: database, server: server)
        defer { Harness.cleanup(world.root) }
        let hand = "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: s-hand\n  createdBy: cy@example.com\nspec:\n  source: { uri: \"s3://mine/hand.pdf\" }\n  indexes: { vector: present }\n"
        try Harness.write(hand, to: "specs/hand.yaml", in: world.repo)
        try Harness.git(["add", "-A"], in: world.repo)
        try Harness.git(["-c", "user.name=Cy", "-c", "user.email=cy@example.com", "commit", "-q", "-m", "Declare s-hand"], in: world.repo)

        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = server.password
        let imported = try world.indexops(
            ["import", world.url, "--tls", "disable", "--layout", "single-table", "--user", "ops@example.com"], environment: environment)
        #expect(imported.status == 1, "a hand-declared id is reported: \(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains("s-hand: declared by hand in specs/hand.yaml:4; left as it is"), "\(imported.stdout)")
        #expect(world.file("specs/hand.yaml") == hand)
        #expect(world.file("specs/_/s-hand.yaml") == nil)
        #expect(world.file("specs/handbook/s-active.yaml")?.contains("    uri: \"s3://bucket/onboarding.pdf\"\n    revision: \"2\"\n") == true)
        #expect(world.file("specs/_/s-gone.yaml") == nil, "a soft-deleted document is an orphan")

        let pass = try world.indexops(["reconcile", "--once"])
        #expect(try world.operations() == [
            "create s-creating/vector", "create s-failed/vector", "create s-hand/vector", "create s-pending/vector",
            "delete s-deleting/fulltext", "delete s-deleting/vector", "delete s-gone/vector",
        ], "the hand-declared s-hand is the person's: it has no status, so it is built. \(pass.stdout)\(pass.stderr)")

        // The dump of the same rows, imported into a repository like the first one was.
        let dump = try server.psql(try Harness.run(["import", "--print-query", "single-table"], in: world.root).stdout, database: database)
        try Harness.write(dump + "\n", to: "rows.jsonl", in: world.root)
        let other = try World(database: database, server: server, sharing: world)
        defer { Harness.cleanup(other.root) }
        try Harness.write(hand, to: "specs/hand.yaml", in: other.repo)
        try Harness.git(["add", "-A"], in: other.repo)
        try Harness.git(["-c", "user.name=Cy", "-c", "user.email=cy@example.com", "commit", "-q", "-m", "Declare s-hand"], in: other.repo)
        try FileManager.default.copyItem(at: world.root.appendingPathComponent("rows.jsonl"), to: other.root.appendingPathComponent("rows.jsonl"))
        let fromFile = try other.indexops(["import", "--from", "rows.jsonl", "--user", "ops@example.com"])
        #expect(fromFile.status == 1, "\(fromFile.stdout)\(fromFile.stderr)")
        let importCommit = try Harness.output(["git", "log", "--format=%H", "--grep=^indexops import:"], in: world.repo).trimmed
        let firstTree = try Harness.output(["git", "ls-tree", "-r", importCommit], in: world.repo)
        let secondTree = try Harness.output(["git", "ls-tree", "-r", "HEAD"], in: other.repo)
        #expect(firstTree == secondTree, "the dump gives the same files as the database")
    }

    @Test func badInputIsOneLineAndWritesNothing() throws {
        let server = try PostgresTestServer.shared()
        let world = try World(database: try server.makeDatabase(), server: server)
        defer { Harness.cleanup(world.root) }
        let row = #"{"document_id": "doc-1", "index_type": "VECTOR", "desired_state": "present", "created_by": "a@example.com", "actual_state": "present", "index_data": "{}"}"#
        let cases: [(name: String, text: String, message: String)] = [
            ("unknown-type", row.replacingOccurrences(of: "VECTOR", with: "KEYWORD"),
             "indexops: error: unknown-type.jsonl:2: index type \"KEYWORD\" has no mapping; add --type-map KEYWORD=<type>\n"),
            ("bad-id", row.replacingOccurrences(of: "doc-1", with: "Doc_1"),
             "indexops: error: bad-id.jsonl:2: document_id \"Doc_1\" is not a valid id: use lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit\n"),
            ("unreadable", "{\"document_id\": \"doc-2\", ",
             "indexops: error: unreadable.jsonl:2: the row is not a JSON object\n"),
            ("bad-index-data", row.replacingOccurrences(of: #""index_data": "{}""#, with: #""index_data": "{chunks""#),
             "indexops: error: bad-index-data.jsonl:2: index_data of doc-1/VECTOR is not valid JSON\n"),
        ]
        for c in cases {
            let good = row.replacingOccurrences(of: "doc-1", with: "doc-0")
            try Harness.write(good + "\n" + c.text + "\n", to: "\(c.name).jsonl", in: world.root)
            let result = try world.indexops(["import", "--from", "\(c.name).jsonl", "--source-template", "s3://d/{document_id}", "--user", "a@example.com"])
            #expect(result.status == 2, "\(c.name): \(result.stdout)\(result.stderr)")
            #expect(result.stderr == c.message, "\(c.name)")
        }
        let neither = try world.importFromDatabase()
        #expect(neither.status == 2)
        #expect(neither.stderr == "indexops: error: \(world.url) has neither layout: no document_index_specs and document_index_statuses tables, no document_index and document tables\n")
        let password = try world.indexops(["import", "postgresql://u:secret@127.0.0.1/db", "--user", "a@example.com"])
        #expect(password.status == 2)
        #expect(password.stderr.split(separator: "\n").count == 1 && !password.stderr.contains("secret"), "\(password.stderr)")
        #expect(try world.commits() == 1, "nothing was committed")
        #expect(try Harness.output(["git", "status", "--porcelain"], in: world.repo).isEmpty)
    }
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// The issue's scale: 100,000 documents × 3 index types imported from the single table, with
/// the time and peak RSS (`/usr/bin/time -f %M`) printed. Opt-in (`INDEXOPS_BENCH_IMPORT=1
/// swift test --skip-build --filter importBenchmark`): it takes a minute, not seconds.
@Suite("import benchmark", .enabled(if: ProcessInfo.processInfo.environment["INDEXOPS_BENCH_IMPORT"] != nil && PostgresTestServer.mustRun))
struct ImportBenchmark {
    @Test func importBenchmark() throws {
        let documents = Int(ProcessInfo.processInfo.environment["INDEXOPS_BENCH_IMPORT_DOCUMENTS"] ?? "") ?? 100_000
        let server = try PostgresTestServer.shared()
        let database = try server.makeDatabase()
        try server.psql(ImportTests.singleTableDDL + """
            INSERT INTO document (id, name, "user", collection_id, object_path)
              SELECT 'doc-' || g, 'Document ' || g, 'ana@example.com', 'col-' || (g % 100), 's3://bucket/doc-' || g || '.pdf'
              FROM generate_series(1, \(documents)) g;
            INSERT INTO document_index (document_id, index_type, status, version, observed_version, index_data, error_message, gmt_last_reconciled)
              SELECT 'doc-' || g, t::index_type,
                (CASE WHEN g % 10 = 0 THEN 'PENDING' WHEN g % 17 = 0 THEN 'FAILED' ELSE 'ACTIVE' END)::index_status,
                1, 1, '{"chunks": 12, "model": "text-embedding-3-small"}',
                CASE WHEN g % 17 = 0 THEN 'embedding service timed out' END, timezone('UTC', now())
              FROM generate_series(1, \(documents)) g, unnest(ARRAY['VECTOR', 'FULLTEXT', 'GRAPH']) t;
            ANALYZE;
            """, database: database)
        let world = try ImportTests.World(database: database, server: server)
        defer { Harness.cleanup(world.root) }
        let result = try Harness.run(
            ["import", world.url, "--password-file", "pg-password", "--tls", "disable",
             "--user", "ops@example.com", "--config", "indexops.yaml"],
            in: world.root, wrapper: ["/usr/bin/time", "-f", "%e s, %M KiB"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let figures = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        print("import of \(documents) documents x 3 types: \(figures)\n\(result.stdout)")
        // The floor, in the same run and on the same disk: the files the import must create in
        // the work tree (a spec and a status file a document), each through a temporary file
        // and a rename, in as many folders.
        let floor = world.root.appendingPathComponent("floor")
        let started = Date()
        for n in 0..<(2 * documents) {
            let folder = floor.appendingPathComponent("\(n % 200)")
            if n < 200 { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            let file = folder.appendingPathComponent("doc-\(n).txt")
            try Data("document \(n)\n".utf8).write(to: file, options: .atomic)
        }
        print("floor: \(2 * documents) files created (temporary file + rename) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(result.stdout.contains("imported \(documents) of \(documents) documents (\(documents * 3) rows)"))
    }
}
