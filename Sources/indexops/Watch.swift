import Dispatch
import Foundation
import Glibc
import IndexOpsCore

/// `--watch`: draws a frame, waits, draws the next, until SIGINT (Ctrl-C) or SIGTERM, which
/// end the command with status 0. On a terminal each frame replaces the last (the screen is
/// cleared); otherwise frames follow each other, a blank line apart, each flushed at once
/// so that a program reading the output sees it as it comes.
enum Watch {
    /// Runs `frame` every `interval` until interrupted. An error in a frame is shown in it
    /// and the next frame tries again.
    static func loop(title: String, every interval: Duration, _ frame: () async throws -> Void) async -> Never {
        let stop = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        for (source, signal) in [(stop, SIGINT), (term, SIGTERM)] {
            Glibc.signal(signal, SIG_IGN)
            source.setEventHandler {
                if isatty(STDOUT_FILENO) == 1 { Output.line("") }
                fflush(nil)
                exit(0)
            }
            source.resume()
        }
        let terminal = isatty(STDOUT_FILENO) == 1
        var first = true
        while true {
            if terminal {
                Output.redraw(before: "\u{1B}[H\u{1B}[2J")
            } else if !first {
                Output.line("")
            }
            first = false
            Output.line("Every \(DurationText.format(interval)): \(title)    \(Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970).text)")
            Output.line("")
            do {
                try await frame()
            } catch {
                Output.line("error: \(error)")
            }
            fflush(nil)
            try? await Task.sleep(for: interval)
        }
    }
}
