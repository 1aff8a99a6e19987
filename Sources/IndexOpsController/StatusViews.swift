import Foundation
import IndexOpsCore

/// The JSON shapes of `indexops status -o json` and of the HTTP status API: one document,
/// one collection, the whole system. Built from status files alone.
public enum StatusViews {
    /// One document: its status file as it is in the repository.
    public static func document(_ status: DocumentStatus) -> JSONValue {
        status.json
    }

    /// A collection: its documents' statuses, sorted by id, and the counts per state.
    public static func collection(_ name: String, _ statuses: [DocumentStatus]) -> JSONValue {
        let members = statuses.filter { $0.collection == name }.sorted { $0.documentId < $1.documentId }
        return .object([
            "collection": .string(name),
            "documents": .array(members.map(\.json)),
            "indexes": counts(members),
        ])
    }

    /// The whole system: documents, indexes per state and per index type, and every failed
    /// index with its error.
    public static func system(_ statuses: [DocumentStatus]) -> JSONValue {
        let sorted = statuses.sorted { $0.documentId < $1.documentId }
        var failed: [JSONValue] = []
        for status in sorted {
            for (type, entry) in status.indexes.sorted(by: { $0.key < $1.key }) where entry.actualState == .failed {
                failed.append(.object([
                    "documentId": .string(status.documentId),
                    "indexType": .string(type),
                    "desiredState": .string(entry.desiredState.rawValue),
                    "errorMessage": entry.errorMessage.map(JSONValue.string) ?? .null,
                    "retryCount": .int(Int64(entry.retryCount)),
                    "nextRetryAt": entry.nextRetryAt.map { .string($0.text) } ?? .null,
                    "updatedAt": .string(entry.updatedAt.text),
                ]))
            }
        }
        return .object([
            "documents": .int(Int64(sorted.count)),
            "collections": .array(Set(sorted.compactMap(\.collection)).sorted().map(JSONValue.string)),
            "indexes": counts(sorted),
            "failed": .array(failed),
        ])
    }

    /// `{"total": n, "byState": {state: n}, "byType": {type: {state: n}}}`, every state listed.
    static func counts(_ statuses: [DocumentStatus]) -> JSONValue {
        var byState = Dictionary(uniqueKeysWithValues: ActualState.allCases.map { ($0.rawValue, 0) })
        var byType: [String: [String: Int]] = [:]
        var total = 0
        for status in statuses {
            for (type, entry) in status.indexes {
                total += 1
                byState[entry.actualState.rawValue, default: 0] += 1
                byType[type, default: Dictionary(uniqueKeysWithValues: ActualState.allCases.map { ($0.rawValue, 0) })][entry.actualState.rawValue, default: 0] += 1
            }
        }
        return .object([
            "total": .int(Int64(total)),
            "byState": .object(byState.mapValues { .int(Int64($0)) }),
            "byType": .object(byType.mapValues { .object($0.mapValues { .int(Int64($0)) }) }),
        ])
    }
}
