import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore
import PostgresAccess
import Synchronization

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Adopt a table-based index system's specs and statuses, in one commit, without rebuilding anything.",
        discussion: """
            Reads the document_index_specs and document_index_statuses tables, or the \
            document_index table with document (--layout auto finds which), and writes \
            specs/<collection or _>/<id>.yaml and the status files the controller would have \
            written, in one commit by --user (pushed when a remote is configured). The first \
            reconcile pass afterwards builds nothing that was built: it creates what was \
            pending, runs again what was interrupted, deletes what was declared absent or \
            soft-deleted, and retries failed indexes when their backoff is over.

            Run it with the controller's --config: a built index's recorded revision depends on \
            its index type's settings. The password comes from PGPASSWORD or --password-file, \
            never from the URL. Importing again changes nothing; a document a person declared \
            is reported and left as it is (exit 1). A row that cannot be imported stops the \
            import before anything is written (exit 2).

            Examples:
              PGPASSWORD=… indexops import postgresql://indexer@db:5432/rag --user "Ana <ana@example.com>" --dry-run
              indexops import postgresql://indexer@db:5432/rag --password-file /run/secrets/pg \\
                  --source-template 's3://docs/{collection}/{object_path}' --config indexops.yaml
              indexops import --from rows.jsonl --type-map VECTOR=vector,FULLTEXT=fulltext,GRAPH=graph
              psql "$DB" -Atc "$(indexops import --print-query single-table)" > rows.jsonl
            """
    )

    enum LayoutChoice: String, ExpressibleByArgument, CaseIterable {
        case auto
        case specStatus = "spec-status"
        case singleTable = "single-table"
    }

    @OptionGroup var global: GlobalOptions
    @OptionGroup var user: UserOption
    @Argument(help: ArgumentHelp("The database: postgresql://USER@HOST:PORT/DATABASE, without a password.", valueName: "url"))
    var database: String?
    @Option(help: ArgumentHelp("Read the rows from a dump (one JSON object a line) instead of a database.", valueName: "file.jsonl"))
    var from: String?
    @Option(help: ArgumentHelp("Which tables: auto, spec-status or single-table.", valueName: "layout"))
    var layout: LayoutChoice = .auto
    @Option(help: ArgumentHelp(
        "Each document's source URI, with {document_id}, {collection}, {object_path} and {name}. Default: {object_path} (single-table).",
        valueName: "template"))
    var sourceTemplate: String?
    @Option(help: ArgumentHelp("Old index type names and the configured types they become.", valueName: "OLD=new,…"))
    var typeMap = "VECTOR=vector,FULLTEXT=fulltext,GRAPH=graph"
    @Option(help: ArgumentHelp("A file holding the database password (else PGPASSWORD).", valueName: "file"))
    var passwordFile: String?
    @Option(help: ArgumentHelp("TLS to the database: disable, prefer or require.", valueName: "mode"))
    var tls = "prefer"
    @Flag(help: "Print the counts and the first files that would be written; write nothing.")
    var dryRun = false
    @Option(help: ArgumentHelp("Print the query a layout's rows are read with (for a --from dump), and exit.", valueName: "layout"))
    var printQuery: LayoutChoice?

    func validate() throws {
        if printQuery != nil { return }
        guard (database == nil) != (from == nil) else {
            throw ValidationError("give either a database URL or --from FILE.jsonl")
        }
        guard PostgresConnectionSettings.TLSMode(rawValue: tls) != nil else { throw ValidationError("--tls must be disable, prefer or require") }
    }

    func run() async throws {
        if let printQuery {
            guard let layout = Self.layout(printQuery) else { throw IndexOpsError("--print-query needs spec-status or single-table") }
            Output.line(ImportTables.query(layout))
            return
        }
        do {
            try await importRows()
        } catch let error as ImportError {
            throw IndexOpsError(error.message)
        } catch let error as PostgresSettingsError {
            throw IndexOpsError("the database URL: \(error.message)")
        } catch let error as PostgresAccessError {
            throw IndexOpsError(error.message)
        }
    }

    private static func layout(_ choice: LayoutChoice) -> ImportLayout? {
        switch choice {
        case .auto: nil
        case .specStatus: .specStatus
        case .singleTable: .singleTable
        }
    }

    private func importRows() async throws {
        let logger = global.logger(default: .warning)
        let importer = try Controller.importer(repo: global.repo, configFile: global.config, logger: logger)
        let config = importer.config
        guard let author = try user.user ?? importer.defaultUser() else {
            throw IndexOpsError("no --user given and git has no user.name or user.email; pass --user \"Name <email>\"")
        }
        let settings = ImportSettings(
            typeMap: try ImportSettings.typeMap(parsing: typeMap), sourceTemplate: sourceTemplate, user: author,
            revisionFingerprints: config.revisionFingerprints, planner: PlannerSettings(config),
            specsDir: config.repository.specsDir, statusDir: config.repository.statusDir,
            now: Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970), redactor: Output.redactor)
        let progressLine = ProgressLine.onTerminal()
        defer { progressLine?.finish() }
        let report: ImportReport
        let source: String
        if let from {
            source = from
            guard let handle = FileHandle(forReadingAtPath: from) else { throw IndexOpsError("cannot read \(from)") }
            defer { try? handle.close() }
            let name = (from as NSString).lastPathComponent
            var progress: (@Sendable (Int) -> Void)?
            if let progressLine {
                progress = { rows in progressLine.show("[ \(ProgressLine.grouped(rows)) rows ] \(name)", final: false) }
            }
            report = try await importer.run(
                settings: settings, layout: Self.layout(layout), source: source, author: author, dryRun: dryRun, progress: progress
            ) { (take: @escaping @Sendable (String, String) throws -> Void) in
                try LineReader(handle).forEach { number, line in
                    if !line.allSatisfy(\.isWhitespace) { try take(line, "\(name):\(number)") }
                }
            }
        } else {
            let connection = try PostgresConnectionSettings(
                url: database!, passwordFile: passwordFile, tls: PostgresConnectionSettings.TLSMode(rawValue: tls)!, maxConnections: 1)
            source = connection.url
            let pool = PostgresPool(settings: connection)
            do {
                let chosen: ImportLayout
                if let given = Self.layout(layout) { chosen = given } else { chosen = try await ImportTables.layout(in: pool) }
                let total = progressLine == nil ? 0 : try await ImportTables.count(of: chosen, in: pool)
                var progress: (@Sendable (Int) -> Void)?
                if let progressLine {
                    progress = { rows in
                        progressLine.show("[ \(ProgressLine.grouped(rows))/\(ProgressLine.grouped(total)) rows ] \(chosen.rawValue)", final: false)
                    }
                }
                report = try await importer.run(
                    settings: settings, layout: chosen, source: source, author: author, dryRun: dryRun, progress: progress
                ) { (take: @escaping @Sendable (String, String) throws -> Void) in
                    let counter = RowCounter()
                    try await ImportTables.rows(of: chosen, in: pool) { text in try take(text, "\(chosen.rawValue) row \(counter.next())") }
                }
            } catch {
                await pool.shutdown()
                throw error
            }
            await pool.shutdown()
        }
        progressLine?.finish()
        print(report, source: source)
        if !report.conflicts.isEmpty { throw ExitCode(1) }
    }

    private func print(_ report: ImportReport, source: String) {
        let documents = "\(report.documents) document\(report.documents == 1 ? "" : "s") (\(report.rows) rows)"
        if dryRun {
            Output.line("would import \(report.written) of \(documents) from \(source); \(report.unchanged) already imported, \(report.conflicts.count) declared by hand")
        } else if let commit = report.commit {
            Output.line("imported \(report.written) of \(documents) from \(source) in commit \(commit.prefix(7))\(report.pushed ? ", pushed" : ""); \(report.unchanged) already imported, \(report.conflicts.count) declared by hand")
        } else {
            Output.line("nothing to import: \(report.unchanged) of \(documents) already imported, \(report.conflicts.count) declared by hand")
        }
        for line in report.countLines { Output.line("  " + line) }
        if dryRun { for line in report.differences { Output.line(line) } }
        for line in report.conflicts { Output.line(line) }
    }
}

/// Numbers the rows read from the database, for messages.
private final class RowCounter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}

/// The lines of a file, read a megabyte at a time.
private struct LineReader {
    let handle: FileHandle
    init(_ handle: FileHandle) { self.handle = handle }

    /// Calls `body` with each line's 1-based number and text (without its newline).
    func forEach(_ body: (Int, String) throws -> Void) throws {
        var pending = Data()
        var number = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            pending.append(chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                number += 1
                try body(number, String(decoding: pending[start..<newline], as: UTF8.self))
                start = pending.index(after: newline)
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try body(number + 1, String(decoding: pending, as: UTF8.self)) }
    }
}
