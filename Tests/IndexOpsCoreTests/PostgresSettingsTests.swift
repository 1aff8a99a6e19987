import IndexOpsCore
import Testing
import YAML

@Suite("PostgreSQL settings")
struct PostgresSettingsTests {
    private func load(_ indexTypes: String) throws(YAMLError) -> ControllerConfig {
        try ControllerConfig(bytes: Array("apiVersion: indexops/v1\nkind: ControllerConfig\nindexTypes:\n\(indexTypes)\n".utf8), path: "indexops.yaml")
    }

    private func failure(_ indexTypes: String) -> String? {
        do {
            _ = try load(indexTypes)
            return nil
        } catch {
            return error.description
        }
    }

    private func urlProblem(_ url: String) -> String? {
        do {
            _ = try PostgresConnectionSettings(url: url)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func urlsAreParsedAndShownWithoutAPassword() throws {
        let plain = try PostgresConnectionSettings(url: "postgresql://indexops@db.example.com:6543/rag")
        #expect([plain.user, plain.host, plain.database] == ["indexops", "db.example.com", "rag"])
        #expect(plain.port == 6543)
        #expect(plain.tls == .prefer && plain.maxConnections == 4 && plain.passwordFile == nil)
        #expect(plain.url == "postgresql://indexops@db.example.com:6543/rag")

        let short = try PostgresConnectionSettings(url: "postgres://me@localhost/db")
        #expect(short.port == 5432)
        #expect(short.url == "postgresql://me@localhost:5432/db")

        let v6 = try PostgresConnectionSettings(url: "postgresql://a%40b@[::1]:5433/my%20db")
        #expect([v6.user, v6.host, v6.database] == ["a@b", "::1", "my db"])
        #expect(v6.url == "postgresql://a%40b@[::1]:5433/my%20db")
    }

    @Test func aURLWithAPasswordIsRefusedWithoutRepeatingIt() {
        let why = "the url must not hold a password: a URL is shown in logs, --print-config, errors and process listings; put the password in a file named by passwordFile, or in PGPASSWORD"
        for url in ["postgresql://indexops:hunter2@db/rag", "postgresql://indexops:@db/rag", "postgresql://u:p@ss@db:5432/rag",
                    "postgresql://indexops@db/rag?password=hunter2"] {
            #expect(urlProblem(url) == why, "\(url)")
        }
    }

    @Test(arguments: [
        ("mysql://u@h/d", "the url must be of the form postgresql://USER@HOST:PORT/DATABASE"),
        ("postgresql://db.example.com/rag", "the url names no user (postgresql://USER@HOST:PORT/DATABASE)"),
        ("postgresql://u@db.example.com", "the url names no database (postgresql://USER@HOST:PORT/DATABASE)"),
        ("postgresql://u@db.example.com/", "the url names no database (postgresql://USER@HOST:PORT/DATABASE)"),
        ("postgresql://u@/rag", "the url names no host (postgresql://USER@HOST:PORT/DATABASE; a unix socket is not supported)"),
        ("postgresql://u@h:99999/rag", "the url's port must be a number from 1 to 65535"),
        ("postgresql://u@h:x/rag", "the url's port must be a number from 1 to 65535"),
        ("postgresql://u@h/rag?sslmode=require",
         "the url must have no query parameters (postgresql://USER@HOST:PORT/DATABASE): TLS goes in the settings tls and caFile, the password in passwordFile or PGPASSWORD"),
    ])
    func badURLs(url: String, message: String) {
        #expect(urlProblem(url) == message)
    }

    @Test func postgresIndexTypesLoadWithEverySetting() throws {
        let config = try load("""
              fulltext:
                driver: postgres-fts
                url: postgresql://indexops@db:5432/rag
                passwordFile: secrets/pg-password
                tls: require
                caFile: /etc/ssl/pg-ca.pem
                maxConnections: 8
                schema: search
                table: doc_chunks
                textSearchConfig: english
              vector: { driver: postgres-vector, url: "postgresql://indexops@db/rag", vectorStorage: array }
              sql-lite: { driver: sqlite-fts }
            """)
        let fts = try #require(config.indexTypes["fulltext"]?.postgres)
        #expect(fts.connection == (try PostgresConnectionSettings(
            url: "postgresql://indexops@db:5432/rag", passwordFile: "secrets/pg-password", tls: .require, caFile: "/etc/ssl/pg-ca.pem", maxConnections: 8)))
        #expect(fts.schema == "search" && fts.table == "doc_chunks" && fts.textSearchConfig == "english")
        #expect(fts.tableName(indexType: "fulltext") == "doc_chunks")
        let vector = try #require(config.indexTypes["vector"]?.postgres)
        #expect(vector.vectorStorage == .array && vector.textSearchConfig == "simple" && vector.schema == nil)
        #expect(vector.tableName(indexType: "vector") == "indexops_vector")
        #expect(PostgresIndexSettings(connection: vector.connection).tableName(indexType: "my-docs") == "indexops_my_docs")
        #expect(config.indexTypes["sql-lite"]?.postgres == nil)

