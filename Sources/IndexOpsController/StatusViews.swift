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
            "indexes": counts(StatusSummary(members).counts),
        ])
    }

    /// The whole system: documents, indexes per state and per index type, and every failed
    /// index with its error.
    public static func system(_ summary: StatusSummary) -> JSONValue {
        let failed: [JSONValue] = summary.failed.map { item in
            .object([
                "documentId": .string(item.documentId),
                "indexType": .string(item.indexType),
                "desiredState": .string(item.entry.desiredState.rawValue),
                "errorMessage": item.entry.errorMessage.map(JSONValue.string) ?? .null,
                "retryCount": .int(Int64(item.entry.retryCount)),
                "nextRetryAt": item.entry.nextRetryAt.map { .string($0.text) } ?? .null,
                "updatedAt": .string(item.entry.updatedAt.text),
            ])
        }
        var members: [String: JSONValue] = [
            "documents": .int(Int64(summary.documents)),
            "collections": .array(summary.collections.map(JSONValue.string)),
            "indexes": counts(summary.counts),
            "failed": .array(failed),
        ]
        if !summary.shards.isEmpty {
            members["shards"] = .array(summary.shards.map { progress in
                .object([
                    "shard": .string(progress.shard.description),
                    "documents": .int(Int64(progress.documents)),
                    "byState": .object(Dictionary(uniqueKeysWithValues: ActualState.allCases.map {
                        ($0.rawValue, JSONValue.int(Int64(progress.counts[$0] ?? 0)))
                    })),
                    "replicas": .array(progress.replicas.map(JSONValue.string)),
                ])
            })
        }
        return .object(members)
    }

    /// The whole system of a set of statuses.
    public static func system(_ statuses: [DocumentStatus]) -> JSONValue {
        system(StatusSummary(statuses))
    }

    /// `{"total": n, "byState": {state: n}, "byType": {type: {state: n}}}`, every state listed.
    static func counts(_ counts: [String: [ActualState: Int]]) -> JSONValue {
        var byState = Dictionary(uniqueKeysWithValues: ActualState.allCases.map { ($0.rawValue, 0) })
        var byType: [String: [String: Int]] = [:]
        var total = 0
        for (type, states) in counts {
            for (state, n) in states {
                total += n
                byState[state.rawValue, default: 0] += n
                byType[type, default: Dictionary(uniqueKeysWithValues: ActualState.allCases.map { ($0.rawValue, 0) })][state.rawValue, default: 0] += n
            }
        }
        return .object([
            "total": .int(Int64(total)),
            "byState": .object(byState.mapValues { .int(Int64($0)) }),
            "byType": .object(byType.mapValues { .object($0.mapValues { .int(Int64($0)) }) }),
        ])
    }
}
