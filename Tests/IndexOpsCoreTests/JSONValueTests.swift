import IndexOpsCore
import Testing

@Suite("Canonical JSON")
struct JSONValueTests {
    @Test func writesSortedKeysWithTwoSpaces() {
        let value = JSONValue.object([
            "b": .array([.int(1), .double(2.5), .null]),
            "a": .object(["z": .bool(true), "y": .string("q\"\n\u{1}é")]),
            "c": .object([:]),
            "d": .double(12),
        ])
        #expect(value.canonicalText == """
            {
              "a": {
                "y": "q\\"\\n\\u0001é",
                "z": true
              },
              "b": [
                1,
                2.5,
                null
              ],
              "c": {},
              "d": 12
            }
            """)
    }

    @Test func parsesWhatItWrites() {
        let value = JSONValue.object(["k": .array([.string("\u{1F600} \\ /"), .int(-3), .double(0.25), .bool(false)])])
        #expect(JSONValue(parsing: value.canonicalText) == value)
        #expect(JSONValue(parsing: "{\"a\": \"\\ud83d\\ude00\"}")?["a"]?.stringValue == "\u{1F600}")
    }

    @Test func rejectsWhatIsNotJSON() {
        for bad in ["", "{", "{\"a\" 1}", "[1,]", "tru", "\"\u{1}\"", "{\"a\":1} x", String(repeating: "[", count: 100)] {
            #expect(JSONValue(parsing: bad) == nil, "\(bad)")
        }
    }
}
