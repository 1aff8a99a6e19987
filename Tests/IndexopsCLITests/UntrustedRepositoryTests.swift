import Foundation
import Testing

/// Anyone who can push is an untrusted author of input (DESIGN.md §10): the built binary
/// against a bare remote, attacked with hostile trees, rewritten history and huge blobs.
@Suite("untrusted repository", .serialized)
struct UntrustedRepositoryTests {
    typealias World = ReconcileEndToEndTests.World

    // MARK: - Helpers

    /// `git` as the person, with an identity, in `folder`; its output, trimmed.
    @discardableResult
    static func git(_ arguments: [String], in folder: URL) throws -> String {
        try Harness.output(["git", "-c", "user.name=Mallory", "-c", "user.email=mallory@example.com"] + arguments, in: folder)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A file of the remote's branch.
    static func remoteFile(_ world: World, _ path: String) throws -> String {
        try Harness.output(["git", "--git-dir", world.remote.path, "show", "main:\(path)"], in: world.root)
    }

    /// Every object reachable on the remote.
    static func remoteObjects(_ world: World) throws -> String {
        try Harness.output(["git", "--git-dir", world.remote.path, "rev-list", "--objects", "--all"], in: world.root)
    }

    static func blob(_ text: String, in folder: URL) throws -> String {
        let file = folder.appendingPathComponent(".blob-\(UUID().uuidString)")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try git(["hash-object", "-w", file.path], in: folder)
    }

    /// A tree object with exactly these entries (`mode`, name, id), any name allowed, made
    /// with `git hash-object --literally` as an attacker would.
    static func tree(_ entries: [(mode: String, name: String, id: String)], in folder: URL) throws -> String {
        func key(_ e: (mode: String, name: String, id: String)) -> [UInt8] { Array(e.name.utf8) + (e.mode == "40000" ? [0x2F] : []) }
        var bytes: [UInt8] = []
        for entry in entries.sorted(by: { key($0).lexicographicallyPrecedes(key($1)) }) {
            bytes += Array("\(entry.mode) \(entry.name)".utf8) + [0]
            var hex = Substring(entry.id)
            while !hex.isEmpty {
                bytes.append(UInt8(hex.prefix(2), radix: 16)!)
                hex = hex.dropFirst(2)
            }
        }
        let file = folder.appendingPathComponent(".tree-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try git(["hash-object", "-t", "tree", "--literally", "-w", file.path], in: folder)
    }

    /// The entries of a tree of the person's repository.
    static func entries(_ treeish: String, in folder: URL) throws -> [(mode: String, name: String, id: String)] {
        try git(["ls-tree", treeish], in: folder).split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            let fields = parts[0].split(separator: " ")
            return (fields[0] == "040000" ? "40000" : String(fields[0]), String(parts[1]), String(fields[2]))
        }
    }

    static let freshSpec = """
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: fresh
          createdBy: ana@example.com
        spec:
          source: docs/fresh.md
          indexes: { fulltext: present }

        """

    /// The person commits a well-formed new document, then, on top, a tree that also holds
    /// `..`, `.git/hooks/pre-commit`, `.GIT/hooks/pre-commit` and an outward symlink, and
    /// pushes both with a plain `git push`.
    static func pushHostileTree(_ world: World) throws {
        try world.write("specs/fresh.yaml", freshSpec)
        try world.write("docs/fresh.md", "A fresh document about lighthouses.\n")
        try world.push("A new document")
        let person = world.person
        let hook = try blob("#!/bin/sh\ntouch \"$HOME/pwned\"\n", in: person)
        let hooks = try tree([("100755", "pre-commit", hook)], in: person)
        let dotGit = try tree([("40000", "hooks", hooks)], in: person)
        let escaped = try tree([("100644", "escaped.txt", try blob("written next to the clone\n", in: person))], in: person)
        var docs = try entries("HEAD:docs", in: person)
        docs.append(("120000", "outward", try blob("../../outside.txt", in: person)))
        var root = try entries("HEAD", in: person).filter { $0.name != "docs" }
        root += [("40000", "docs", try tree(docs, in: person)), ("40000", "..", escaped), ("40000", ".git", dotGit), ("40000", ".GIT", dotGit)]
        let commit = try git(["commit-tree", try tree(root, in: person), "-p", "HEAD", "-m", "A hostile tree"], in: person)
        try git(["push", "-q", "origin", "\(commit):refs/heads/main"], in: person)
    }

    /// What must hold after any pass over the hostile tree.
    static func expectNothingEscaped(_ world: World, _ result: Harness.Result) throws {
        #expect(result.status == 1, "error diagnostics, not an environment error: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: world.root.appendingPathComponent("escaped.txt").path))
        #expect(!FileManager.default.fileExists(atPath: world.controller.appendingPathComponent(".git/hooks/pre-commit").path))
        #expect(!FileManager.default.fileExists(atPath: world.controller.appendingPathComponent(".GIT").path))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: world.controller.appendingPathComponent("docs/outward").path)) == nil)
        #expect(try String(contentsOf: world.controller.appendingPathComponent("docs/fresh.md"), encoding: .utf8) == "A fresh document about lighthouses.\n")
        for line in [
            "..:1:1: error: '..' names the folder above: this entry, and everything below it, is not read or written to the work tree",
            ".GIT:1:1: error: '.git' (in any letter case) is git's own folder: this entry, and everything below it, is not read or written to the work tree",
            ".git:1:1: error: '.git' (in any letter case) is git's own folder: this entry, and everything below it, is not read or written to the work tree",
            "docs/outward:1:1: error: its target '../../outside.txt' climbs out of the work tree; the symlink is not created",
        ] {
            #expect(result.stdoutLines.contains(line), "\(result.stdout)")
        }
        let diagnostics = try remoteFile(world, "status/_diagnostics.json")
        for path in ["..", ".GIT", ".git", "docs/outward"] {
            #expect(diagnostics.contains("\"file\": \"\(path)\""), "\(diagnostics)")
        }
    }

    /// The well-formed document of the hostile commit was reconciled.
    static func expectFreshIndexed(_ world: World) throws {
        let hash = try Harness.output(["sh", "-c", "printf %s fresh | sha256sum"], in: world.root).prefix(2)
        #expect(try remoteFile(world, "status/\(hash)/fresh.json").contains("\"actualState\": \"present\""))
    }

    /// The person replaces the hostile commit's tree by a clean one (plumbing: a checkout of
    /// it would fail) with one more document, and pushes; the next pass reconciles it.
    static func pushCleanup(_ world: World) throws {
        let person = world.person
        try git(["fetch", "-q", "origin"], in: person)
        var root = try entries("origin/main", in: person).filter { ![".git", ".GIT", ".."].contains($0.name) }
        var docs = try entries("origin/main:docs", in: person).filter { $0.name != "outward" }
        docs.append(("100644", "later.md", try blob("Later, about harbours.\n", in: person)))
        var specs = try entries("origin/main:specs", in: person)
        specs.append(("100644", "later.yaml", try blob(freshSpec.replacingOccurrences(of: "fresh", with: "later"), in: person)))
        root = root.filter { $0.name != "docs" && $0.name != "specs" }
        root += [("40000", "docs", try tree(docs, in: person)), ("40000", "specs", try tree(specs, in: person))]
        let commit = try git(["commit-tree", try tree(root, in: person), "-p", "origin/main", "-m", "Clean up"], in: person)
        try git(["push", "-q", "origin", "\(commit):refs/heads/main"], in: person)
    }

    // MARK: - Tree entries

    @Test func aHostileTreeInAnExistingCloneWritesNothingOutside() throws {
        let world = try World()
        defer { world.cleanup() }
        try world.push("Add the quickstart")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        try Self.pushHostileTree(world)

        let pass = try world.indexops(["reconcile", "--once"])
        try Self.expectNothingEscaped(world, pass)
        try Self.expectFreshIndexed(world)
        #expect(try Harness.output(["find", ".", "-name", "*.indexops-*"], in: world.controller) == "", "no temporary file is left")

        // A later pass over the same tree says the same, and writes nothing either.
        let again = try world.indexops(["reconcile", "--once", "--force"])
        try Self.expectNothingEscaped(world, again)
        // Once the person cleans up, the next pass reconciles the new document, and the
        // diagnostics are gone.
        try Self.pushCleanup(world)
        let clean = try world.indexops(["reconcile", "--once"])
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        let hash = try Harness.output(["sh", "-c", "printf %s later | sha256sum"], in: world.root).prefix(2)
        #expect(try Self.remoteFile(world, "status/\(hash)/later.json").contains("\"actualState\": \"present\""))
        #expect(!(try Self.remoteFile(world, "status/_diagnostics.json")).contains("\"file\": \".git\""))
    }

    @Test func aHostileTreeInAFreshCloneWritesNothingOutside() throws {
        let world = try World()
        defer { world.cleanup() }
        try world.push("Add the quickstart")
        try Self.pushHostileTree(world)

        let pass = try world.indexops(["reconcile", "--once"])
        try Self.expectNothingEscaped(world, pass)
        try Self.expectFreshIndexed(world)
        let again = try world.indexops(["reconcile", "--once", "--force"])
        try Self.expectNothingEscaped(world, again)
    }

    // MARK: - Rewritten history

    /// The person pushes a document with a secret, indexops reconciles it (its status commit
    /// sits on top of the secret), then the person takes it back with a force-push.
    static func pushSecret(_ world: World) throws -> (before: String, secret: String, blob: String) {
        try world.push("Add the quickstart")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        let before = try Harness.output(["git", "--git-dir", world.remote.path, "rev-parse", "main"], in: world.root).trimmingCharacters(in: .whitespacesAndNewlines)
        try world.pull()
        try world.write("specs/leak.yaml", freshSpec.replacingOccurrences(of: "fresh", with: "leak"))
        try world.write("docs/leak.md", "The password is hunter2-secret.\n")
        try world.push("Add the leak document")
        let secret = try git(["rev-parse", "HEAD"], in: world.person)
        let blob = try git(["rev-parse", "HEAD:docs/leak.md"], in: world.person)
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        #expect(try remoteObjects(world).contains(secret))
        return (before, secret, blob)
    }

    static func expectGone(_ world: World, _ secret: (before: String, secret: String, blob: String)) throws {
        let objects = try remoteObjects(world)
        #expect(!objects.contains(secret.secret), "the dropped commit is not on the remote again")
        #expect(!objects.contains(secret.blob), "nor its blob")
        #expect(!(try Harness.output(["git", "--git-dir", world.remote.path, "log", "-p", "--all"], in: world.root)).contains("hunter2-secret"))
    }

    @Test func aRewoundBranchIsNeverUndone() throws {
        let world = try World()
        defer { world.cleanup() }
        let secret = try Self.pushSecret(world)
        let rewoundFrom = try Harness.output(["git", "--git-dir", world.remote.path, "rev-parse", "main"], in: world.root).trimmingCharacters(in: .whitespacesAndNewlines)
        try Self.git(["push", "-q", "--force", "origin", "\(secret.before):refs/heads/main"], in: world.person)

        let first = try world.indexops(["reconcile", "--once"])
        #expect(first.status == 0 || first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("the upstream of 'main' was rewritten (\(rewoundFrom.prefix(7)) -> \(secret.before.prefix(7))): took it as it is"), "\(first.stderr)")
        for _ in 0..<2 {
            let pass = try world.indexops(["reconcile", "--once", "--force"])
            #expect(pass.status == 0 || pass.status == 1, "\(pass.stderr)")
            #expect(!pass.stderr.contains("rewritten"))
        }
        try Self.expectGone(world, secret)
    }

    @Test func aRewrittenBranchNeverBlocks() throws {
        let world = try World()
        defer { world.cleanup() }
        let secret = try Self.pushSecret(world)
        // The person rewrites the commit without the secret and force-pushes.
        try Self.git(["reset", "-q", "--hard", secret.before], in: world.person)
        try world.write("specs/leak.yaml", Self.freshSpec.replacingOccurrences(of: "fresh", with: "leak"))
        try world.write("docs/leak.md", "The password is in the vault.\n")
        try Harness.git(["add", "-A"], in: world.person)
        try Self.git(["commit", "-q", "-m", "Add the leak document, without the leak"], in: world.person)
        try Self.git(["push", "-q", "--force", "origin", "main"], in: world.person)

        for round in 0..<3 {
            let pass = try world.indexops(["reconcile", "--once"] + (round > 0 ? ["--force"] : []))
            #expect(pass.status == 0 || pass.status == 1, "\(pass.stderr)")
            #expect(!pass.stderr.contains("notReplayable"))
            if round == 0 { #expect(pass.stderr.contains("was rewritten"), "\(pass.stderr)") }
        }
        try Self.expectGone(world, secret)
        let hash = try Harness.output(["sh", "-c", "printf %s leak | sha256sum"], in: world.root).prefix(2)
        #expect(try Self.remoteFile(world, "status/\(hash)/leak.json").contains("\"actualState\": \"present\""), "planned again from the new upstream")
    }

    // MARK: - Sizes

    /// Writes `size` bytes of compressible text to `path` in the person's work tree, a
    /// mebibyte at a time.
    static func writeLarge(_ world: World, _ path: String, size: Int, line: String) throws {
        let url = world.person.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        let chunk = Data(String(repeating: line, count: (1 << 20) / line.utf8.count + 1).utf8.prefix(1 << 20))
        var written = 0
        while written < size {
            let part = chunk.prefix(size - written)
            try handle.write(contentsOf: part)
            written += part.count
        }
    }

    /// A 200 MiB spec blob is refused from its object header: neither the pass nor the
    /// publish of the work tree reads it, in an existing clone or a fresh one.
    ///
    /// The remote is served by `git daemon`, as a real remote is: libgit2's transport for a
    /// remote on a local path builds the pack in the fetching process itself, reading every
    /// object whole (a 200 MiB blob weighs 200 MiB there), which no deployment does.
    @Test func aHugeSpecBlobIsNeverRead() throws {
        let world = try World()
        defer { world.cleanup() }
        let daemon = try GitDaemon(basePath: world.root)
        defer { daemon.stop() }
        let config = world.root.appendingPathComponent("indexops-daemon.yaml")
        try Data(try String(contentsOfFile: world.config, encoding: .utf8)
            .replacingOccurrences(of: "url: \"\(world.remote.path)\"", with: "url: \"git://127.0.0.1:\(daemon.port)/remote.git\"").utf8).write(to: config)
        try world.push("Add the quickstart")
        #expect(try Harness.run(["reconcile", "--once", "--config", config.path], in: world.root).status == 0)
        try Self.writeLarge(world, "specs/huge.yaml", size: 200 << 20, line: "# a comment that goes on and on\n")
        try world.push("A huge spec")

        for fresh in [false, true] {
            if fresh { try FileManager.default.removeItem(at: world.controller) }
            let (pass, peak) = try Harness.runMeasured(["reconcile", "--once", "--config", config.path], in: world.root)
            #expect(pass.status == 1, "\(pass.stderr)")
            #expect(pass.stdoutLines.contains("specs/huge.yaml:1:1: error: file is 200 MiB, larger than the limit of 1 MiB (maxFileSize)"), "\(pass.stdout)")
            #expect(pass.stdoutLines.contains("specs/huge.yaml:1:1: warning: a file of 200 MiB, over limits.maxWorkTreeFileSize (64 MiB); not written to the work tree"))
            #expect(peak < 150 << 10, "peak RSS \(peak) KiB (fresh clone: \(fresh))")
            #expect(!FileManager.default.fileExists(atPath: world.controller.appendingPathComponent("specs/huge.yaml").path))
        }
    }

    /// A source over `limits.maxSourceSize` fails its operations with a message naming the
    /// size and the setting, without being read.
    @Test func aSourceOverMaxSourceSizeFailsNamingTheSetting() throws {
        let world = try World()
        defer { world.cleanup() }
        try world.push("Add the quickstart")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        try Self.writeLarge(world, "docs/big.md", size: 40_000_000, line: "retrieval augmented generation over a very long paragraph ")
        try world.write("specs/big.yaml", Self.freshSpec.replacingOccurrences(of: "fresh", with: "big")
            .replacingOccurrences(of: "{ fulltext: present }", with: "{ fulltext: present, vector: present }"))
        try world.push("A 40 MB source")

        let (pass, peak) = try Harness.runMeasured(["reconcile", "--once", "--config", world.config], in: world.root)
        #expect(pass.status == 1, "\(pass.stderr)")
        #expect(pass.stdout.contains("failed indexes: big/fulltext, big/vector"), "\(pass.stdout)")
        let hash = try Harness.output(["sh", "-c", "printf %s big | sha256sum"], in: world.root).prefix(2)
        let status = try Self.remoteFile(world, "status/\(hash)/big.json")
        #expect(status.contains("the source docs/big.md is 38.1 MiB, over limits.maxSourceSize (32 MiB); it is not indexed until the source shrinks or the setting is raised"), "\(status)")
        #expect(peak < 200 << 10, "peak RSS \(peak) KiB")
    }

    /// A status file over `limits.maxStatusFileSize` is a diagnostic naming the setting,
    /// unread; a configuration file over 1 MiB is refused before it is read.
    @Test func statusAndConfigurationFilesAreSizeChecked() throws {
        let world = try World()
        defer { world.cleanup() }
        try world.push("Add the quickstart")
        #expect(try world.indexops(["reconcile", "--once"]).status == 0)
        try world.pull()
        // At the path of document "bloated": a file anywhere else in status/ is not read at all.
        let bloated = "status/" + (try Harness.output(["sh", "-c", "printf %s bloated | sha256sum"], in: world.root).prefix(2)) + "/bloated.json"
        try Self.writeLarge(world, bloated, size: 2 << 20, line: "{}\n")
        try world.push("A bloated status file")
        let pass = try world.indexops(["reconcile", "--once"])
        #expect(pass.status != 2, "\(pass.stderr)")
        #expect(pass.stdoutLines.contains { $0.hasPrefix("\(bloated):1:1: error: invalid status file: blob ") && $0.contains(" is 2 MiB, over limits.maxStatusFileSize (1 MiB); it was not read") }, "\(pass.stdout)")

        let big = world.root.appendingPathComponent("big.yaml")
        try Data(repeating: UInt8(ascii: "#"), count: 2 << 20).write(to: big)
        let refused = try Harness.run(["validate", "--config", big.path], in: world.root)
        #expect(refused.status == 2)
        #expect(refused.stderr == "indexops: error: configuration file \(big.path) is 2097152 bytes, over the 1 MiB limit of a configuration file; it was not read\n")
        let endless = try Harness.run(["validate", "--config", "/dev/zero"], in: world.root)
        #expect(endless.stderr == "indexops: error: configuration file /dev/zero is larger, over the 1 MiB limit of a configuration file; it was not read\n")
    }
}

extension Harness {
    /// Runs `indexops` like ``run(_:in:environment:)`` and also returns the child's peak
    /// resident set size in KiB (`ru_maxrss` from `wait4`, the child's own figure, whatever
    /// else the test process runs meanwhile).
    /// The working directory is the test process's own: pass absolute paths.
    ///
    /// The peak comes from GNU time, which forks the program: a process spawned straight from
    /// this one (vfork) would count this test process's own peak as its own, since Linux keeps
    /// the largest resident set of every address space a process has had, the parent's too.
    static func runMeasured(_ arguments: [String], in folder: URL) throws -> (result: Result, peakKiB: Int) {
        let out = folder.appendingPathComponent(".out-\(UUID().uuidString)").path
        let err = folder.appendingPathComponent(".err-\(UUID().uuidString)").path
        let peak = folder.appendingPathComponent(".peak-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
            try? FileManager.default.removeItem(atPath: peak)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let time = "/usr/bin/time"
        let argv = ([time, "-f", "%M", "-o", peak, binary.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, time, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw HarnessError("posix_spawn failed: \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw HarnessError("wait4 failed: \(errno)") }
        }
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        // GNU time prints "Command exited with non-zero status N" before the figure.
        let figure = try String(contentsOfFile: peak, encoding: .utf8).split(separator: "\n").last.flatMap { Int($0) }
        guard let figure else { throw HarnessError("no peak from /usr/bin/time in \(peak)") }
        return (Result(status: exit, stdout: try String(contentsOfFile: out, encoding: .utf8), stderr: try String(contentsOfFile: err, encoding: .utf8)),
                figure)
    }
}

/// `git daemon` serving the folders below `basePath` on a free loopback port, pushes
/// allowed: a remote whose packs are made by git, as on a real server.
final class GitDaemon {
    let port: Int
    private let process = Process()

    init(basePath: URL) throws {
        port = try Self.freePort()
        // git-daemon itself (not the `git` wrapper, which would leave it running when killed).
        process.executableURL = URL(fileURLWithPath: "/usr/lib/git-core/git-daemon")
        process.arguments = [
            "--export-all", "--reuseaddr", "--enable=receive-pack", "--informative-errors",
            "--base-path=\(basePath.path)", "--listen=127.0.0.1", "--port=\(port)", basePath.path,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        do {
            try Harness.waitFor(seconds: 60) { Self.accepts(port: port) }
        } catch {
            stop()
            throw error
        }
    }

    /// Stops the daemon (the process this object started). SIGKILL: it inherits the test
    /// runner's blocked SIGTERM.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
