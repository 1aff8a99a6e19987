import Foundation
import Testing

/// `indexops validate` through the built binary, as a person or a CI job runs it.
@Suite("indexops validate")
struct ValidateCommandTests {
    @Test func quickstartIsClean() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        let result = try Harness.run(["validate"], in: repo)
        #expect(result.status == 0)
        #expect(result.stdout == "")
        #expect(result.stderr == "2 files, 3 valid documents: no problems\n")
    }

    @Test func problemsAreOneLineEachSortedAndExitOne() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        try Harness.write("""
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata:
              name: doc123
              createdBy: bob
            spec:
              source: docs/gone.md
              indexes: { vector: presnt }
            """, to: "specs/a-copy.yaml", in: repo)
        try Harness.write("metadata:\n  name: x: y\n", to: "specs/broken.yml", in: repo)
        let result = try Harness.run(["validate"], in: repo)
        #expect(result.status == 1)
        #expect(result.stdoutLines == [
            "specs/a-copy.yaml:8:22: error: spec.indexes.vector: invalid state \"presnt\" (expected present or absent)",
            "specs/broken.yml:2:10: error: mapping values are not allowed in this context",
        ])
        #expect(result.stderr == "4 files, 3 valid documents: 2 errors, 0 warnings\n")
    }

    @Test func repositoryWideProblems() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        try Harness.write("""
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata: { name: doc123, createdBy: bob }
            spec: { source: docs/gone.md, indexes: { graph: present } }
            """, to: "specs/z.yaml", in: repo)
        try Harness.write("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            indexTypes:
              fulltext: { driver: sqlite-fts }
            """, to: "../indexops.yaml", in: repo)
        let result = try Harness.run(["validate", "--config", "../indexops.yaml", "--snippets"], in: repo)
        #expect(result.status == 1)
        #expect(result.stdoutLines == [
            "specs/doc123.yaml:5:9: error: document id \"doc123\" is declared more than once; also at specs/z.yaml:3:19",
            "5 |   name: doc123",
            "  |         ^",
            "specs/doc123.yaml:11:5: error: index type \"vector\" is not configured (configured: fulltext)",
            "11 |     vector: present",
            "   |     ^",
            "specs/handbook/handbook.yaml:22:5: error: index type \"vector\" is not configured (configured: fulltext)",
            "22 |     vector: absent      # the on-call page is searched by keyword only",
            "   |     ^",
            "specs/z.yaml:3:19: error: document id \"doc123\" is declared more than once; also at specs/doc123.yaml:5:9",
            "3 | metadata: { name: doc123, createdBy: bob }",
            "  |                   ^",
            "specs/z.yaml:4:17: error: source \"docs/gone.md\" does not exist in the repository",
            "4 | spec: { source: docs/gone.md, indexes: { graph: present } }",
            "  |                 ^",
            "specs/z.yaml:4:42: error: index type \"graph\" is not configured (configured: fulltext)",
            "4 | spec: { source: docs/gone.md, indexes: { graph: present } }",
            "  |                                          ^",
        ])
    }

    @Test func sourcesMayNotBeLinks() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        try FileManager.default.createSymbolicLink(atPath: repo.appendingPathComponent("docs/passwd").path, withDestinationPath: "/etc/passwd")
        try Harness.write("""
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata: { name: sneaky, createdBy: eve }
            spec: { source: docs/passwd }
            """, to: "specs/sneaky.yaml", in: repo)
        let result = try Harness.run(["validate", "specs/sneaky.yaml"], in: repo)
        #expect(result.status == 1)
        #expect(result.stdoutLines == ["specs/sneaky.yaml:4:17: error: source \"docs/passwd\" is a symbolic link; links are never followed"])
    }

    @Test func jsonForTools() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        try Harness.write("kind: DocumentIndex\napiVersion: indexops/v1\nmetadata: {name: a}\n", to: "specs/a.yaml", in: repo)
        let result = try Harness.run(["validate", "-o", "json"], in: repo)
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["errors"] as? Int == 1)
        #expect(json["documents"] as? Int == 3)
        #expect(json["files"] as? [String] == ["specs/a.yaml", "specs/doc123.yaml", "specs/handbook/handbook.yaml"])
        let diagnostic = try #require((json["diagnostics"] as? [[String: Any]])?.first)
        #expect(diagnostic["file"] as? String == "specs/a.yaml")
        #expect(diagnostic["line"] as? Int == 3)
        #expect(diagnostic["column"] as? Int == 11)
        #expect(diagnostic["code"] as? String == "missingField")
        #expect(diagnostic["message"] as? String == "missing required field \"metadata.createdBy\"")
        #expect(diagnostic["snippet"] as? String == "3 | metadata: {name: a}\n  |           ^")
    }

    @Test func pathsOutsideTheRepositoryAreShownAsGiven() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        try Harness.write("apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata: {name: a, createdBy: me}\nspec: {source: /abs}\n", to: "one.yaml", in: folder)
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        let result = try Harness.run(["validate", folder.appendingPathComponent("one.yaml").path], in: repo)
        #expect(result.status == 1)
        #expect(result.stdoutLines == [
            "\(folder.path)/one.yaml:4:16: error: spec.source: source path \"/abs\" is absolute; use a path relative to the repository root",
        ])
    }

    @Test func hostileFilesEndInCleanErrors() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        var random = SystemRandomNumberGenerator()
        try Data((0..<65_536).map { _ in UInt8.random(in: 0...255, using: &random) })
            .write(to: repo.appendingPathComponent("specs/binary.yaml"))
        try Data(count: 40 << 20).write(to: repo.appendingPathComponent("specs/huge.yaml"))
        try Harness.write(String(repeating: "[", count: 20_000), to: "specs/deep.yaml", in: repo)
        let result = try Harness.run(["validate"], in: repo)
        #expect(result.status == 1)
        let lines = result.stdoutLines
        #expect(lines.count == 3)
        #expect(lines.first { $0.hasPrefix("specs/binary.yaml:") }?.contains(": error: ") == true)
        #expect(lines.contains("specs/deep.yaml:1:65: error: nesting is deeper than 64 levels (maxDepth)"))
        #expect(lines.contains("specs/huge.yaml:1:1: error: file is 40 MiB, larger than the limit of 1 MiB (maxFileSize)"))
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test func usageAndEnvironmentErrorsExitTwoInOneLine() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let noSpecs = try Harness.run(["validate"], in: folder)
        #expect(noSpecs.status == 2)
        #expect(noSpecs.stderr == "indexops: error: no spec folder at \(folder.path)/specs; run in a repository with a specs/ folder, or pass --repo or paths\n")

        let noRepo = try Harness.run(["validate", "--repo", "/nonexistent"], in: folder)
        #expect(noRepo.status == 2)
        #expect(noRepo.stderr == "indexops: error: --repo /nonexistent is not a folder\n")

        let noFile = try Harness.run(["validate", "missing.yaml"], in: folder)
        #expect(noFile.status == 2)
        #expect(noFile.stderr == "indexops: error: \(folder.path)/missing.yaml: no such file or directory\n")

        let badOption = try Harness.run(["validate", "--frobnicate"], in: folder)
        #expect(badOption.status == 2)
        #expect(badOption.stderr.hasPrefix("Error: Unknown option '--frobnicate'\n"))

        let badFormat = try Harness.run(["validate", "-o", "yaml"], in: folder)
        #expect(badFormat.status == 2)

        try Harness.write("apiVersion: indexops/v1\nkind: ControllerConfig\nreconcile: {interval: soon}\n", to: "bad.yaml", in: folder)
        let badConfig = try Harness.run(["validate", "--config", "bad.yaml"], in: folder)
        #expect(badConfig.status == 2)
        #expect(badConfig.stderr == """
            bad.yaml:3:23: error: reconcile.interval: invalid duration "soon": use a number and a unit, like 500ms, 30s, 10m, 1h or 1h30m
            3 | reconcile: {interval: soon}
              |                       ^

            """)

        let noConfig = try Harness.run(["validate", "--config", "nope.yaml"], in: folder)
        #expect(noConfig.status == 2)
        #expect(noConfig.stderr == "indexops: error: cannot read configuration file nope.yaml: No such file or directory\n")
    }

    @Test func helpTeaches() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let root = try Harness.run(["--help"], in: folder)
        #expect(root.status == 0)
        #expect(root.stdout.contains("Examples:"))
        #expect(root.stdout.contains("validate"))
        let validate = try Harness.run(["validate", "--help"], in: folder)
        #expect(validate.status == 0)
        #expect(validate.stdout.contains("indexops validate -o json"))
        #expect(validate.stdout.contains("Exit status: 0 no errors"))
    }
}
