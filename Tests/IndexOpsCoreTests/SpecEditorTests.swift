import IndexOpsCore
import Testing

/// Edits of hand-written spec files change only the edited document's lines: every comment
/// and every other document stay byte for byte.
@Suite("Editing spec files in place")
struct SpecEditorTests {
    static let handWritten = """
        # Team handbook — keep this comment.
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: onboarding   # the first document
          collection: handbook
          createdBy: ops@example.com
        spec:
          source: docs/onboarding.md
          indexes:
            fulltext: present   # keyword search
            vector: present
        ---
        # On-call, searched by keyword only.
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: oncall
          createdBy: ops@example.com
          annotations:
            team: sre
        spec:
          source: docs/oncall.md
          indexes: { fulltext: present, vector: absent }
        ---
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata: { name: flow, createdBy: ops@example.com }
        spec: { source: docs/flow.md }

        """

    private func edit(_ edit: SpecEdit, _ id: String, _ text: String = handWritten) throws -> String? {
        try SpecEditor.apply(edit, toDocument: id, in: Array(text.utf8), path: "specs/handbook.yaml").map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func replacingAStateKeepsTheComment() throws {
        let result = try edit(.setIndexStates(["fulltext": .absent]), "onboarding")
        #expect(result == Self.handWritten.replacingOccurrences(of: "fulltext: present   # keyword", with: "fulltext: absent   # keyword"))
    }

    @Test func addingAnIndexToABlockMapping() throws {
        let result = try edit(.setIndexStates(["graph": .present]), "onboarding")
        #expect(result == Self.handWritten.replacingOccurrences(of: "    vector: present\n---", with: "    vector: present\n    graph: present\n---"))
    }

    @Test func oneLineFlowMappingIsWrittenAgain() throws {
        let result = try edit(.setIndexStates(["vector": .present, "graph": .absent]), "oncall")
        #expect(result == Self.handWritten.replacingOccurrences(
            of: "indexes: { fulltext: present, vector: absent }", with: "indexes: { fulltext: present, vector: present, graph: absent }"))
    }

    @Test func annotationsAreAddedWhereTheyBelong() throws {
        let added = try edit(.setAnnotation("indexops/retry-requested-at", "2026-11-29T10:00:00Z"), "oncall")
        #expect(added == Self.handWritten.replacingOccurrences(
            of: "    team: sre\n", with: "    team: sre\n    indexops/retry-requested-at: \"2026-11-29T10:00:00Z\"\n"))
        let created = try edit(.setAnnotation("indexops/recreate-requested-at", "2026-11-29T10:00:00Z"), "onboarding")
        #expect(created == Self.handWritten.replacingOccurrences(
            of: "  createdBy: ops@example.com\nspec:\n  source: docs/onboarding.md",
            with: "  createdBy: ops@example.com\n  annotations:\n    indexops/recreate-requested-at: \"2026-11-29T10:00:00Z\"\nspec:\n  source: docs/onboarding.md"))
        let replaced = try edit(.setAnnotation("indexops/retry-requested-at", "2026-11-30T00:00:00Z"), "oncall", try #require(added))
        #expect(replaced == added?.replacingOccurrences(of: "2026-11-29T10:00:00Z", with: "2026-11-30T00:00:00Z"))
    }

    @Test func removingDocuments() throws {
        let middle = try edit(.removeDocument, "oncall")
        #expect(middle == Self.handWritten.replacingOccurrences(
            of: "---\n# On-call, searched by keyword only.\napiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: oncall\n  createdBy: ops@example.com\n  annotations:\n    team: sre\nspec:\n  source: docs/oncall.md\n  indexes: { fulltext: present, vector: absent }\n",
            with: ""))
        let first = try #require(try edit(.removeDocument, "onboarding"))
        #expect(first.hasPrefix("# Team handbook — keep this comment.\n# On-call, searched by keyword only.\napiVersion"))
        let last = try #require(try edit(.removeDocument, "flow"))
        #expect(last.hasSuffix("  indexes: { fulltext: present, vector: absent }\n"))
        let only = "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata: {name: a, createdBy: me}\nspec: {source: docs/a.md}\n"
        #expect(try edit(.removeDocument, "a", only) == nil, "the file goes with its only document")
    }

    @Test func flowParentsAreRefusedWithTheLineToEdit() {
        let refusal = SpecEditError("cannot edit specs/handbook.yaml safely; change document \"flow\" at line 26 by hand")
        #expect(throws: refusal) { try edit(.setAnnotation("indexops/retry-requested-at", "2026-11-29T10:00:00Z"), "flow") }
        #expect(throws: refusal) { try edit(.setIndexStates(["vector": .absent]), "flow") }
    }

    @Test func crlfFilesStayCRLF() throws {
        let crlf = Self.handWritten.replacingOccurrences(of: "\n", with: "\r\n")
        let result = try #require(try edit(.setIndexStates(["graph": .present]), "onboarding", crlf))
        #expect(result == crlf.replacingOccurrences(of: "    vector: present\r\n---", with: "    vector: present\r\n    graph: present\r\n---"))
    }

    @Test func unknownDocumentsAndBrokenFiles() {
        #expect(throws: SpecEditError("document \"nope\" is not declared in specs/handbook.yaml")) {
            try edit(.removeDocument, "nope")
        }
        #expect(throws: SpecEditError("specs/handbook.yaml has errors; fix them first (indexops validate specs/handbook.yaml)")) {
            try edit(.removeDocument, "a", "a: [\n")
        }
    }

    @Test func multiLineValuesAreRefused() {
        let text = "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: a\n  createdBy: me\n  annotations:\n    indexops/retry-requested-at: \"2026-11-29T10:00:00Z\n      \"\nspec: {source: docs/a.md}\n"
        #expect(throws: SpecEditError.self) {
            try edit(.setAnnotation("indexops/retry-requested-at", "2026-11-30T00:00:00Z"), "a", text)
        }
    }
}
