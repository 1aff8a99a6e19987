import Foundation
import IndexOpsController
import IndexOpsCore
import Metrics
import Prometheus

/// The metrics of DESIGN.md §8, recorded through swift-metrics into a Prometheus registry and
/// served as Prometheus text at `/metrics`. Every name starts with `indexops_`.
///
/// | name | kind | labels |
/// |---|---|---|
/// | `indexops_pass_duration_seconds` | histogram | |
/// | `indexops_passes_total` | counter | `result`: idle, ok, problems, error |
/// | `indexops_indexes` | gauge | `type` (a configured type, or `_unconfigured`), `state` |
/// | `indexops_operations_total` | counter | `type`, `action`, `result`: succeeded, failed |
/// | `indexops_retries_total` | counter | |
/// | `indexops_spec_errors` | gauge | |
/// | `indexops_last_successful_pass_timestamp_seconds` | gauge | |
/// | `indexops_git_fetch_duration_seconds`, `indexops_git_push_duration_seconds` | histogram | |
/// | `indexops_git_failures_total` | counter | |
/// | `indexops_webhooks_total` | counter | `result`: accepted, unauthorized, too_large |
///
/// Every series also carries `shard` (`I/N`, `0/1` for a single replica), so that the replicas
/// of a StatefulSet are told apart on one dashboard.
final class DaemonMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// The `shard` label of every series.
    let shard: String

    /// Makes the registry and bootstraps swift-metrics with it: once per process.
    init(shard: Shard = .single) {
        let label = shard.description
        self.shard = label
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let slow: [Duration] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(900),
        ]
        factory.defaultDurationHistogramBuckets = slow
        MetricsSystem.bootstrap(factory)
        // Present from the start, so a scrape before the first pass sees them.
        Counter(label: "indexops_retries_total", dimensions: [("shard", label)]).increment(by: 0)
        Counter(label: "indexops_git_failures_total", dimensions: [("shard", label)]).increment(by: 0)
        Gauge(label: "indexops_spec_errors", dimensions: [("shard", label)]).record(0)
        for result in ["idle", "ok", "problems", "error"] { Counter(label: "indexops_passes_total", dimensions: [("shard", label), ("result", result)]).increment(by: 0) }
    }

    /// The metrics as Prometheus text.
    func text() -> String { registry.emitToString() }

    func webhook(_ result: String) {
        Counter(label: "indexops_webhooks_total", dimensions: [("shard", shard), ("result", result)]).increment()
    }

    /// Records a pass that ended.
    func record(_ report: PassReport, duration: Duration, result: String) {
        Timer(label: "indexops_pass_duration_seconds", dimensions: [("shard", shard)]).recordNanoseconds(Self.nanoseconds(duration))
        Counter(label: "indexops_passes_total", dimensions: [("shard", shard), ("result", result)]).increment()
        if let sync = report.syncDuration { Timer(label: "indexops_git_fetch_duration_seconds", dimensions: [("shard", shard)]).recordNanoseconds(Self.nanoseconds(sync)) }
        if let push = report.pushDuration { Timer(label: "indexops_git_push_duration_seconds", dimensions: [("shard", shard)]).recordNanoseconds(Self.nanoseconds(push)) }
        if report.pushError != nil { Counter(label: "indexops_git_failures_total", dimensions: [("shard", shard)]).increment() }
        for (operation, outcome) in report.outcomes {
            let ok: Bool
            if case .succeeded = outcome { ok = true } else { ok = false }
            Counter(label: "indexops_operations_total", dimensions: [
                ("shard", shard),
                ("type", operation.key.indexType), ("action", operation.action.rawValue), ("result", ok ? "succeeded" : "failed"),
            ]).increment()
            if operation.reason == .retry || operation.reason == .retryRequested { Counter(label: "indexops_retries_total", dimensions: [("shard", shard)]).increment() }
        }
        Gauge(label: "indexops_spec_errors", dimensions: [("shard", shard)]).record(report.diagnostics.filter { $0.severity == .error }.count)
        if result != "error" {
            Gauge(label: "indexops_last_successful_pass_timestamp_seconds", dimensions: [("shard", shard)]).record(Date().timeIntervalSince1970)
        }
    }

    /// Records a pass that threw.
    func recordFailure(_ error: any Error, duration: Duration, isGit: Bool) {
        Timer(label: "indexops_pass_duration_seconds", dimensions: [("shard", shard)]).recordNanoseconds(Self.nanoseconds(duration))
        Counter(label: "indexops_passes_total", dimensions: [("shard", shard), ("result", "error")]).increment()
        if isGit { Counter(label: "indexops_git_failures_total", dimensions: [("shard", shard)]).increment() }
    }

    /// The `type` label of the indexes of a type the configuration does not define (a status
    /// entry left from a removed type, or a hand edit): not a valid type name, so it never
    /// collides with one.
    static let unconfiguredType = "_unconfigured"

    /// Sets the indexes gauge from the counts: every state of every configured type, zeros
    /// included; the entries of other types are counted under ``unconfiguredType``, so that the
    /// number of series is bounded by the configuration, never by what the repository holds.
    func record(counts summary: [String: [ActualState: Int]], types: some Sequence<String>) {
        var counts: [String: [ActualState: Int]] = [:]
        for type in types { counts[type] = [:] }
        let configured = Set(counts.keys)
        for (type, byState) in summary {
            for (state, n) in byState {
                counts[configured.contains(type) ? type : Self.unconfiguredType, default: [:]][state, default: 0] += n
            }
        }
        for (type, byState) in counts {
            for state in ActualState.allCases {
                Gauge(label: "indexops_indexes", dimensions: [("shard", shard), ("type", type), ("state", state.rawValue)]).record(byState[state] ?? 0)
            }
        }
    }

    private static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}
