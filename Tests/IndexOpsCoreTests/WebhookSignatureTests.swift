import IndexOpsCore
import Testing

/// The webhook's three signature forms (the HMAC itself is swift-crypto's).
struct WebhookSignatureTests {
    let verifier = WebhookSignature(secret: Array("It's a Secret to Everybody".utf8))
    let body = Array("Hello, World!".utf8)
    /// GitHub's documented example for this secret and payload.
    let github = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    @Test func githubAndGenericHeadersCarryTheHMACOfTheBody() {
        #expect(verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? github : nil })
        #expect(verifier.verify(body: body) { $0 == "X-Indexops-Signature" ? github : nil })
        #expect(verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? github.uppercased() : nil }, "hex in either case")
    }

    @Test func aWrongOrMalformedSignatureIsRefused() {
        #expect(!verifier.verify(body: body + [0x20]) { $0 == "X-Hub-Signature-256" ? github : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? "sha256=" + String(repeating: "0", count: 64) : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? "sha1=abc" : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? String(github.dropLast(2)) : nil }, "too short")
        #expect(!verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? github + "00" : nil }, "too long")
        #expect(!verifier.verify(body: body) { $0 == "X-Hub-Signature-256" ? String(github.dropLast()) + "g" : nil }, "not hex")
        #expect(!verifier.verify(body: body) { _ in nil })
        let other = WebhookSignature(secret: Array("another secret".utf8))
        #expect(!other.verify(body: body) { $0 == "X-Hub-Signature-256" ? github : nil })
    }

    @Test func gitlabSendsTheSecretItself() {
        #expect(verifier.verify(body: body) { $0 == "X-Gitlab-Token" ? "It's a Secret to Everybody" : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Gitlab-Token" ? "It's a secret to everybody" : nil })
        #expect(!verifier.verify(body: body) { $0 == "X-Gitlab-Token" ? "" : nil })
    }

    /// A header that is present decides: a wrong GitHub signature is not rescued by a GitLab
    /// token in the same request.
    @Test func theFirstSignatureHeaderDecides() {
        #expect(!verifier.verify(body: body) { name in
            switch name {
            case "X-Hub-Signature-256": "sha256=" + String(repeating: "0", count: 64)
            case "X-Gitlab-Token": "It's a Secret to Everybody"
            default: nil
            }
        })
    }
}
