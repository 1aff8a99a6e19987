import IndexOpsCore
import Testing

@Suite("Checks across spec files")
struct SpecSetCheckTests {
    private func spec(_ file: String, _ id: String, source: String = "docs/a.md", indexes: String = "") -> SpecFile {
        let text = """
            apiVersion: indexops/v1
            kind: DocumentIndex
            metadata:
              name: \(id)
              createdBy: me
            spec:
              source: \(source)
            \(indexes)
            """
        return SpecFile(path: file, bytes: Array(text.utf8))
    }

    @Test func duplicateIDsNameBothPlaces() {
        let files = [spec("specs/a.yaml", "doc1"), spec("specs/b.yaml", "doc1"), spec("specs/c.yaml", "doc2")]
        #expect(SpecSetCheck.check(files, indexTypes: nil, sourceEntry: nil).map(\.description) == [
            "specs/a.yaml:4:9: error: document id \"doc1\" is declared more than once; also at specs/b.yaml:4:9",
            "specs/b.yaml:4:9: error: document id \"doc1\" is declared more than once; also at specs/a.yaml:4:9",
        ])
    }

    @Test func indexTypesMustBeConfigured() {
        let files = [spec("s.yaml", "doc1", indexes: "  indexes:\n    vector: present\n    graph: absent\n")]
        #expect(SpecSetCheck.check(files, indexTypes: ["vector", "fulltext"], sourceEntry: nil).map(\.description) == [
            "s.yaml:10:5: error: index type \"graph\" is not configured (configured: fulltext, vector)",
        ])
        #expect(SpecSetCheck.check(files, indexTypes: nil, sourceEntry: nil).isEmpty)
    }

    @Test func sourcesMustBeRegularFiles() {
        let files = ["missing", "dir", "link", "sub", "ok"].map { spec("\($0).yaml", $0, source: "docs/\($0)") }
        let entries: [String: SourceEntry] = [
            "docs/missing": .missing, "docs/dir": .directory, "docs/link": .symlink, "docs/sub": .submodule, "docs/ok": .file,
        ]
        #expect(SpecSetCheck.check(files, indexTypes: nil) { path, _ in entries[path] }.map(\.description) == [
            "dir.yaml:7:11: error: source \"docs/dir\" is a directory, not a file",
            "link.yaml:7:11: error: source \"docs/link\" is a symbolic link; links are never followed",
            "missing.yaml:7:11: error: source \"docs/missing\" does not exist in the repository",
            "sub.yaml:7:11: error: source \"docs/sub\" is in a submodule; submodules are never followed",
        ])
    }

    /// A document whose every index is declared absent only has indexes deleted: a missing
    /// source is a warning, not an error that holds it.
    @Test func aMissingSourceOfAnAllAbsentDocumentIsAWarning() {
        let absent = spec("absent.yaml", "gone", source: "docs/gone", indexes: "  indexes: { vector: absent, graph: absent }\n")
        let mixed = spec("mixed.yaml", "half", source: "docs/half", indexes: "  indexes: { vector: absent, graph: present }\n")
        #expect(SpecSetCheck.check([absent, mixed], indexTypes: nil) { _, _ in .missing }.map(\.description) == [
            "absent.yaml:7:11: warning: source \"docs/gone\" does not exist in the repository; every index is declared absent, so it is not read",
            "mixed.yaml:7:11: error: source \"docs/half\" does not exist in the repository",
        ])
    }
}
