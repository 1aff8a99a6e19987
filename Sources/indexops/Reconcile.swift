import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore
import IndexOpsDaemon
import Logging

/// `indexops reconcile`: passes that bring the indexes to the state the specs declare.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the indexes to the state the specs declare.",
        discussion: """
            A pass fetches the remote (when one is configured), reads the specs and the status \
            files of the branch head, commits what it is about to do, creates or deletes \
            indexes, commits the new statuses and pushes them. A pass that finds nothing new \
            ends at once. Without --once, a pass runs every reconcile.interval until stopped.

            On a terminal, a line shows how far the pass is: [ 4,120/30,000 ] doc-4120/vector created.

            Examples:
              indexops reconcile --once                     one pass, as a job or a CI step
              indexops reconcile --once --dry-run           what a pass would do (like plan)
              indexops reconcile --once --allow-mass-delete delete past the safety brake, once

            Exit status: 0 ok; 1 failed indexes, invalid specs or deletions held by the brake; \
            2 usage or environment error.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var sharding: ShardOptions

    @Flag(help: "Run one pass and exit.")
    var once = false

    @Flag(help: "Plan only: fetch, then commit, push and run nothing; the local branch and files stay as they are.")
    var dryRun = false

    @Flag(help: "Delete past the mass-delete brake in this pass (maxDeletePercent).")
    var allowMassDelete = false

    @Flag(help: "Run the pass even when nothing changed since the last one.")
    var force = false

    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.")
    var output: OutputFormat = .table

    func validate() throws {
        if allowMassDelete, !once { throw ValidationError("--allow-mass-delete is for one pass: use it with --once") }
    }

    func run() async throws {
        let logger = global.logger(default: .info)
        let config = try sharding.apply(to: ConfigLoader.applyingStatusBranch(ConfigLoader.load(global.config), flag: global.statusBranch))
        let reconciler = try Controller.reconciler(repo: global.repo, config: config, configured: global.config != nil, logger: logger)
        var options = PassOptions(dryRun: dryRun, allowMassDelete: allowMassDelete, force: force)
        let progress = ProgressLine.onTerminal(enabled: !dryRun)
        if let progress { options.progress = { progress.update($0) } }
        guard once || dryRun else {
            try await loop(reconciler, options: options, progress: progress, logger: logger)
            return
        }
        let report = try await reconciler.pass(options)
        progress?.finish()
        try Report.print(report, as: output, dryRun: dryRun)
        if report.hasProblems { throw ExitCode(1) }
    }

    /// Passes every `reconcile.interval` until SIGTERM or SIGINT: the daemon's loop, without
    /// its HTTP server.
    private func loop(_ reconciler: Reconciler, options: PassOptions, progress: ProgressLine?, logger: Logger) async throws {
        let output = self.output
        try await Daemon.runLoop(reconciler, config: reconciler.workspace.config, options: options, logger: logger) { report in
            progress?.finish()
            if !report.idle { try? Report.print(report, as: output, dryRun: false) }
        }
    }
}

/// `indexops plan`: what a pass would do now.
struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a reconcile pass would do, without doing it.",
        discussion: """
            Fetches the remote (when one is configured) and reads the specs and statuses that \
            the next pass would see, then prints the operations it would run, what it would \
            hold back and why, and the problems it found. Like `git fetch`, only the \
            remote-tracking branch moves: the local branch, the work tree and the status files \
            stay as they are; nothing is committed or pushed. An unreachable remote is an \
            error (exit 2), not a stale plan.

            Examples:
              indexops plan
              indexops plan -o json | jq '.operations[] | .document'
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var sharding: ShardOptions

    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.")
    var output: OutputFormat = .table

    func run() async throws {
        let config = try sharding.apply(to: ConfigLoader.applyingStatusBranch(ConfigLoader.load(global.config), flag: global.statusBranch))
        let reconciler = try Controller.reconciler(
            repo: global.repo, config: config, configured: global.config != nil, logger: global.logger(default: .warning))
        let report = try await reconciler.pass(PassOptions(dryRun: true))
        try Report.print(report, as: output, dryRun: true)
    }
}
