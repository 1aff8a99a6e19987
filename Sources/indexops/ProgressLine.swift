import Foundation
import IndexOpsController
import Synchronization

/// The line that shows how far a pass is, on a terminal: `[ 4,120/30,000 ] doc-4120/vector
/// created`, redrawn in place at most every 100 ms and erased when the pass ends. The cursor
/// is left at the start of the line, so that a log line written meanwhile simply replaces it.
final class ProgressLine: Sendable {
    private struct State {
        var lastDraw: ContinuousClock.Instant?
        var drawn = false
    }
    private let state = Mutex(State())

    /// A progress line when standard output is a terminal and `enabled`; else `nil`.
    static func onTerminal(enabled: Bool = true) -> ProgressLine? {
        enabled && isatty(STDOUT_FILENO) == 1 ? ProgressLine() : nil
    }

    /// The text of one step: `[ done/total ] document/type outcome`, counts with thousands
    /// separators.
    static func text(_ progress: PassProgress) -> String {
        "[ \(grouped(progress.done))/\(grouped(progress.total)) ] \(progress.key) \(progress.result)"
    }

    static func grouped(_ n: Int) -> String {
        var digits = Array(String(n))
        var out: [Character] = []
        while digits.count > 3 {
            out.insert(contentsOf: [","] + digits.suffix(3), at: 0)
            digits.removeLast(3)
        }
        return String(digits + out)
    }

    /// Draws `progress`, unless the last draw was less than 100 ms ago (the last step is
    /// always drawn).
    func update(_ progress: PassProgress) {
        show(Self.text(progress), final: progress.done >= progress.total)
    }

    /// Draws `text`, unless the last draw was less than 100 ms ago and this is not the `final` step.
    func show(_ text: @autoclosure () -> String, final: Bool) {
        let now = ContinuousClock.now
        let draw = state.withLock { state -> Bool in
            if !final, let last = state.lastDraw, now - last < .milliseconds(100) { return false }
            state.lastDraw = now
            state.drawn = true
            return true
        }
        guard draw else { return }
        Output.redraw(before: "\r\u{1B}[2K", text(), after: "\r")
    }

    /// Erases the line, before the pass's report is printed.
    func finish() {
        guard state.withLock({ $0.drawn }) else { return }
        Output.redraw(before: "\r\u{1B}[2K")
    }
}