        let resolved = config.resolvingPaths(relativeTo: "/etc/indexops")
        #expect(resolved.indexTypes["fulltext"]?.postgres?.connection.passwordFile == "/etc/indexops/secrets/pg-password")
        #expect(resolved.indexTypes["fulltext"]?.postgres?.connection.caFile == "/etc/ssl/pg-ca.pem")
        #expect(config.indexTypes["fulltext"]?.driver.isSearchable == true)
    }

    @Test(arguments: [
        ("  ft: { driver: postgres-fts }", "indexops.yaml:4:7: error: indexTypes.ft: the postgres-fts driver needs a url: postgresql://USER@HOST:PORT/DATABASE"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u:secret@h/d\" }",
         "indexops.yaml:4:36: error: indexTypes.ft.url: the url must not hold a password: a URL is shown in logs, --print-config, errors and process listings; put the password in a file named by passwordFile, or in PGPASSWORD"),
        ("  ft: { driver: sqlite-fts, url: \"postgresql://u@h/d\" }", "indexops.yaml:4:29: error: indexTypes.ft.url: url is only for the postgres drivers"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u@h/d\", tls: verify-full }",
         "indexops.yaml:4:63: error: indexTypes.ft.tls: unknown tls \"verify-full\" (known: disable, prefer, require)"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u@h/d\", tls: disable, caFile: ca.pem }",
         "indexops.yaml:4:80: error: indexTypes.ft.caFile: caFile is for TLS, which tls: disable turns off"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u@h/d\", maxConnections: 0 }",
         "indexops.yaml:4:74: error: indexTypes.ft.maxConnections: maxConnections must be between 1 and 100"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u@h/d\", table: Chunks }",
         "indexops.yaml:4:65: error: indexTypes.ft.table: \"Chunks\" is not a valid name: use lower-case letters, digits and '_', starting with a letter or '_', at most 52 characters"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u@h/d\", textSearchConfig: \"english; drop\" }",
         "indexops.yaml:4:76: error: indexTypes.ft.textSearchConfig: \"english; drop\" is not a valid name: use lower-case letters, digits and '_', starting with a letter or '_', at most 63 characters"),
        ("  ft: { driver: postgres-vector, url: \"postgresql://u@h/d\", textSearchConfig: english }",
         "indexops.yaml:4:61: error: indexTypes.ft.textSearchConfig: textSearchConfig is only for the postgres-fts driver"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u@h/d\", vectorStorage: array }",
         "indexops.yaml:4:58: error: indexTypes.ft.vectorStorage: vectorStorage is only for the postgres-vector driver"),
        ("  ft: { driver: postgres-fts, url: \"postgresql://u@h/d\", database: x.sqlite }",
         "indexops.yaml:4:58: error: indexTypes.ft.database: database is only for the sqlite drivers"),
        ("  a: { driver: postgres-fts, url: \"postgresql://u@h/d\", table: t }\n  b: { driver: postgres-vector, url: \"postgresql://v@h:5432/d\", table: t }",
         "indexops.yaml:5:3: error: indexTypes.b: index types a and b use the same table t of one database: set table"),
        ("  a-very-long-index-type-name-that-makes-a-long-table-name: { driver: postgres-fts, url: \"postgresql://u@h/d\" }",
         "indexops.yaml:4:3: error: indexTypes.a-very-long-index-type-name-that-makes-a-long-table-name: the default table name indexops_a_very_long_index_type_name_that_makes_a_long_table_name is longer than 52 characters: set table"),
    ])
    func badSettingsNameTheirPlace(yaml: String, message: String) {
        #expect(failure(yaml) == message)
    }
}
