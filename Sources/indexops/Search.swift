import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore

/// `indexops search`: a query over the built-in indexes.
struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the built-in indexes (sqlite-fts, sqlite-vector, postgres-fts, postgres-vector).",
        discussion: """
            fulltext ranks chunks by BM25; vector ranks them by the cosine of feature-hashed \
            term vectors, which is lexical (it needs no model, and finds shared words, not \
            shared meaning). Real embeddings come through an exec indexer.

            Examples:
              indexops search "retrieval augmented generation"
              indexops search oncall --type vector --collection handbook --limit 3
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The words to look for.")
    var query: String

    @Option(help: "The index type to search (default: fulltext).")
    var type: String?

    @Option(help: "Only documents of this collection.")
    var collection: String?

    @Option(help: "The most results to show.")
    var limit = 10

    @Option(name: [.customShort("o"), .long], help: "Output format: table or json.")
    var output: OutputFormat = .table

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
    }

    func run() async throws {
        let (type, hits) = try await Controller.search(
            query, type: type, collection: collection, limit: limit, repo: global.repo, configFile: global.config)
        switch output {
        case .json:
            Output.document(JSONValue.object([
                "indexType": .string(type),
                "query": .string(query),
                "hits": .array(hits.map { hit in
                    .object([
                        "document": .string(hit.documentId), "collection": hit.collection.map(JSONValue.string) ?? .null,
                        "score": .double(hit.score), "text": .string(hit.text),
                    ])
                }),
            ]).canonicalText)
        case .table:
            guard !hits.isEmpty else {
                Terminal.note("no results in \(type)")
                return
            }
            var rows = [["SCORE", "DOCUMENT", "COLLECTION", "TEXT"]]
            for hit in hits {
                let text = hit.text.split(whereSeparator: \.isNewline).joined(separator: " ")
                rows.append([String(format: "%.3f", hit.score), hit.documentId, hit.collection ?? "-",
                             text.count > 80 ? String(text.prefix(79)) + "…" : text])
            }
            for line in Table.render(rows) { Output.line(line) }
        }
    }
}
