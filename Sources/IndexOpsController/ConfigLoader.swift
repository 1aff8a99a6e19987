import Foundation
import IndexOpsCore
import YAML

/// Reads the controller's configuration file, or gives the embedded defaults.
public enum ConfigLoader {
    /// The configuration at `path`, with relative paths resolved against its folder;
    /// ``ControllerConfig/embeddedDefaults`` when `path` is `nil`.
    ///
    /// - Throws: ``IndexOpsError`` when the file cannot be read or is larger than
    ///   ``ControllerConfig/maxFileSize`` (checked before it is read), `YAMLError` when it is
    ///   not a valid configuration.
    public static func load(_ path: String?) throws -> ControllerConfig {
        guard let path else { return .embeddedDefaults }
        let url = URL(fileURLWithPath: path)
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(path, limit: ControllerConfig.maxFileSize)
        } catch .unreadable(let reason) {
            throw IndexOpsError("cannot read configuration file \(path): \(reason)")
        } catch .tooLarge(let size) {
            let limit = ControllerConfig.maxFileSize
            let what = size.map { "is \($0) bytes" } ?? "is larger"
            throw IndexOpsError("configuration file \(path) \(what), over the \(limit >> 20) MiB limit of a configuration file; it was not read")
        }
        let config = try ControllerConfig(bytes: bytes, path: path)
        return config.resolvingPaths(relativeTo: url.deletingLastPathComponent().path)
    }

    /// `config` with `repository.statusBranch` from `flag` (`--status-branch`), else from
    /// `INDEXOPS_STATUS_BRANCH` in `environment`, else as it was.
    ///
    /// - Throws: ``IndexOpsError`` naming the flag or variable of a bad branch name.
    public static func applyingStatusBranch(
        _ config: ControllerConfig, flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ControllerConfig {
        let picked = flag.map { ($0, "--status-branch") }
            ?? environment["INDEXOPS_STATUS_BRANCH"].flatMap { $0.isEmpty ? nil : ($0, "INDEXOPS_STATUS_BRANCH") }
        guard let (name, origin) = picked else { return config }
        if let problem = RepositorySettings.branchNameProblem(name) { throw IndexOpsError("\(origin): \(problem)") }
        var config = config
        config.repository.statusBranch = name
        return config
    }
}
