import ArgumentParser
import Foundation
import IndexOpsController
import IndexOpsCore

/// The flags that choose this replica's shard (`reconcile`, `plan`, `run`): see
/// ``Shard/resolve(shard:shards:fromHostname:configured:hostname:)`` for the rules.
struct ShardOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Own only shard I of N: the documents whose id hashes to I (INDEXOPS_SHARD, shard: in the configuration). Default 0/1.",
        valueName: "I/N"))
    var shard: String?

    @Option(help: ArgumentHelp("The number of shards, for --shard-from-hostname (INDEXOPS_SHARDS).", valueName: "N"))
    var shards: String?

    @Flag(help: "Take I from the host name's ordinal, as a StatefulSet names its pods (indexops-3 owns shard 3); N from --shards.")
    var shardFromHostname = false

    /// `config` with the shard these flags, the environment and the file choose.
    ///
    /// - Throws: ``IndexOpsError`` naming the flag, variable or setting that is wrong.
    func apply(to config: ControllerConfig, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ControllerConfig {
        func pick(_ flag: String?, _ name: String, _ variable: String) -> (text: String, origin: String)? {
            if let flag { return (flag, "--\(name)") }
            if let value = environment[variable], !value.isEmpty { return (value, variable) }
            return nil
        }
        let fromHostname = shardFromHostname || ["1", "true", "yes"].contains(environment["INDEXOPS_SHARD_FROM_HOSTNAME"]?.lowercased() ?? "")
        var config = config
        do {
            config.shard = try Shard.resolve(
                shard: pick(shard, "shard", "INDEXOPS_SHARD"), shards: pick(shards, "shards", "INDEXOPS_SHARDS"),
                fromHostname: fromHostname, configured: config.shard, hostname: { ReplicaIdentity.hostname(environment: environment) })
        } catch {
            throw IndexOpsError(error.message)
        }
        return config
    }
}
