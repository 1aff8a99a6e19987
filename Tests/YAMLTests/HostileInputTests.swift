import Testing
import YAML

/// Input written to hurt a parser. Each case must end in a clean error naming the limit (or a
/// clean pass), without a crash, a stack overflow or an exponential walk.
@Suite("Hostile input")
struct HostileInputTests {
    private func error(_ text: String, limits: YAMLLimits = .default) -> YAMLError? {
        YAMLStream(parsing: text, file: "h.yaml", limits: limits).error
    }

    @Test func billionLaughs() {
        var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            let refs = Array(repeating: "*\(previous)", count: 9).joined(separator: ",")
            text += "\(name): &\(name) [\(refs)]\n"
        }
        let e = error(text)
        #expect(e?.code == .limit)
        #expect(e?.description.hasSuffix("(aliasExpansionRatio)") == true)
        #expect(e?.mark.line == 5)
    }

    @Test func modestAliasingIsAllowed() {
        var text = "base: &b {driver: exec, timeout: 5m}\n"
        for i in 0..<50 { text += "t\(i): *b\n" }
        #expect(error(text) == nil)
    }

    @Test func deepFlowSequence() {
        let e = error(String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000))
        #expect(e?.description == "h.yaml:1:65: error: nesting is deeper than 64 levels (maxDepth)")
    }

    @Test func deepBlockMapping() {
        var text = ""
        for depth in 0..<3_000 { text += String(repeating: " ", count: depth) + "k:\n" }
        #expect(error(text)?.description.hasSuffix("error: file is 4.2 MiB, larger than the limit of 1 MiB (maxFileSize)") == true)
        let roomy = YAMLLimits(maxFileSize: 8 << 20)
        #expect(error(text, limits: roomy)?.description == "h.yaml:65:65: error: nesting is deeper than 64 levels (maxDepth)")
    }

    @Test func recursiveAlias() {
        #expect(error("a: &a\n  b: *a\n")?.code == .alias)
    }

    @Test func hugeScalar() {
        let bytes = Array("a: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 40 << 20) + [10]
        #expect(YAMLStream(parsing: bytes, file: "h.yaml").error?.description
            == "h.yaml:1:1: error: file is 40.0 MiB, larger than the limit of 1 MiB (maxFileSize)")
        // Below the file size limit, the scalar length limit is what stops it.
        let long = Array("a: ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20) + [10]
        let roomy = YAMLLimits(maxFileSize: 2 << 20)
        #expect(YAMLStream(parsing: long, file: "h.yaml", limits: roomy).error?.description
            == "h.yaml:1:4: error: scalar of 1048576 bytes is longer than the limit of 262144 bytes (maxScalarLength)")
    }

    @Test func invalidUTF8() {
        var bytes = Array("name: ok\nbad: ".utf8)
        bytes += [0xC3, 0x28, 0x0A]
        let e = YAMLStream(parsing: bytes, file: "u.yaml").error
        #expect(e?.code == .encoding)
        #expect(e?.description == "u.yaml:2:7: error: invalid encoding: invalid trailing UTF-8 octet (byte 0x28)")
    }

    @Test func rawBinary() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let stream = YAMLStream(parsing: bytes, file: "b.bin")
            #expect(stream.error != nil)
            if let e = stream.error { #expect(e.mark.line >= 1 && e.mark.column >= 1) }
        }
    }

    @Test func manyEmptyDocuments() {
        let e = error(String(repeating: "---\n", count: 200_000))
        #expect(e?.description == "h.yaml:1001:1: error: more than 1000 documents in one file (maxDocuments)")
    }
}
