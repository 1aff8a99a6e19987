import Foundation
import IndexOpsCore
import YAML

/// Reads the controller's configuration file, or gives the embedded defaults.
public enum ConfigLoader {
    /// The configuration at `path`, with relative paths resolved against its folder;
    /// ``ControllerConfig/embeddedDefaults`` when `path` is `nil`.
    ///
    /// - Throws: ``IndexOpsError`` when the file cannot be read, `YAMLError` when it is not a
    ///   valid configuration.
    public static func load(_ path: String?) throws -> ControllerConfig {
        guard let path else { return .embeddedDefaults }
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw IndexOpsError("cannot read configuration file \(path): \(FileSystem.reason(error))")
        }
        let config = try ControllerConfig(bytes: [UInt8](data), path: path)
        return config.resolvingPaths(relativeTo: url.deletingLastPathComponent().path)
    }
}
