import Foundation
import IndexOpsCore
import Testing

/// The mapping of `indexops import`, row by row: no database, no git.
struct ImportAssemblerTests {
    static let now = Timestamp("2026-11-29T12:00:00Z")!
    static let settings = ImportSettings(
        sourceTemplate: nil, user: "ops@example.com", revisionFingerprints: ["vector": "v-settings", "fulltext": "f-settings"],
        planner: PlannerSettings(indexTypes: ["vector", "fulltext"]), now: now)

    static func row(_ id: String = "doc-1", _ type: String = "VECTOR", status: String = "ACTIVE", extra: String = "") -> String {
        #"{"document_id": "\#(id)", "index_type": "\#(type)", "status": "\#(status)", "version": 3, "observed_version": 2, "#
            + #""index_data": "{\"chunks\": 4}", "error_message": "boom", "gmt_created": "2026-11-28T10:00:00.123456", "#
            + #""gmt_updated": "2026-11-28T11:00:00", "gmt_last_reconciled": "2026-11-29T11:59:00+00:00"\#(extra), "#
            + #""document": {"id": "\#(id)", "name": "Doc", "user": "ana@example.com", "collection_id": "hb", "object_path": "s3://b/\#(id).pdf", "gmt_deleted": null}}"#
    }

    static func document(_ texts: [String], settings: ImportSettings = settings) throws -> ImportedDocument {
        var assembler = ImportAssembler(settings: settings)
        for (i, text) in texts.enumerated() {
            _ = try assembler.add(try ImportRow(json: text, layout: .singleTable, location: "rows:\(i + 1)"), location: "rows:\(i + 1)")
        }
        return try #require(try assembler.finish())
    }

    @Test(arguments: [
        ("ACTIVE", DesiredState.present, ActualState?.some(.present), ImportCategory.present),
        ("PENDING", .present, nil, .pending),
        ("CREATING", .present, .creating, .interrupted),
        ("DELETING", .absent, .present, .toDelete),
        ("DELETION_IN_PROGRESS", .absent, .deleting, .toDelete),
        ("FAILED", .present, .failed, .failed),
    ])
    func singleTableStates(status: String, desired: DesiredState, actual: ActualState?, category: ImportCategory) throws {
        let document = try Self.document([Self.row(status: status)])
        #expect(document.specPath == "specs/hb/doc-1.yaml")
        #expect(document.specText?.contains("    vector: \(desired.rawValue)\n") == true)
        #expect(document.specText?.contains("    uri: \"s3://b/doc-1.pdf\"\n    revision: \"3\"\n") == true)
        #expect(document.status?.indexes["vector"]?.actualState == actual)
        #expect(document.categories == ["vector": category])
    }

    @Test func builtIndexesRecordTheRevisionTheControllerComputes() throws {
        let document = try Self.document([Self.row(status: "ACTIVE"), Self.row(status: "CREATING").replacingOccurrences(of: "VECTOR", with: "FULLTEXT")])
        let built = try #require(document.status?.indexes["vector"])
        #expect(built.observedRevision == SpecResolution.revision(uri: "s3://b/doc-1.pdf", revision: "2", fingerprint: "v-settings"))
        #expect(built.indexData == .object(["chunks": .int(4)]))
        #expect(built.createdAt?.text == "2026-11-28T10:00:00Z")
        #expect(built.updatedAt.text == "2026-11-28T11:00:00Z")
        let building = try #require(document.status?.indexes["fulltext"])
        #expect(building.observedRevision == SpecResolution.revision(uri: "s3://b/doc-1.pdf", revision: "3", fingerprint: "f-settings"))
    }

    @Test func aFailedIndexKeepsItsErrorAndRetriesAfterTheControllersBackoff() throws {
        let failed = try #require(try Self.document([Self.row(status: "FAILED")]).status?.indexes["vector"])
        #expect(failed.errorMessage == "boom")
        #expect(failed.retryCount == 1)
        #expect(failed.nextRetryAt?.text == "2026-11-29T11:59:30Z", "30 s after the last attempt")
    }

    @Test func aSoftDeletedDocumentIsAnOrphan() throws {
        let text = Self.row(status: "ACTIVE").replacingOccurrences(of: #""gmt_deleted": null"#, with: #""gmt_deleted": "2026-11-01T00:00:00""#)
        let document = try Self.document([text])
        #expect(document.specPath == nil && document.specText == nil)
        #expect(document.status?.specFile == nil)
        #expect(document.status?.indexes["vector"]?.actualState == .present)
        #expect(document.categories == ["vector": .orphaned])
    }

    @Test func badRowsAreOneLineWithTheirPlace() throws {
        var assembler = ImportAssembler(settings: Self.settings)
        _ = try assembler.add(try ImportRow(json: Self.row("a"), layout: .singleTable, location: "rows:1"), location: "rows:1")
        _ = try assembler.add(try ImportRow(json: Self.row("b"), layout: .singleTable, location: "rows:2"), location: "rows:2")
        #expect(throws: ImportError("rows:3: the rows of document a are not together; order the rows by document_id")) {
            _ = try assembler.add(try ImportRow(json: Self.row("a", "FULLTEXT"), layout: .singleTable, location: "rows:3"), location: "rows:3")
        }
        #expect(throws: ImportError("rows:1: status \"GONE\" of doc-1/VECTOR is not one of ACTIVE, PENDING, CREATING, DELETING, DELETION_IN_PROGRESS, FAILED")) {
            _ = try Self.document([Self.row(status: "GONE")])
        }
        #expect(throws: ImportError("rows:1: index type vector (from VECTOR) is not configured (configured: fulltext); pass the controller's --config, or map VECTOR with --type-map")) {
            var settings = Self.settings
            settings.revisionFingerprints = ["fulltext": "f"]
            _ = try Self.document([Self.row(status: "ACTIVE")], settings: settings)
        }
        #expect(throws: ImportError("--source-template: unknown placeholder {id} (use {document_id}, {collection}, {object_path}, {name})")) {
            var settings = Self.settings
            settings.sourceTemplate = "s3://x/{id}"
            _ = try Self.document([Self.row(status: "ACTIVE")], settings: settings)
        }
        #expect(throws: ImportError("--type-map: \"VECTOR\" is not OLD=new (like VECTOR=vector)")) {
            _ = try ImportSettings.typeMap(parsing: "VECTOR")
        }
    }
}
