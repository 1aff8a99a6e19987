/// HMAC-SHA256 (RFC 2104) over ``SHA256``, for webhook signatures: the body of a webhook is
/// at most 1 MiB, so the one-shot digest is enough.
public enum HMACSHA256 {
    private static let blockSize = 64

    /// The authentication code of `message` under `key`.
    public static func code(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var block = key.count > blockSize ? SHA256.digest(key) : key
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        let inner = SHA256.digest(block.map { $0 ^ 0x36 } + message)
        return SHA256.digest(block.map { $0 ^ 0x5c } + inner)
    }

    /// Lower-case hex of bytes.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether two byte strings are equal, in a time that depends only on their lengths.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// Checks the signature of a `POST /hooks/git` request (DESIGN.md §10). Three forms are
/// accepted, each with the operator's secret:
///
/// - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`;
/// - indexops's generic form, for any other sender: `X-Indexops-Signature: sha256=<hex>`,
///   computed the same way;
/// - GitLab: `X-Gitlab-Token: <the secret itself>`.
///
/// Every comparison is constant-time. The payload is never interpreted.
public struct WebhookSignature: Sendable {
    /// The generic signature header.
    public static let genericHeader = "X-Indexops-Signature"

    private let secret: [UInt8]

    /// A verifier for `secret` (the contents of `server.webhookSecretFile`, without a
    /// trailing newline).
    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// Whether the request is signed with the secret.
    ///
    /// - Parameter header: the value of a request header by its name, case-insensitive.
    public func verify(body: [UInt8], header: (String) -> String?) -> Bool {
        for name in ["X-Hub-Signature-256", Self.genericHeader] {
            guard let value = header(name) else { continue }
            let expected = Array(("sha256=" + HMACSHA256.hex(HMACSHA256.code(body, key: secret))).utf8)
            return HMACSHA256.constantTimeEqual(Array(value.lowercased().utf8), expected)
        }
        if let token = header("X-Gitlab-Token") {
            // Compare digests so that the time does not depend on the secret's length either.
            return HMACSHA256.constantTimeEqual(SHA256.digest(Array(token.utf8)), SHA256.digest(secret))
        }
        return false
    }
}
