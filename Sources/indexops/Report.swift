import Foundation
import IndexOpsController
import IndexOpsCore

/// How `reconcile` and `plan` print a pass.
enum Report {
    static func print(_ report: PassReport, as format: OutputFormat, dryRun: Bool) throws {
        switch format {
        case .json:
            Output.document(json(report, dryRun: dryRun).canonicalText)
        case .table:
            for line in table(report, dryRun: dryRun) { Output.line(line) }
        }
    }

    static func table(_ report: PassReport, dryRun: Bool) -> [String] {
        var lines: [String] = []
        for diagnostic in report.diagnostics { lines.append(diagnostic.description) }
        if report.idle {
            lines.append("nothing to do: the specs, statuses and configuration are as the last pass left them")
        } else if report.plan.operations.isEmpty {
            lines.append("nothing to do: every index is as declared")
        } else {
            let outcomes = Dictionary(report.outcomes.map { ($0.operation.key, $0.outcome) }, uniquingKeysWith: { a, _ in a })
            var rows = [["INDEX", "ACTION", "REASON", dryRun ? "" : "RESULT"]]
            for op in report.plan.operations {
                var result = ""
                switch outcomes[op.key] {
                case .succeeded?: result = op.action == .create ? "present" : "deleted"
                case .failed(let failure)?: result = "failed: " + (failure.message.split(separator: "\n").first.map(String.init) ?? "")
                case nil: result = dryRun ? "" : "not run"
                }
                rows.append([op.key.description, op.action.rawValue, op.reason.rawValue, result])
            }
            lines += Table.render(rows)
        }
        for (key, reason) in report.plan.held.sorted(by: { $0.key < $1.key }) where reason != ReconcilePlan.brakeHold {
            lines.append("held: \(key): \(reason)")
        }
        if let brake = report.plan.brake { lines.append(brake.description) }
        if !dryRun, !report.idle {
            var summary = "\(report.outcomes.count) operation\(report.outcomes.count == 1 ? "" : "s"), \(report.commits.count) commit\(report.commits.count == 1 ? "" : "s")"
            if report.pushed { summary += ", pushed" }
            lines.append(summary)
        }
        if !report.failedIndexes.isEmpty {
            lines.append("failed indexes: " + report.failedIndexes.map(\.description).joined(separator: ", "))
        }
        if let error = report.pushError {
            lines.append("not pushed: \(error); the commits stay in the clone and the next pass pushes them")
        }
        return lines
    }

    static func json(_ report: PassReport, dryRun: Bool) -> JSONValue {
        let outcomes = Dictionary(report.outcomes.map { ($0.operation.key, $0.outcome) }, uniquingKeysWith: { a, _ in a })
        let operations: [JSONValue] = report.plan.operations.map { op in
            var object: [String: JSONValue] = [
                "document": .string(op.key.documentId), "indexType": .string(op.key.indexType),
                "action": .string(op.action.rawValue), "reason": .string(op.reason.rawValue), "revision": .string(op.revision),
            ]
            switch outcomes[op.key] {
            case .succeeded?: object["result"] = .string("succeeded")
            case .failed(let failure)?: object["result"] = .string("failed"); object["error"] = .string(failure.message)
            case nil: break
            }
            return .object(object)
        }
        return .object([
            "dryRun": .bool(dryRun),
            "idle": .bool(report.idle),
            "specCommit": report.specCommit.map { .string($0.hex) } ?? .null,
            "operations": .array(operations),
            "held": .array(report.plan.held.sorted(by: { $0.key < $1.key }).map {
                .object(["index": .string($0.key.description), "reason": .string($0.value)])
            }),
            "massDeleteBrake": report.plan.brake.map { .string($0.description) } ?? .null,
            "diagnostics": .array(report.diagnostics.map { .string($0.description) }),
            "commits": .array(report.commits.map { .string($0.hex) }),
            "pushed": .bool(report.pushed),
            "pushError": report.pushError.map(JSONValue.string) ?? .null,
            "failedIndexes": .array(report.failedIndexes.map { .string($0.description) }),
            "steps": .array(report.steps.map { step in
                .object(["step": .string(step.step), "seconds": .double(Double(step.duration.components.seconds) + Double(step.duration.components.attoseconds) / 1e18)])
            }),
            "work": .object([
                "fullRead": .bool(report.work.fullRead), "changedPaths": .int(Int64(report.work.changedPaths)),
                "specFilesParsed": .int(Int64(report.work.specFilesParsed)), "statusFilesRead": .int(Int64(report.work.statusFilesRead)),
                "documentsPlanned": .int(Int64(report.work.documentsPlanned)), "sourcesRead": .int(Int64(report.work.sourcesRead)),
                "statusFilesWritten": .int(Int64(report.work.statusFilesWritten)),
                "filesPublished": .int(Int64(report.work.filesPublished)), "publishes": .int(Int64(report.work.publishes)),
                "blobsRead": .int(Int64(report.work.blobsRead)),
                "treesRead": .int(Int64(report.work.treesRead)),
            ]),
        ])
    }
}

extension PassReport {
    /// Failed indexes, invalid specs, deletions held or a failed push: what makes `reconcile` exit 1.
    var hasProblems: Bool {
        !failedIndexes.isEmpty || plan.brake != nil || diagnostics.contains { $0.severity == .error } || pushError != nil
    }
}

/// Plain text tables with aligned columns.
enum Table {
    /// The rows as lines; each cell on one line (``DisplayText/line(_:)``), so that a
    /// newline in a value cannot break the table or forge a line.
    static func render(_ rows: [[String]]) -> [String] {
        let rows = rows.map { $0.map(DisplayText.line) }
        guard let width = rows.first?.count else { return [] }
        let widths = (0..<width).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == width - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
