import IndexOpsCore
import Testing

/// HMAC-SHA256 against RFC 4231's test vectors, and the webhook's three signature forms.
struct HMACTests {
    private static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = hex.makeIterator()
        while let a = chars.next(), let b = chars.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    /// RFC 4231 §4.2–§4.7 (case 5, a truncated output, is left out).
    static let vectors: [(key: [UInt8], data: [UInt8], mac: String)] = [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131),
         Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test(arguments: 0..<6) func rfc4231(_ index: Int) {
        let v = Self.vectors[index]
        #expect(HMACSHA256.hex(HMACSHA256.code(v.data, key: v.key)) == v.mac)
    }

    @Test func hexRoundTrip() {
        #expect(HMACSHA256.hex(Self.bytes(hex: "00ff10ab")) == "00ff10ab")
    }

    @Test func webhookForms() {
        let verifier = WebhookSignature(secret: Array("It's a Secret to Everybody".utf8))
        let body = Array("Hello, World!".utf8)
        // GitHub's documented example for this secret and payload.
        let github = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        #expect(verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? github : nil })
        #expect(verifier.verify(body: body) { $0 == "X-Indexops-Signature" ? github : nil })
        #expect(!verifier.verify(body: body + [0x20]) { $0 == "X-Hub-Signature-256" ? github : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? "sha256=" + String(repeating: "0", count: 64) : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? "sha1=abc" : nil })
        #expect(verifier.verify(body: body) { $0 == "X-Gitlab-Token" ? "It's a Secret to Everybody" : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Gitlab-Token" ? "It's a secret to everybody" : nil })
        #expect(!verifier.verify(body: body) { _ in nil })
    }
}
