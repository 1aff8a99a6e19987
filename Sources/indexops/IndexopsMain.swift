import ArgumentParser
import Foundation
import IndexOpsController
import YAML

/// The entry point. Runs a command and turns every failure into a message and an exit status:
/// 1 for problems found (the command says so itself), 2 for usage and environment errors.
/// No Swift error description or backtrace reaches the user.
@main
enum IndexopsMain {
    static func main() async {
        do {
            var command = try Indexops.parseAsRoot()
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
            if !error.snippet.isEmpty { Terminal.error(error.snippet) }
            exit(2)
        } catch {
            if Indexops.exitCode(for: error) == .success { Indexops.exit(withError: error) }
            Terminal.error(Indexops.fullMessage(for: error))
            exit(2)
        }
    }
}

/// Writing to standard error.
enum Terminal {
    /// Writes a line to standard error.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Writes a summary or note to standard error, keeping standard output for results.
    static func note(_ line: String) {
        fflush(nil)
        error(line)
    }
}
