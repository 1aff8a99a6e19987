import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a repository for indexops: specs/, a sample spec and document, and a sample configuration.",
        discussion: """
            Makes --repo a git repository when it is not one, writes specs/example.yaml and \
            docs/example.md and commits them. With --config FILE, also writes a sample controller \
            configuration there (keep it outside the watched repository: it decides what runs). \
            Files that exist are left alone.

            Examples:
              indexops init --repo index-specs
              indexops init --config /etc/indexops/indexops.yaml
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var user: UserOption

    func run() async throws {
        let written = try Scaffold.create(repo: global.repo, config: global.config, user: user.user)
        for path in written { Output.line("wrote \(path)") }
        if written.isEmpty { Output.line("nothing to do: the files exist") }
        Output.line("next: indexops validate, then indexops reconcile --once")
    }
}
