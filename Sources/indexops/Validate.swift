import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore

/// `indexops validate [PATH…]`: the specs checked as the controller would read them.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check spec files for errors, before a push or as a CI gate.",
        discussion: """
            Reads every *.yaml and *.yml below the spec folder of --repo (or the files and folders \
            given) and prints one problem a line, sorted, as a compiler does:

              specs/doc123.yaml:6:13: error: mapping values are not allowed in this context

            Besides each file's own errors it reports a document id declared twice (naming both \
            places), a source path missing from the repository, and, with --config, an index type \
            the configuration does not define. A summary goes to standard error.

            Examples:
              indexops validate
              indexops validate --config /etc/indexops/indexops.yaml
              indexops validate specs/team-a/ specs/doc123.yaml --snippets
              indexops validate -o json | jq '.diagnostics[] | .message'

            Exit status: 0 no errors (warnings allowed); 1 errors found; 2 usage or environment error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("o"), .long], help: "Output format: table (one problem a line) or json.")
    var output: OutputFormat = .table

    @Flag(help: "Show the source line with a caret under each problem.")
    var snippets = false

    @Argument(help: ArgumentHelp("Spec files or folders. Default: the spec folder of --repo.", valueName: "path"))
    var paths: [String] = []

    func run() async throws {
        guard FileManager.default.fileExists(atPath: global.repo + "/.") else {
            throw IndexOpsError("--repo \(global.repo) is not a folder")
        }
        let config = try ConfigLoader.load(global.config)
        let validator = SpecValidator(
            root: global.repo, config: config,
            indexTypes: global.config == nil ? nil : Set(config.indexTypes.keys))
        let report = try validator.validate(paths: paths)
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Output.document(String(decoding: try encoder.encode(report), as: UTF8.self))
        case .table:
            for diagnostic in report.diagnostics {
                Output.line(diagnostic.description)
                if snippets, !diagnostic.snippet.isEmpty {
                    for line in diagnostic.snippet.split(separator: "\n") { Output.line(String(line)) }
                }
            }
            Terminal.note(summary(report))
        }
        if report.errors > 0 { throw ExitCode(1) }
    }

    private func summary(_ report: ValidationReport) -> String {
        func count(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let read = "\(count(report.files.count, "file")), \(count(report.documents, "valid document"))"
        if report.diagnostics.isEmpty { return "\(read): no problems" }
        return "\(read): \(count(report.errors, "error")), \(count(report.warnings, "warning"))"
    }
}
