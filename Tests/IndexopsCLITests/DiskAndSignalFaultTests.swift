import Foundation
import Testing

/// Whether this process can mount a tmpfs (root, and a kernel that allows it here): the
/// full-disk test needs a small file system of its own.
let canMountTmpfs: Bool = {
    guard getuid() == 0, let folder = try? Harness.scratch() else { return false }
    defer { Harness.cleanup(folder) }
    let mounted = (try? Harness.output(["sh", "-c", "mount -t tmpfs -o size=1m tmpfs '\(folder.path)' 2>/dev/null && echo yes"], in: folder)) == "yes\n"
    if mounted { _ = try? Harness.output(["umount", folder.path], in: URL(fileURLWithPath: "/")) }
    return mounted
}()

extension FaultTests {
    /// A program whose index data is 60,000 random bytes in base64: an 80 KB status file
    /// that does not compress.
    static let bigIndexer = #"""
        #!/bin/sh
        cat > /dev/null
        echo run >> "$LEDGER/calls.log"
        printf '{"indexData": {"blob": "%s"}}\n' "$(head -c 60000 /dev/urandom | base64 -w0)"

        """#

    /// The clone lives on a small tmpfs that fills up while the statuses of twenty large
    /// indexes are written (ENOSPC, not a file-size limit): the pass stops with the system's
    /// reason, the branch holds at most the intent commit and nothing half-written, nothing
    /// is pushed; once space returns, the next pass converges and leaves no temporary file.
    @Test(.enabled(if: canMountTmpfs, "needs root and tmpfs"))
    func aFileSystemThatFillsUp() throws {
        let world = try FaultWorld(["big": Self.bigIndexer])
        defer { world.cleanup() }
        let small = world.root.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        _ = try Harness.output(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", small.path], in: world.root)
        defer { _ = try? Harness.output(["umount", "-l", small.path], in: world.root) }
        let clone = small.appendingPathComponent("controller")
        try world.writeConfig(reconcile: "interval: 1h, maxRetries: 3, retryBackoff: 1ms, maxRetryBackoff: 1ms, commitInterval: 1h")
        let text = try String(contentsOfFile: world.config, encoding: .utf8).replacingOccurrences(of: "path: controller,", with: "path: \"\(clone.path)\",")
        try Data(text.utf8).write(to: URL(fileURLWithPath: world.config))
        try world.world.write("docs/doc123.md", "A document.\n")
        try world.world.push("A document, no spec yet")
        #expect(try world.reconcile().status == 0, "the clone is made with room to spare")

        let ids = (1...20).map { "doc\($0)" }
        try world.declare(ids, type: "big")
        try world.world.push("Twenty documents")
        let before = try world.git(["rev-parse", "main"], in: world.remote)
        // Leave about 700 KB: the sync and the intent commit fit, the 1.6 MB of results do not.
        let filler = small.appendingPathComponent("filler")
        let free = try Harness.output(["sh", "-c", "df --output=avail -B1 '\(small.path)' | tail -1"], in: world.root)
        let fill = max(0, (Int(free.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) - 700_000)
        _ = try Harness.output(["sh", "-c", "head -c \(fill) /dev/zero > '\(filler.path)'"], in: world.root)

        let full = try world.reconcile()
        #expect(full.status != 0, "\(full.stdout)\n\(full.stderr)")
        #expect((full.stdout + full.stderr).contains("No space left on device"), "\(full.stdout)\n\(full.stderr)")
        let head = try world.git(["log", "-1", "--format=%s", "main"], in: clone)
        #expect(head == "indexops: 20 operations started\n" || head == "Twenty documents\n", "the branch is unchanged, or holds the intent only: \(head)")
        #expect(try world.git(["rev-parse", "main"], in: world.remote) == before, "nothing was pushed")
        try Harness.git(["fsck", "--strict", "--no-progress", "--no-dangling"], in: clone)

        try FileManager.default.removeItem(at: filler)
        let healed = try world.reconcile()
        #expect(healed.status == 0, "\(healed.stdout)\n\(healed.stderr)")
        try world.world.pull()
        for id in ids { #expect(try world.world.status(id).contains("\"actualState\": \"present\""), "\(id)") }
        try Harness.git(["fsck", "--strict", "--no-progress"], in: clone)
        try Harness.git(["fsck", "--strict", "--no-progress"], in: world.remote)
        let leftovers = try Harness.output(
            ["find", ".git", "(", "-name", "tmp_*", "-o", "-name", "pack_git2_*", "-o", "-name", "*.lock", "-o", "-name", "*-journal", ")", "-not", "-name", "controller.lock"],
            in: clone)
        #expect(leftovers == "", "no temporary file is left: \(leftovers)")
        let untracked = try world.git(["status", "--porcelain", "--untracked-files=all"], in: clone)
        #expect(untracked == "", "the work tree holds no temporary file: \(untracked)")
    }

    /// SIGTERM while an exec program runs and does not end within `--shutdown-grace`: the
    /// operation is cancelled, the program and its grandchild are killed, `indexops run`
    /// exits 0 with the other results committed and pushed, and the next pass builds the index.
    @Test func sigtermDuringAnOperation() throws {
        let script = #"""
            #!/bin/sh
            doc=$(tr -d '\n' | sed -n 's/.*"documentId": *"\([^"]*\)".*/\1/p')
            if [ "$doc" = slow ] && [ ! -e "$LEDGER/quick-now" ]; then
              sleep 300 &
              echo $! > "$LEDGER/grandchild.pid"
              echo $$ > "$LEDGER/child.tmp" && mv "$LEDGER/child.tmp" "$LEDGER/child.pid"
              wait
            fi
            echo "$doc" >> "$LEDGER/built.log"
            echo '{"indexData": {}}'

            """#
        let world = try FaultWorld(["gate": script])
        defer { world.cleanup() }
        try world.writeConfig(reconcile: "interval: 1h, concurrency: 2, retryBackoff: 1ms, maxRetryBackoff: 1ms, commitInterval: 100ms")
        try world.declare(["fast", "slow"], type: "gate")
        try world.world.push("Two documents")

        let daemon = try DaemonProcess(["--config", world.config, "--shutdown-grace", "1s"], in: world.root, environment: ["TMPDIR": world.tmp.path])
        defer { daemon.stop() }
        try Harness.waitFor(seconds: 120) { world.exists("child.pid") && ((try? world.read("built.log")) ?? "").contains("fast") }
        let child = try world.pid("child.pid"), grandchild = try world.pid("grandchild.pid")
        daemon.signal(SIGTERM)
        try Harness.waitFor(seconds: 60) { !daemon.process.isRunning }
        #expect(daemon.process.terminationStatus == 0, "\(daemon.stderr)")
        try Harness.waitFor(seconds: 10) { !Self.alive(child) && !Self.alive(grandchild) }
        #expect(world.contentFiles() == [], "the cancelled operation's content file is removed")

        try world.world.pull()
        #expect(try world.world.status("fast").contains("\"actualState\": \"present\""))
        let slow = try world.world.status("slow")
        #expect(slow.contains("cancelled: indexops was stopping"), "\(slow)")
        #expect(!slow.contains("\"actualState\": \"present\""))
        #expect(try world.git(["rev-parse", "main"], in: world.controller) == (try world.git(["rev-parse", "main"], in: world.remote)))

        world.touch("quick-now")
        let next = try world.reconcile()
        #expect(next.status == 0, "\(next.stdout)\n\(next.stderr)")
        try world.world.pull()
        #expect(try world.world.status("slow").contains("\"actualState\": \"present\""))
    }
}
