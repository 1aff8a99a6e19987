import Foundation
import IndexOpsCore

/// Who this replica is: its host name, which names it in its intents and gives its shard with
/// `--shard-from-hostname` (a StatefulSet pod's host name is the pod's name, `indexops-3`).
public enum ReplicaIdentity {
    /// `HOSTNAME` from the environment (Kubernetes sets it to the pod's name), else the
    /// system's host name.
    public static func hostname(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let name = environment["HOSTNAME"], !name.isEmpty { return name }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "replica" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The replica's name as intents record it (``IntentOwner/replicaName(hostname:)``).
    public static func name(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        IntentOwner.replicaName(hostname: hostname(environment: environment))
    }
}
