import ArgumentParser
import FaultInjection
import Foundation
import IndexOpsController
import YAML

/// The entry point. Runs a command and turns every failure into a message and an exit status:
/// 1 for problems found (the command says so itself), 2 for usage and environment errors.
/// No Swift error description or backtrace reaches the user.
@main
enum IndexopsMain {
    /// The `--config` of a command that takes ``GlobalOptions``; `.some(nil)`: none given.
    private static func configFile(of command: any ParsableCommand) -> String?? {
        (command as? any CommandWithGlobalOptions).map { $0.globalOptions.config }
    }

    static func main() async {
        do throws(FailpointError) {
            try Failpoints.validateEnvironment()
        } catch {
            Terminal.error("indexops: error: \(error.message)")
            exit(2)
        }
        if !Failpoints.armedNames.isEmpty {
            Terminal.error("indexops: warning: failpoints armed (\(Failpoints.variable)): \(Failpoints.armedNames.joined(separator: ", "))")
        }
        do {
            var command = try Indexops.parseAsRoot()
            if let configFile = Self.configFile(of: command) { Output.useSecrets(ofConfiguration: configFile) }
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch let error as IndexOpsError {
            Terminal.error("indexops: error: \(error.message)")
            exit(2)
        } catch let error as YAMLError {
            Terminal.error(error.description)
            if !error.snippet.isEmpty { Terminal.errorLines(error.snippet) }
            exit(2)
        } catch {
            if Indexops.exitCode(for: error) == .success { Indexops.exit(withError: error) }
            Terminal.errorLines(Indexops.fullMessage(for: error))
            exit(2)
        }
    }
}
