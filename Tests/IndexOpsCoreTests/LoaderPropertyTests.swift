import Foundation
import IndexOpsCore
import PropertyBased
import Testing

/// Whatever bytes arrive, the loader ends with resources or diagnostics that point inside the
/// file: never a crash, never a position that does not exist.
@Suite("Loader properties")
struct LoaderPropertyTests {
    static let goodFiles: [[UInt8]] = CorpusTests.files("good").compactMap { name in
        try? [UInt8](Data(contentsOf: CorpusTests.corpus.appendingPathComponent("good").appendingPathComponent(name)))
    }

    /// Lines as YAML counts them: `\n`, `\r\n`, a lone `\r`, NEL, LS and PS each end one.
    static func lineCount(_ bytes: [UInt8]) -> Int {
        var lines = 1
        for i in bytes.indices {
            switch bytes[i] {
            case 10: lines += 1
            case 13 where i + 1 == bytes.count || bytes[i + 1] != 10: lines += 1
            case 0x85 where i > 0 && bytes[i - 1] == 0xC2: lines += 1
            case 0xA8...0xA9 where i > 1 && bytes[i - 2] == 0xE2 && bytes[i - 1] == 0x80: lines += 1
            default: break
            }
        }
        return lines
    }

    private func checkPositions(_ file: SpecFile, _ bytes: [UInt8]) {
        let lines = Self.lineCount(bytes)
        for d in file.diagnostics {
            #expect((1...lines).contains(d.line), "\(d)")
            #expect(d.column >= 1, "\(d)")
        }
        #expect(file.isComplete || !file.diagnostics.isEmpty, "a file not read whole says why")
    }

    /// Found by `mutatedGoodFiles`: libyaml reports a problem at the end of input without a
    /// final line break on a line after the last one; the diagnostic points at the file's end.
    @Test func aProblemAtTheEndOfAFileWithoutALineBreakIsInsideTheFile() throws {
        let bytes = Array("apiVersion: indexops/v1\r\nkind: DocumentIndex\r\nmetadata:\r\n  name: crlf\r\n  createdBy: me\r\nspec:\r\n  source: docs/crlf.md\r8".utf8)
        let file = SpecFile(path: "m.yaml", bytes: bytes)
        checkPositions(file, bytes)
        let diagnostic = try #require(file.diagnostics.first)
        #expect("\(diagnostic.line):\(diagnostic.column)" == "8:2", "the end of the last line, after the 8: \(diagnostic)")
        #expect(diagnostic.message.contains("started at 8:1"), "\(diagnostic)")
    }

    @Test func randomBytes() async {
        await propertyCheck(count: 500, input: Gen<UInt8>.value().array(of: 0...600)) { bytes in
            checkPositions(SpecFile(path: "r.yaml", bytes: bytes), bytes)
        }
    }

    @Test func mutatedGoodFiles() async {
        #expect(Self.goodFiles.count >= 4)
        let files = Self.goodFiles
        await propertyCheck(count: 500, input: Gen.int(in: 0...(files.count - 1)), Gen<UInt64>.value().array(of: 1...6)) { which, edits in
            var bytes = files[which]
            for edit in edits where !bytes.isEmpty {
                let position = Int(edit % UInt64(bytes.count))
                let byte = UInt8(truncatingIfNeeded: edit >> 32)
                switch (edit >> 48) % 4 {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                case 2: bytes.remove(at: position)
                default:
                    let tokens = Array(": - [{&*!|>'\"#%@`\t\n\r".utf8)
                    bytes.insert(tokens[Int(edit >> 8) % tokens.count], at: position)
                }
            }
            checkPositions(SpecFile(path: "m.yaml", bytes: bytes), bytes)
        }
    }
}
