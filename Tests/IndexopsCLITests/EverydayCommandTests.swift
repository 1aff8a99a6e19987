import Foundation
import Testing

/// The everyday commands through the built binary: what a person types, what they see,
/// and the exit status a script gets.
@Suite("Everyday commands")
struct EverydayCommandTests {
    static let ana = ["--user", "Ana Lima <ana@example.com>"]

    @Test func fromInitToCleanup() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let initialized = try Harness.run(["init", "--repo", "r"] + Self.ana, in: folder)
        #expect(initialized.status == 0, "\(initialized.stderr)")
        #expect(initialized.stdout.contains("wrote specs/example.yaml"))
        let repo = folder.appendingPathComponent("r")
        #expect(try Harness.output(["git", "log", "--format=%an|%s"], in: repo) == "Ana Lima|Start indexops: an example spec and document\n")
        #expect(try Harness.run(["validate"], in: repo).status == 0)
        #expect(try Harness.run(["init"] + Self.ana, in: repo).stdout.contains("nothing to do"), "running it again changes nothing")

        try Harness.write("Second document.\n", to: "docs/two.md", in: repo)
        try Harness.git(["add", "docs/two.md"], in: repo)
        try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-q", "-m", "two"], in: repo)
        let created = try Harness.run(["create", "two", "--source", "docs/two.md", "--types", "fulltext", "--collection", "notes"] + Self.ana, in: repo)
        #expect(created.stdout == "declared two in specs/notes/two.yaml; the next reconcile pass creates its indexes\n")
        #expect(try Harness.run(["reconcile", "--once"], in: repo).status == 0)

        let system = try Harness.run(["status"], in: repo)
        #expect(system.stdoutLines == [
            "2 documents, 3 indexes",
            "",
            "INDEX TYPE  ABSENT  CREATING  PRESENT  DELETING  FAILED",
            "fulltext    0       0         2        0         0",
            "vector      0       0         1        0         0",
            "all         0       0         3        0         0",
        ])
        let one = try Harness.run(["status", "two"], in: repo)
        #expect(one.stdoutLines.prefix(3) == ["document:   two", "collection: notes", "spec:       specs/notes/two.yaml"])
        #expect(one.stdoutLines.last?.hasPrefix("fulltext  present  present  0        ") == true)
        let collection = try Harness.run(["status", "--collection", "notes", "-o", "json"], in: repo)
        #expect(collection.stdout.contains("\"collection\": \"notes\""))

        #expect(try Harness.run(["retry", "two"] + Self.ana, in: repo).status == 0)
        #expect(try Harness.run(["recreate", "two"] + Self.ana, in: repo).status == 0)
        let rebuilt = try Harness.run(["reconcile", "--once"], in: repo)
        #expect(rebuilt.stdout.contains("two/fulltext  create  recreate requested  present"))

        let history = try Harness.run(["history", "two"], in: repo)
        #expect(history.stdoutLines.first == "WHEN                  COMMIT   WHO                            INDEX     CHANGE               NOTE")
        #expect(history.stdoutLines.filter { $0.contains("fulltext  creating -> present") }.count == 2)

        #expect(try Harness.run(["delete", "example", "--types", "vector"] + Self.ana, in: repo).status == 0)
        let deleted = try Harness.run(["reconcile", "--once"], in: repo)
        #expect(deleted.status == 0)
        #expect(deleted.stdout.contains("example/vector  delete  declared absent  deleted"))
        #expect(try Harness.run(["cleanup", "two"] + Self.ana, in: repo).status == 0)
        let cleaned = try Harness.run(["reconcile", "--once"], in: repo)
        #expect(cleaned.status == 0)
        #expect(cleaned.stdout.contains("two/fulltext  delete  spec removed  deleted"))
        #expect(try Harness.run(["status", "two"], in: repo).status == 2)
        #expect(try Harness.output(["git", "log", "--format=%an|%s", "-2", "--", "specs"], in: repo)
            == "Ana Lima|Remove two\nAna Lima|Delete indexes of example\n")
    }

    @Test func usageAndEnvironmentErrorsAreOneLineAndExitTwo() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        _ = try Harness.run(["init", "--repo", "r"] + Self.ana, in: folder)
        let repo = folder.appendingPathComponent("r")
        let home = folder.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let noGitUser = ["HOME": home.path, "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"]
        let cases: [(arguments: [String], folder: URL, environment: [String: String]?, message: String)] = [
            (["status"], folder, nil, "indexops: error: \(folder.path) is not a git repository (run `git init`, or pass --repo)\n"),
            (["status", "nope"], repo, nil, "indexops: error: unknown document nope: it has no spec and no status\n"),
            (["retry", "nope"] + Self.ana, repo, nil, "indexops: error: unknown document nope: no spec under specs/ declares it and it has no status\n"),
            (["history", "nope"], repo, nil, "indexops: error: unknown document nope: it has no spec and no status history\n"),
            (["create", "Bad_ID"] + Self.ana, repo, nil,
             "indexops: error: document id: \"Bad_ID\" is not a valid id: use lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit\n"),
            (["create", "three"] + Self.ana, repo, nil, "indexops: error: source docs/three.md is not a file in the repository; add it first, or pass --source\n"),
            (["create", "example"] + Self.ana, repo, nil, "indexops: error: document example is already declared in specs/example.yaml:6\n"),
            (["delete", "example", "--types", "graph"] + Self.ana, repo, nil,
             "indexops: error: index type \"graph\" is not configured (configured: fulltext, vector)\n"),
            (["cleanup", "example"], repo, noGitUser,
             "indexops: error: no --user given and git has no user.name or user.email; pass --user \"Name <email>\"\n"),
            (["status", "example", "--collection", "x"], repo, nil, ""),
        ]
        for c in cases {
            let result = try Harness.run(c.arguments, in: c.folder, environment: c.environment)
            #expect(result.status == 2, "\(c.arguments)")
            if !c.message.isEmpty { #expect(result.stderr == c.message, "\(c.arguments)") }
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
        }
        #expect(try Harness.output(["git", "log", "--oneline"], in: repo).split(separator: "\n").count == 1, "no failed command committed")
    }

    @Test(arguments: ["init", "create", "delete", "status", "retry", "recreate", "cleanup", "history", "plan", "reconcile", "search", "validate", "import"])
    func helpTeachesWithExamples(_ command: String) throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let help = try Harness.run([command, "--help"], in: folder)
        #expect(help.status == 0)
        #expect(help.stdout.contains("Example"))
        #expect(help.stdout.contains("indexops \(command)"))
        #expect(help.stdout.contains("--repo"))
    }
}
