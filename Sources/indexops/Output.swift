import Foundation
import IndexOpsController
import IndexOpsCore
import IndexOpsDaemon
import Logging
import Synchronization

/// Where the command line's text leaves the process: standard output through ``line(_:)``
/// and ``document(_:)``, standard error through ``Terminal``, logs through ``logger(level:)``.
/// Every one of them replaces the configured secrets by `<redacted>` (DESIGN.md §10) and
/// escapes control characters (``DisplayText``), so that text from the repository or an
/// indexer cannot forge a line or drive the terminal.
///
/// `print` is unavailable in this module (see below), so no output can go around it.
enum Output {
    private static let current = Mutex(Redactor.none)

    /// The redactor in force: the secrets of the configuration the command runs on.
    static var redactor: Redactor { current.withLock { $0 } }

    /// Makes `redactor` the one in force. Called once the configuration is known: by
    /// ``IndexopsMain`` for `--config`, by `run` for the daemon's layered settings.
    static func use(_ redactor: Redactor) {
        current.withLock { $0 = redactor }
    }

    /// Loads the secrets of the configuration file `path` (the embedded defaults have none).
    /// A file that cannot be loaded changes nothing: the command reports that itself.
    static func useSecrets(ofConfiguration path: String?) {
        guard let config = try? ConfigLoader.load(path) else { return }
        use(Redactor(loading: config))
    }

    /// Writes one line to standard output: redacted, every control character escaped.
    static func line(_ text: String) {
        write(DisplayText.line(redactor.redact(text)) + "\n")
    }

    /// Writes `text` (redacted, control characters escaped, no newline) between terminal
    /// control sequences of indexops's own (`before`, `after`): redrawing a progress line or a
    /// watched screen. Only the caller's sequences reach the terminal as they are.
    static func redraw(before: String, _ text: String = "", after: String = "") {
        fflush(nil)
        write(before + DisplayText.line(redactor.redact(text)) + after)
    }

    /// Writes a JSON document to standard output: redacted, and every control character but
    /// the newline written as a JSON escape (it stays valid JSON).
    static func document(_ text: String) {
        write(DisplayText.json(redactor.redact(text)) + "\n")
    }

    /// A logger to standard error in the text format, redacting; it warns once about the
    /// secrets too short to be redacted.
    static func logger(level: Logger.Level) -> Logger {
        let redactor = self.redactor
        let logger = IndexOpsLogging.logger(format: .text, level: level, redactor: redactor)
        warnAboutShortSecrets(redactor, logger: logger)
        return logger
    }

    /// Logs, by setting name, each secret shorter than ``Redactor/minimumLength`` bytes.
    static func warnAboutShortSecrets(_ redactor: Redactor, logger: Logger) {
        for setting in redactor.unredactable {
            logger.warning("\(setting) holds a value shorter than \(Redactor.minimumLength) bytes: it is not redacted from output")
        }
    }

    private static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// Writing to standard error.
enum Terminal {
    /// Writes a line to standard error: redacted, every control character escaped.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((DisplayText.line(Output.redactor.redact(line)) + "\n").utf8))
    }

    /// Writes text of several lines (a usage message, a snippet) to standard error, each
    /// line redacted and escaped.
    static func errorLines(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > 1, lines.last == "" { lines.removeLast() }
        for line in lines { error(String(line)) }
    }

    /// Writes a summary or note to standard error, keeping standard output for results.
    static func note(_ line: String) {
        fflush(nil)
        error(line)
    }
}

/// `print` writes around the redactor and the escaping: use ``Output/line(_:)`` or
/// ``Output/document(_:)``.
@available(*, unavailable, message: "use Output.line or Output.document: they redact secrets and escape control characters")
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {}
