import IndexOpsCore
import Testing

/// Text that reaches a terminal or a text log line cannot forge a line or drive the terminal.
@Suite("Display text")
struct DisplayTextTests {
    @Test func controlCharactersAreEscaped() {
        #expect(DisplayText.line("boom\n2026-01-01T00:00:00+0000 info indexops: FAKE") == "boom\\n2026-01-01T00:00:00+0000 info indexops: FAKE")
        #expect(DisplayText.line("a\r\tb\u{1B}[2J\u{7}\u{0}\u{7F}\u{9B}c") == "a\\r\\tb\\u{1b}[2J\\u{7}\\u{0}\\u{7f}\\u{9b}c")
        #expect(DisplayText.line("left\u{202E}thgir\u{2028}next") == "left\\u{202e}thgir\\u{2028}next")
        #expect(DisplayText.line("plain é ü 日本 \\n") == "plain é ü 日本 \\n")
    }

    @Test func jsonStaysValidJSON() {
        let document = "{\n  \"a\": \"\u{9B}2J left\u{202E}right \u{7F}\"\n}"
        let safe = DisplayText.json(document)
        #expect(safe == "{\n  \"a\": \"\\u009b2J left\\u202eright \\u007f\"\n}")
        #expect(JSONValue(parsing: safe) == JSONValue(parsing: document))
    }
}
