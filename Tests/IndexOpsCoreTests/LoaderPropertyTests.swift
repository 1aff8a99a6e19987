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

    private func checkPositions(_ file: SpecFile, _ bytes: [UInt8]) {
        let lines = bytes.count { $0 == 10 } + 1
        for d in file.diagnostics {
            #expect((1...lines).contains(d.line), "\(d)")
            #expect(d.column >= 1, "\(d)")
        }
        #expect(file.isComplete || file.diagnostics.contains { $0.severity == .error })
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
                default: bytes.insert(contentsOf: ": - [{&*!|>'\"#%@`\t\n".utf8.shuffled().prefix(3), at: position)
                }
            }
            checkPositions(SpecFile(path: "m.yaml", bytes: bytes), bytes)
        }
    }
}
