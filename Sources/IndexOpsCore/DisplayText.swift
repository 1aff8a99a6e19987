/// Text made safe to show on a terminal or in a text log line (DESIGN.md §10).
///
/// Text from the repository or from an indexer (exec stderr, a spec value, a status file) may
/// hold a newline, a carriage return or an escape sequence: written raw, it could forge a log
/// line or drive the terminal (clear the screen, set the title, hide text). Every such
/// character is written as an escape instead:
///
/// - `\n`, `\r`, `\t` as those two characters;
/// - every other C0 control character, DEL and the C1 controls (U+0080–U+009F) as `\u{1b}`;
/// - the line and paragraph separators (U+2028, U+2029) and the bidirectional controls
///   (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which reorder what a line shows,
///   as `\u{202e}`.
///
/// A backslash is left as it is: the escapes are for display, not a reversible encoding.
public enum DisplayText {
    /// `text` on one line: every character above escaped, newlines included.
    public static func line(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscaping) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscaping(scalar) else {
                out.append(scalar)
                continue
            }
            let escape: String
            switch scalar {
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            default: escape = "\\u{\(String(scalar.value, radix: 16))}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    /// A JSON document made safe for a terminal: every character above except `\n` is
    /// written as a JSON escape (`\u009b`, `\u202e`), so that the document stays valid JSON
    /// with the same meaning (such characters can only be inside its strings).
    public static func json(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { needsEscaping($0) && $0 != "\n" }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscaping(scalar), scalar != "\n" else {
                out.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16)
            out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
        }
        return String(out)
    }

    /// Whether a scalar is escaped.
    public static func needsEscaping(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
