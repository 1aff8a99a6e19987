import Foundation
import Git
import IndexOpsCore

extension Redactor {
    /// The redactor of a configuration (``ControllerConfig/secretSources``): its secret files
    /// read now, its token variable from `environment`. Made once where a process starts
    /// (the command line, the daemon, a ``Reconciler``).
    ///
    /// Secrets are read once: a token file rotated while the daemon runs is redacted by its
    /// old value until a restart (git never puts the token into a message; it is sent as a
    /// credential only).
    public init(loading config: ControllerConfig, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self = config.redactor(
            readFile: { path in
                // A secret file is small; a huge or unreadable one is not ours to read here.
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                      let size = attributes[.size] as? Int, size <= 1 << 20,
                      let data = FileManager.default.contents(atPath: path)
                else { return nil }
                return String(decoding: data, as: UTF8.self)
            },
            environment: environment)
    }

    /// Status file edits with every secret redacted from their contents.
    func redact(_ edits: [PathEdit]) -> [PathEdit] {
        guard !isEmpty else { return edits }
        return edits.map { edit in
            guard case .write(let path, let contents, let executable) = edit else { return edit }
            let text = String(decoding: contents, as: UTF8.self)
            let clean = redact(text)
            return clean == text ? edit : .write(path, Data(clean.utf8), executable: executable)
        }
    }
}
