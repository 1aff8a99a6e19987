import ArgumentParser

/// The root command: the subcommands and the help that teaches them.
struct Indexops: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indexops",
        abstract: "Keep the document indexes of a retrieval system in the state a git repository declares.",
        discussion: """
            People edit YAML spec files under specs/ and push; indexops reads them, compares them \
            with the status files it keeps under status/, builds or deletes indexes, and commits the \
            new statuses back, so that `git log` is the audit trail.

            Examples:
              indexops validate                      check the specs here
              indexops validate --repo ~/index-specs check another repository
              indexops validate specs/doc123.yaml    check one file
              indexops validate -o json              the same, for tools

            Exit status: 0 ok; 1 problems found; 2 usage or environment error.
            """,
        version: "0.1.0",
        subcommands: [Validate.self]
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
}

/// How reading commands print.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}
