import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the state of a document's indexes, of a collection, or of the system.",
        discussion: """
            Reads the status files of the branch head (after a fetch, when a remote is configured).

            Examples:
              indexops status                        counts per state and per index type, failures
              indexops status doc123                 one document, index by index
              indexops status --collection handbook  every document of a collection
              indexops status doc123 -o json         the status file itself
              indexops status --watch                redraw the counts every 2s until Ctrl-C
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A document id. Without it: the whole system, or --collection.") var document: String?
    @Option(help: "Show every document of this collection.") var collection: String?
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table
    @Flag(help: "Redraw the status every --interval until interrupted (Ctrl-C).") var watch = false
    @Option(help: ArgumentHelp("The time between two frames of --watch.", valueName: "duration")) var interval = "2s"

    func validate() throws {
        if document != nil, collection != nil { throw ValidationError("give a document or --collection, not both") }
        guard DurationText.parse(interval).map({ $0 > .zero }) == true else {
            throw ValidationError("--interval must be a duration like 500ms, 2s or 1m")
        }
    }

    func run() async throws {
        let service = try Controller.service(repo: global.repo, configFile: global.config, statusBranch: global.statusBranch)
        guard watch else { return try await show(service) }
        let title = (["indexops status"] + (document.map { [$0] } ?? []) + (collection.map { ["--collection", $0] } ?? [])).joined(separator: " ")
        await Watch.loop(title: title, every: DurationText.parse(interval) ?? .seconds(2)) { try await show(service) }
    }

    private func show(_ service: IndexService) async throws {
        if let document {
            guard let status = try await service.documentIndexStatus(documentId: document) else {
                if let declared = try await service.declaration(of: document) {
                    Output.line("\(document) is declared in \(declared.file):\(declared.line) and not reconciled yet")
                    return
                }
                throw IndexOpsError("unknown document \(document): it has no spec and no status")
            }
            switch output {
            case .json: Output.document(StatusViews.document(status).canonicalText)
            case .table:
                Output.line("document:   \(status.documentId)")
                Output.line("collection: \(status.collection ?? "-")")
                Output.line("spec:       \(status.specFile ?? "-")")
                Output.line("")
                for line in Table.render(StatusTables.header + StatusTables.rows(status, withDocument: false)) { Output.line(line) }
            }
            return
        }
        if let collection {
            let statuses = try await service.collectionIndexStatus(collection: collection)
            switch output {
            case .json: Output.document(StatusViews.collection(collection, statuses).canonicalText)
            case .table:
                guard !statuses.isEmpty else {
                    Terminal.note("no document of collection \(collection) has a status")
                    return
                }
                let rows = statuses.flatMap { StatusTables.rows($0, withDocument: true) }
                for line in Table.render([["DOCUMENT"] + StatusTables.header[0]] + rows) { Output.line(line) }
            }
            return
        }
        let summary = try await service.systemIndexSummary()
        let view = StatusViews.system(summary)
        switch output {
        case .json: Output.document(view.canonicalText)
        case .table:
            let states = ActualState.allCases.map(\.rawValue)
            Output.line("\(summary.documents) document\(summary.documents == 1 ? "" : "s"), \(view["indexes"]?["total"]?.intValue ?? 0) indexes")
            Output.line("")
            var rows = [["INDEX TYPE"] + states.map { $0.uppercased() }]
            if case .object(let byType)? = view["indexes"]?["byType"] {
                for type in byType.keys.sorted() {
                    rows.append([type] + states.map { String(byType[type]?[$0]?.intValue ?? 0) })
                }
            }
            rows.append(["all"] + states.map { String(view["indexes"]?["byState"]?[$0]?.intValue ?? 0) })
            for line in Table.render(rows) { Output.line(line) }
            if !summary.shards.isEmpty {
                Output.line("")
                var shardRows = [["SHARD", "DOCUMENTS"] + states.map { $0.uppercased() } + ["REPLICAS"]]
                for progress in summary.shards {
                    shardRows.append([progress.shard.description, String(progress.documents)]
                        + ActualState.allCases.map { String(progress.counts[$0] ?? 0) }
                        + [progress.replicas.isEmpty ? "-" : progress.replicas.joined(separator: ",")])
                }
                for line in Table.render(shardRows) { Output.line(line) }
            }
            if case .array(let failed)? = view["failed"], !failed.isEmpty {
                Output.line("")
                Output.line("failed:")
                for item in failed {
                    let id = item["documentId"]?.stringValue ?? ""
                    let type = item["indexType"]?.stringValue ?? ""
                    Output.line("  \(id)/\(type): \(item["errorMessage"]?.stringValue ?? "") (retries: \(item["retryCount"]?.intValue ?? 0))")
                }
            }
        }
    }
}

/// The rows of a document's indexes.
enum StatusTables {
    static let header = [["INDEX", "STATE", "DESIRED", "RETRIES", "UPDATED", "ERROR"]]

    static func rows(_ status: DocumentStatus, withDocument: Bool) -> [[String]] {
        status.indexes.keys.sorted().map { type in
            let entry = status.indexes[type]!
            let error = entry.errorMessage.map { $0.split(separator: "\n").first.map(String.init) ?? "" } ?? ""
            let row = [type, entry.actualState.rawValue, entry.desiredState.rawValue, String(entry.retryCount), entry.updatedAt.text,
                       error.count > 60 ? String(error.prefix(59)) + "…" : error]
            return withDocument ? [status.documentId] + row : row
        }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a document's indexes changed over time, from git.",
        discussion: """
            Walks the history of the document's status file: when, which commit, who, from which \
            state to which, and a note: the error of a failure, or where an import took the \
            state from. Newest first. With a status branch, the commits of the spec branch that \
            changed the document's spec file are shown among them (index "(spec)").

            Examples:
              indexops history doc123
              indexops history doc123 -o json
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The document id.") var document: String
    @Option(help: "At most this many commits.") var limit = 200
    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.") var output: OutputFormat = .table

    func run() async throws {
        let service = try Controller.service(repo: global.repo, configFile: global.config, statusBranch: global.statusBranch)
        let items = try await service.history(documentId: document, limit: limit)
        if items.isEmpty, try await service.declaration(of: document) == nil {
            throw IndexOpsError("unknown document \(document): it has no spec and no status history")
        }
        let formatter = ISO8601DateFormatter()
        switch output {
        case .json:
            Output.document(JSONValue.array(items.map { item in
                var fields: [String: JSONValue] = [
                    "time": .string(formatter.string(from: item.time)), "commit": .string(item.commit), "author": .string(item.author),
                    "indexType": .string(item.indexType), "from": .string(item.from), "to": .string(item.to),
                    "errorMessage": item.errorMessage.map(JSONValue.string) ?? .null,
                    "reason": item.reason.map(JSONValue.string) ?? .null,
                ]
                if let summary = item.summary { fields["summary"] = .string(summary) }
                return JSONValue.object(fields)
            }).canonicalText)
        case .table:
            var rows = [["WHEN", "COMMIT", "WHO", "INDEX", "CHANGE", "NOTE"]]
            for item in items {
                let change = item.indexType == HistoryItem.specChange ? "\(item.from) \(item.to)" : "\(item.from) -> \(item.to)"
                rows.append([formatter.string(from: item.time), String(item.commit.prefix(7)), item.author, item.indexType,
                             change, [item.reason, item.errorMessage ?? item.summary].compactMap { $0 }.joined(separator: ": ")])
            }
            for line in Table.render(rows) { Output.line(line) }
        }
    }
}
