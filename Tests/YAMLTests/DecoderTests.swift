import Testing
import YAML

private struct Settings: Decodable, Equatable {
    var name: String
    var count: Int?
    var enabled: Bool?
    var ratio: Double?
    var tags: [String]?
    var labels: [String: String]?
    var inner: Inner?

    struct Inner: Decodable, Equatable {
        var mode: String
    }
}

private struct Even: Decodable {
    var value: Int
    init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int.self)
        if value % 2 != 0 { throw DecodingProblem("\(value) is odd") }
    }
}

private func decode<T: Decodable>(_ type: T.Type, _ text: String) throws(YAMLError) -> T {
    let stream = YAMLStream(parsing: text, file: "f.yaml")
    if let error = stream.error { throw error }
    return try YAMLDecoder().decode(type, from: stream.documents[0])
}

private func failure<T: Decodable>(_ type: T.Type, _ text: String) -> String? {
    do {
        _ = try decode(type, text)
        return nil
    } catch {
        return error.description
    }
}

@Suite("Schema-driven decoding")
struct DecoderTests {
    @Test func stringFieldsTakeScalarsAsWritten() throws {
        for word in ["no", "on", "007", "true", "1.5", "~x", "0x1F"] {
            #expect(try decode(Settings.self, "name: \(word)\n").name == word)
        }
    }

    @Test func typedFieldsFollowTheCoreSchema() throws {
        let s = try decode(Settings.self, "name: a\ncount: 0x10\nenabled: true\nratio: 2.5e1\ntags: [x, 'y']\nlabels: {k: 7}\ninner: {mode: fast}\n")
        #expect(s == Settings(name: "a", count: 16, enabled: true, ratio: 25, tags: ["x", "y"], labels: ["k": "7"], inner: .init(mode: "fast")))
        #expect(try decode(Settings.self, "name: a\ncount: ~\n").count == nil)
    }

    @Test func yesIsNotABoolean() {
        #expect(failure(Settings.self, "name: a\nenabled: yes\n")
            == "f.yaml:2:10: error: enabled: expected a boolean (true or false), found \"yes\"")
    }

    @Test func quotedNumbersAreStrings() {
        #expect(failure(Settings.self, "name: a\ncount: \"5\"\n")
            == "f.yaml:2:8: error: count: expected an integer, found the string \"5\"")
    }

    @Test func unknownFieldIsReportedAtItsKey() {
        #expect(failure(Settings.self, "name: a\ninner:\n  mode: x\n  speed: 3\n")
            == "f.yaml:4:3: error: unknown field \"inner.speed\"")
    }

    @Test func missingFieldIsReportedAtItsMapping() {
        #expect(failure(Settings.self, "name: a\ninner:\n  mood: x\n")
            == "f.yaml:3:3: error: missing required field \"inner.mode\"")
    }

    @Test func wrongShape() {
        #expect(failure(Settings.self, "name: [a]\n") == "f.yaml:1:7: error: name: expected a string, found a sequence")
        #expect(failure(Settings.self, "name: a\ntags: x\n") == "f.yaml:2:7: error: tags: expected a sequence, found \"x\"")
        #expect(failure(Settings.self, "- a\n") == "f.yaml:1:1: error: expected a mapping, found a sequence")
        #expect(failure(Settings.self, "name: ~\n") == "f.yaml:1:7: error: name: expected a string, found null")
    }

    @Test func problemsThrownByATypeAreLocated() {
        #expect(failure([String: Even].self, "a: 2\nb: 3\n") == "f.yaml:2:4: error: b: 3 is odd")
        #expect(failure([Even].self, "[2, 4, 5]") == "f.yaml:1:8: error: [2]: 5 is odd")
    }

    @Test func aliasesDecodeAsCopies() throws {
        let s = try decode([String: Settings].self, "a: &x {name: n, count: 3}\nb: *x\n")
        #expect(s["b"] == s["a"])
    }

    @Test func unsupportedTagsAreRefused() {
        #expect(failure(Settings.self, "name: !secret a\n") == "f.yaml:1:7: error: name: unsupported tag !secret")
        #expect(failure(Settings.self, "name: !!str 12\n") == nil)
    }

    @Test func integersOutOfRange() {
        #expect(failure([UInt8].self, "[300]") == "f.yaml:1:2: error: [0]: 300 is out of range (0...255)")
    }
}
