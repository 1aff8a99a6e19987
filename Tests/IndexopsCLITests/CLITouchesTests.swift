import Foundation
import Testing

/// The touches people expect of a command line: --version, shell completions, the man page,
/// a progress line on a terminal, status --watch; and semantic search through an embedder.
@Suite("CLI touches")
struct CLITouchesTests {
    @Test func versionNamesTheCommitItWasBuiltFrom() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let result = try Harness.run(["--version"], in: folder)
        #expect(result.status == 0)
        let line = result.stdout.trimmingCharacters(in: .newlines)
        let match = try #require(line.wholeMatch(of: /indexops (\d+\.\d+\.\d+) \(commit ([0-9a-f]{40})(-dirty)?\)/), "got \(line)")
        // The commit is one of this repository's (the build stamps HEAD: Plugins/BuildInfo).
        _ = try Harness.output(["git", "cat-file", "-e", "\(match.2)^{commit}"], in: Harness.packageRoot)
    }

    @Test(arguments: ["bash", "zsh", "fish"]) func completionScripts(_ shell: String) throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let result = try Harness.run(["--generate-completion-script", shell], in: folder)
        #expect(result.status == 0)
        for word in ["reconcile", "validate", "watch", "log-level"] {
            #expect(result.stdout.contains(word), "\(shell) completion lacks \(word)")
        }
    }

    /// The committed man page (docs/indexops.1, `make man`) is current: it names every
    /// subcommand and every long option that the binary's help has.
    @Test func theManPageCoversTheHelp() throws {
        let folder = try Harness.scratch()
        defer { Harness.cleanup(folder) }
        let page = try String(contentsOf: Harness.packageRoot.appendingPathComponent("docs/indexops.1"), encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        let dump = try Harness.run(["--experimental-dump-help"], in: folder)
        let help = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var missing: [String] = []
        func visit(_ command: [String: Any], path: String) {
            let name = command["commandName"] as? String ?? ""
            let full = path.isEmpty ? name : path + " " + name
            if !path.isEmpty, !page.contains(name) { missing.append(full) }
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                for item in argument["names"] as? [[String: Any]] ?? [] where item["kind"] as? String == "long" {
                    // mdoc writes --name as `Fl -name`, or `Fl o , -name` beside a short name.
                    let name = item["name"] as? String ?? ""
                    if !page.contains("Fl -\(name)"), !page.contains(", -\(name)"), !page.contains("--\(name)") { missing.append("\(full) --\(name)") }
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] { visit(sub, path: full) }
        }
        visit(try #require(help["command"] as? [String: Any]), path: "")
        #expect(missing.isEmpty, "docs/indexops.1 is out of date (make man): \(missing)")
    }

    /// On a terminal a pass shows a progress line; into a pipe or a file it prints none.
    @Test func progressOnATerminalOnly() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        // util-linux's script runs the command on a pseudo-terminal and copies what it printed.
        let command = "'\(Harness.binary.path)' reconcile --once --log-level error"
        let typescript = try Harness.output(["script", "-qefc", command, "/dev/null"], in: repo)
        #expect(typescript.contains("\r\u{1B}[2K[ 5/5 ] "), "the last step is drawn: \(typescript.debugDescription)")
        // Operations run concurrently and the line is redrawn at most so often: any of the
        // five documents may be the one shown.
        #expect(typescript.contains(/\[ \d\/5 \] (doc123|handbook-onboarding|handbook-oncall)\/(vector|fulltext) created/))
        #expect(typescript.contains("5 operations"))

        try Harness.write("Changed.\n", to: "docs/handbook/oncall.md", in: repo)
        try Harness.git(["-c", "user.name=Ana", "-c", "user.email=ana@example.com", "commit", "-qam", "Edit"], in: repo)
        let piped = try Harness.run(["reconcile", "--once"], in: repo)
        #expect(piped.status == 0)
        #expect(!piped.stdout.contains("\u{1B}"), "no progress line into a file")
        #expect(!piped.stdout.contains("/2 ]"))
    }

    /// `status --watch` draws frames until SIGINT, and a frame shows what changed since the last.
    @Test func statusWatchRedrawsUntilInterrupted() throws {
        let repo = try Harness.quickstartRepository()
        defer { Harness.cleanup(repo) }
        let watching = try Harness.start(["status", "--watch", "--interval", "200ms"], in: repo)
        func frames() -> [String] {
            let text = (try? String(contentsOf: watching.out, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "Every 200ms: indexops status").dropFirst().map { $0 }
        }
        // A frame is written in pieces: wait until the first one has its summary line.
        try Harness.waitFor { frames().first?.contains(" indexes") == true }
        #expect(frames()[0].contains("0 documents, 0 indexes"))
        #expect(try Harness.run(["reconcile", "--once"], in: repo).status == 0)
        // The pass commits its intents (5 creating), then its results (5 present): a later
        // frame shows the five present.
        try Harness.waitFor { frames().contains { $0.contains(/all +0 +0 +5 +0 +0/) } }
        kill(watching.process.processIdentifier, SIGINT)
        let result = try watching.finish()
        #expect(result.status == 0, "Ctrl-C ends the watch normally: \(result.stderr)")
    }
}
