import Testing
@testable import YAML

@Suite("Parsing into nodes")
struct ParserTests {
    @Test func marksAreOneBased() throws {
        let stream = YAMLStream(parsing: "a: 1\nlist:\n  - x\n  - y\n", file: "t.yaml")
        #expect(stream.error == nil)
        let root = try #require(stream.documents.first?.root)
        #expect(root.mark == Mark(line: 1, column: 1))
        #expect(root.keyNode("list")?.mark == Mark(line: 2, column: 1))
        guard case .sequence(let items) = root["list"]?.content else {
            Issue.record("list is not a sequence")
            return
        }
        #expect(items.map(\.mark) == [Mark(line: 3, column: 5), Mark(line: 4, column: 5)])
        #expect(items.map { $0.scalar?.value } == ["x", "y"])
    }

    @Test func aliasesAndMergeKeys() throws {
        let text = """
            base: &base {driver: exec, timeout: 5m}
            graph:
              <<: *base
              timeout: 1m
            copy: *base
            """
        let stream = YAMLStream(parsing: text, file: "t.yaml")
        #expect(stream.error == nil)
        let root = try #require(stream.documents.first?.root)
        let graph = try #require(root["graph"])
        #expect(graph["driver"]?.scalar?.value == "exec")
        #expect(graph["timeout"]?.scalar?.value == "1m")
        #expect(graph.pairs?.map { $0.key.scalar?.value } == ["timeout", "driver"])
        #expect(root["copy"]?["timeout"]?.scalar?.value == "5m")
    }

    @Test func mergeOfASequenceKeepsTheFirstValue() throws {
        let text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc: {<<: [*a, *b]}\n"
        let root = try #require(YAMLStream(parsing: text, file: "t.yaml").documents.first?.root)
        #expect(root["c"]?["x"]?.scalar?.value == "1")
        #expect(root["c"]?["y"]?.scalar?.value == "2")
    }

    @Test func duplicateKeyNamesBothPlaces() {
        let stream = YAMLStream(parsing: "name: a\nother: b\nname: c\n", file: "d.yaml")
        #expect(stream.error?.description == "d.yaml:3:1: error: duplicate key \"name\" (first at 1:1)")
        #expect(stream.error?.code == .duplicateKey)
    }

    @Test func documentsBeforeAnErrorAreKept() {
        let stream = YAMLStream(parsing: "a: 1\n---\nb: [1, 2\n", file: "m.yaml")
        #expect(stream.documents.count == 1)
        #expect(stream.documents.first?.root["a"]?.scalar?.value == "1")
        #expect(stream.error?.code == .syntax)
        #expect(stream.error?.mark.line == 4)
    }

    @Test func syntaxErrorsCarryLibyamlsWordsAndASnippet() {
        let stream = YAMLStream(parsing: "metadata:\n  name: doc: 1\n", file: "specs/a.yaml")
        let error = stream.error
        #expect(error?.description == "specs/a.yaml:2:12: error: mapping values are not allowed in this context")
        #expect(error?.snippet == "2 |   name: doc: 1\n  |            ^")
    }

    @Test func tabIndentationIsExplained() {
        let stream = YAMLStream(parsing: "metadata:\n\tname: x\n", file: "t.yaml")
        #expect(stream.error?.description == "t.yaml:2:1: error: found a tab character where YAML allows only spaces; indent with spaces")
    }

    @Test func unclosedQuoteSaysWhereItStarted() {
        let stream = YAMLStream(parsing: "a: \"open\nb: 2\n", file: "q.yaml")
        #expect(stream.error?.description == "q.yaml:3:1: error: found unexpected end of stream while scanning a quoted scalar started at 1:4")
    }

    @Test func unknownAndRecursiveAliases() {
        #expect(YAMLStream(parsing: "a: *nope\n", file: "t.yaml").error?.description
            == "t.yaml:1:4: error: alias *nope refers to no anchor &nope before it")
        #expect(YAMLStream(parsing: "a: &x [1, *x]\n", file: "t.yaml").error?.description
            == "t.yaml:1:11: error: alias *x refers to a node that contains it (a recursive alias)")
    }

    @Test func complexKeysAreRefused() {
        #expect(YAMLStream(parsing: "? [a, b]\n: 1\n", file: "t.yaml").error?.description
            == "t.yaml:1:3: error: mapping keys must be scalars, not a sequence")
    }

    @Test func linesEndAsLibyamlEndsThem() {
        let stream = YAMLStream(parsing: "a: 1\rb: 2\u{2028}c: [x\r\n", file: "t.yaml")
        #expect(stream.error?.mark.line == 4)
        let bad = YAMLStream(parsing: Array("a: 1\rb: \"ok\"\rc: ".utf8) + [0xFF], file: "t.yaml")
        #expect(bad.error?.description == "t.yaml:3:4: error: invalid encoding: invalid leading UTF-8 octet (byte 0xFF)")
        let snippet = YAMLStream(parsing: "a: 1\rb: x: y\r", file: "t.yaml").error
        #expect(snippet?.snippet == "2 | b: x: y\n  |     ^")
    }

    @Test func emptyDocumentsAreNullRoots() {
        let stream = YAMLStream(parsing: "---\n---\na: 1\n", file: "t.yaml")
        #expect(stream.error == nil)
        #expect(stream.documents.map(\.isEmpty) == [true, false])
        #expect(stream.documents.map(\.index) == [1, 2])
    }
}
