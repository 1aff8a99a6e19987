import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore

/// Who asks for a change: the author of the commit.
struct UserOption: ParsableArguments {
    @Option(help: ArgumentHelp("Who asks: \"Name <email>\" or an email. Default: git's user.name and user.email.", valueName: "user"))
    var user: String?

    func resolve(_ service: IndexService) async throws -> String {
        if let user { return user }
        guard let user = try await service.defaultUser() else {
            throw IndexOpsError("no --user given and git has no user.name or user.email; pass --user \"Name <email>\"")
        }
        return user
    }
}

/// `--push-branch`, for the commands that edit a spec: a pull request instead of a push to
/// the spec branch.
struct PushBranchOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Commit the change to this new branch and push it for a pull request, instead of pushing to the spec branch (a protected one).",
        valueName: "branch"))
    var pushBranch: String?

    /// Makes `service` propose its change on `--push-branch`, when given.
    func propose(_ service: IndexService) async throws {
        try await service.proposeChanges(on: pushBranch)
    }

    /// The line that tells where the change went, when it went to `--push-branch`.
    func proposed() {
        if let pushBranch { Output.line("pushed the change to the branch \(pushBranch); open a pull request to merge it") }
    }
}

/// Index types given as `--types a,b`.
struct TypesOption: ParsableArguments {
    @Option(help: ArgumentHelp("Index types, comma-separated. Default: every configured type.", valueName: "types"))
    var types: String?

    var list: [String]? {
        types.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }
}

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Declare a document's indexes: writes specs/<id>.yaml and commits it.",
        discussion: """
            The spec goes to specs/<id>.yaml, or specs/<collection>/<id>.yaml with --collection; \
            the commit's author is --user. With a remote configured, it is pushed. The next \
            reconcile pass builds the indexes.

            Examples:
              indexops create doc123 --source docs/doc123.md
              indexops create doc124 --types fulltext --collection handbook --user "Ana <ana@example.com>"
              indexops create report7 --source s3://bucket/report7.pdf --revision v3
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var user: UserOption
    @OptionGroup var proposal: PushBranchOption
    @OptionGroup var types: TypesOption
    @Argument(help: "The document id: lower-case letters, digits, '.', '_' and '-'.") var document: String
    @Option(help: "A grouping for the document.") var collection: String?
    @Option(help: ArgumentHelp("A file in the repository, or a URI. Default: docs/<id>.md.", valueName: "path-or-uri")) var source: String?
    @Option(help: "For a URI source: its revision, which changes when the document does.") var revision: String?

    func run() async throws {
        let service = try Controller.service(repo: global.repo, configFile: global.config, statusBranch: global.statusBranch)
        try await proposal.propose(service)
        let path = try await service.createDocumentIndexes(
            documentId: document, user: user.resolve(service), indexTypes: types.list, collection: collection,
            source: source, revision: revision)
        Output.line("declared \(document) in \(path); the next reconcile pass creates its indexes")
        proposal.proposed()
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Declare a document's indexes absent; the reconciler deletes them. The spec stays.",
        discussion: """
            Edits only the document's lines in whatever spec file declares it, and commits. To \
            remove the document altogether, use cleanup.

            Examples:
              indexops delete doc123                 every index of doc123
              indexops delete doc123 --types vector  only its vector index
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var user: UserOption
    @OptionGroup var proposal: PushBranchOption
    @OptionGroup var types: TypesOption
    @Argument(help: "The document id.") var document: String

    func run() async throws {
        let service = try Controller.service(repo: global.repo, configFile: global.config, statusBranch: global.statusBranch)
        try await proposal.propose(service)
        try await service.deleteDocumentIndexes(documentId: document, indexTypes: types.list, user: user.resolve(service))
        Output.line("declared \(types.list?.joined(separator: ", ") ?? "every index") of \(document) absent; the next reconcile pass deletes them")
        proposal.proposed()
    }
}

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retry a document's failed indexes now, whatever their backoff says.",
        discussion: """
            Sets the annotation indexops/retry-requested-at to the current time in the document's \
            spec and commits; the next pass retries its failed indexes once, with a fresh count.

            A document whose spec is gone but whose indexes could not be deleted has no spec to \
            annotate: it is declared again in specs/<id>.yaml with those indexes absent and the \
            annotation, so the next pass retries the deletes at once. Remove that spec with \
            cleanup once they are gone.

            Example:
              indexops retry doc123
            """
    )

    @OptionGroup var request: AnnotationRequest

    func run() async throws {
        var written: String?
        try await request.run { written = try await $0.retryFailedIndexes(documentId: $1, user: $2) }
        if let written {
            Output.line("\(request.document) has no spec: declared its failed indexes absent in \(written) with a retry annotation; "
                + "the next reconcile pass deletes them, then `indexops cleanup \(request.document)` removes the spec")
        } else {
            Output.line("asked for a retry of \(request.document)'s failed indexes")
        }
    }
}

