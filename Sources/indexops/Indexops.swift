import ArgumentParser
import Logging

/// The root command: the subcommands and the help that teaches them.
struct Indexops: AsyncParsableCommand {
    /// The release this source is.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "indexops",
        abstract: "Keep the document indexes of a retrieval system in the state a git repository declares.",
        discussion: """
            People edit YAML spec files under specs/ and push; indexops reads them, compares them \
            with the status files it keeps under status/, builds or deletes indexes, and commits the \
            new statuses back, so that `git log` is the audit trail.

            Examples:
              indexops init --repo index-specs       start a repository
              indexops create doc123 --source docs/doc123.md
              indexops validate                      check the specs here
              indexops plan                          what a pass would do now
              indexops reconcile --once              one pass: build and delete indexes
              indexops status                        how the indexes are
              indexops history doc123                how doc123's indexes changed
              indexops search "vector index"         query the built-in indexes
              indexops run --config indexops.yaml    run as a sidecar daemon
              indexops import postgresql://u@db/rag  adopt a table-based system's indexes

            Exit status: 0 ok; 1 problems found; 2 usage or environment error.
            """,
        version: "indexops \(Indexops.version) (commit \(BuildInfo.commit))",
        subcommands: [
            Init.self, Validate.self, Create.self, Delete.self, Status.self, Retry.self, Recreate.self, Cleanup.self,
            History.self, Plan.self, Reconcile.self, Search.self, Run.self, Import.self, MigrateStatus.self,
        ]
    )
}

/// The options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The repository folder.", valueName: "path"))
    var repo: String = "."

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The controller configuration file (indexops.yaml). Without it, the embedded defaults: index types fulltext and vector.",
            valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String?

    @Option(
        help: ArgumentHelp(
            "Commit statuses to this branch, not the spec branch (a protected one). Default: INDEXOPS_STATUS_BRANCH, else repository.statusBranch, else the spec branch.",
            valueName: "branch"))
    var statusBranch: String?

    /// A logger to standard error at `--log-level`, or `level` when it is not given: text
    /// lines, secrets redacted, control characters escaped (``Output/logger(level:)``).
    func logger(default level: Logger.Level) -> Logger {
        Output.logger(level: logLevel.flatMap(Logger.Level.init(rawValue:)) ?? level)
    }

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }
}

/// How reading commands print.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}

/// A command that takes ``GlobalOptions``: before it runs, the secrets of its `--config` are
/// loaded into ``Output``'s redactor.
protocol CommandWithGlobalOptions {
    var globalOptions: GlobalOptions { get }
}

extension Init: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Validate: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Create: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension MigrateStatus: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Delete: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Status: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Retry: CommandWithGlobalOptions { var globalOptions: GlobalOptions { request.global } }
extension Recreate: CommandWithGlobalOptions { var globalOptions: GlobalOptions { request.global } }
extension Cleanup: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension History: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Plan: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Reconcile: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Search: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Run: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
extension Import: CommandWithGlobalOptions { var globalOptions: GlobalOptions { global } }
