import Crypto

/// Checks the signature of a `POST /hooks/git` request (DESIGN.md §10). Three forms are
/// accepted, each with the operator's secret:
///
/// - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`;
/// - indexops's generic form, for any other sender: `X-Indexops-Signature: sha256=<hex>`,
///   computed the same way;
/// - GitLab: `X-Gitlab-Token: <the secret itself>`.
///
/// Every comparison is constant-time (swift-crypto's `HMAC.isValidAuthenticationCode` and
/// digest equality). The payload is never interpreted.
public struct WebhookSignature: Sendable {
    /// The generic signature header.
    public static let genericHeader = "X-Indexops-Signature"

    private let key: SymmetricKey
    private let secretDigest: SHA256.Digest

    /// A verifier for `secret` (the contents of `server.webhookSecretFile`, without a
    /// trailing newline).
    public init(secret: [UInt8]) {
        key = SymmetricKey(data: secret)
        secretDigest = SHA256.hash(data: secret)
    }

    /// Whether the request is signed with the secret.
    ///
    /// - Parameter header: the value of a request header by its name, case-insensitive.
    public func verify(body: [UInt8], header: (String) -> String?) -> Bool {
        for name in ["X-Hub-Signature-256", Self.genericHeader] {
            guard let value = header(name) else { continue }
            guard let code = Self.code(value) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: body, using: key)
        }
        if let token = header("X-Gitlab-Token") {
            // Compare digests so that the time does not depend on the secret's length either.
            return SHA256.hash(data: Array(token.utf8)) == secretDigest
        }
        return false
    }

    /// The bytes of `sha256=<64 hex digits>`; `nil` for anything else. Only the header's
    /// shape decides how long this takes, never the secret.
    private static func code(_ value: String) -> [UInt8]? {
        let text = Array(value.lowercased().utf8)
        let prefix = Array("sha256=".utf8)
        guard text.count == prefix.count + 64, text.starts(with: prefix) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = prefix.count
        while index < text.count {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