struct Recreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild every index of a document.",
        discussion: """
            Sets the annotation indexops/recreate-requested-at to the current time and commits; \
            the next pass rebuilds each of the document's present indexes once.

            Example:
              indexops recreate doc123
            """
    )

    @OptionGroup var request: AnnotationRequest

    func run() async throws {
        try await request.run { try await $0.forceRecreateIndexes(documentId: $1, user: $2) }
        Output.line("asked for \(request.document)'s indexes to be rebuilt")
    }
}

/// What retry and recreate take: a document and who asks.
struct AnnotationRequest: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    @OptionGroup var user: UserOption
    @OptionGroup var proposal: PushBranchOption
    @Argument(help: "The document id.") var document: String

    func run(_ call: (IndexService, String, String) async throws -> Void) async throws {
        let service = try Controller.service(repo: global.repo, configFile: global.config, statusBranch: global.statusBranch)
        try await proposal.propose(service)
        try await call(service, document, try await user.resolve(service))
        proposal.proposed()
    }
}

struct Cleanup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a document's spec; the reconciler deletes its indexes and status.",
        discussion: """
            Removes the document from its spec file (the file when it is the only document in \
            it), keeping every other line as it is, and commits.

            Example:
              indexops cleanup doc123
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var user: UserOption
    @OptionGroup var proposal: PushBranchOption
    @Argument(help: "The document id.") var document: String

    func run() async throws {
        let service = try Controller.service(repo: global.repo, configFile: global.config, statusBranch: global.statusBranch)
        try await proposal.propose(service)
        try await service.cleanupDocumentIndexes(documentId: document, user: user.resolve(service))
        Output.line("removed \(document)'s spec; the next reconcile pass deletes its indexes and status")
        proposal.proposed()
    }
}

struct MigrateStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-status",
        abstract: "Copy the status files to a status branch of their own, or back to the spec branch.",
        discussion: """
            Copies the current status files (from the configured status branch, or the spec \
            branch when none is configured) to the branch named, in one commit by the status \
            author that names the spec commit, and pushes it. The old files stay where they are \
            for people to delete (through a pull request). Then set repository.statusBranch (or \
            remove it) and restart indexops.

            Examples:
              indexops migrate-status --config indexops.yaml --to-branch indexops/status
              indexops migrate-status --config indexops.yaml --status-branch indexops/status --to-spec-branch
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Copy the status files to this branch.", valueName: "branch")) var toBranch: String?
    @Flag(help: "Copy the status files back to the spec branch.") var toSpecBranch = false

    func validate() throws {
        guard (toBranch != nil) != toSpecBranch else { throw ValidationError("give one of --to-branch NAME and --to-spec-branch") }
    }

    func run() async throws {
        let service = try Controller.service(repo: global.repo, configFile: global.config, statusBranch: global.statusBranch)
        let done = try await service.migrateStatuses(to: toBranch)
        if let commit = done.commit {
            Output.line("copied \(done.files) status file(s) from \(done.from) to \(done.branch) in \(commit.prefix(7))")
        } else {
            Output.line("\(done.branch) holds the \(done.files) status file(s) of \(done.from) already")
        }
        let setting = toBranch.map { "repository.statusBranch: \($0)" } ?? "no repository.statusBranch"
        Output.line("now run indexops with \(setting); the old status files on \(done.from) stay for people to delete")
    }
}
