/// Replaces every configured secret in a text by `<redacted>` (DESIGN.md §10).
///
/// Made once from the effective configuration (``ControllerConfig/secretSources``, read by
/// the controller) and applied where text leaves the process: the error message an
/// operation records (status files, commit messages), every log line, every HTTP response
/// of the daemon, the command line's output and errors.
///
/// Matching is on UTF-8 bytes, so a secret is found whatever characters surround it. Besides
/// the secret as written, its JSON-escaped, HTML-escaped and percent-encoded (and, for a URL
/// password, percent-decoded) spellings are replaced, so that a secret is caught in a response
/// body after it was encoded.
///
/// A secret shorter than ``minimumLength`` bytes is **not** redacted: replacing every `ab`
/// or `1` in every line would destroy the output and still tell a reader where the secret
/// was. Such a setting is listed in ``unredactable`` (by name, never by value), and the
/// command line and the daemon warn about it once at start.
public struct Redactor: Sendable {
    /// What a secret is replaced by.
    public static let replacement = "<redacted>"
    /// The shortest secret that is redacted, in bytes.
    public static let minimumLength = 4

    /// A secret and the setting it comes from.
    public struct Secret: Sendable, Hashable {
        /// The setting, for messages (`indexTypes["graph"].env["TOKEN"]`).
        public var setting: String
        /// The value.
        public var value: String

        /// Creates a secret.
        public init(setting: String, value: String) {
            self.setting = setting
            self.value = value
        }
    }

    /// The byte strings to replace, longest first.
    private let needles: [[UInt8]]
    /// The settings whose secret is too short to be redacted safely.
    public let unredactable: [String]

    /// A redactor that replaces nothing.
    public static let none = Redactor(secrets: [])

    /// A redactor for `secrets`; empty values are ignored.
    public init(secrets: [Secret]) {
        var needles = Set<[UInt8]>()
        var short: [String] = []
        for secret in secrets where !secret.value.isEmpty {
            guard secret.value.utf8.count >= Self.minimumLength else {
                short.append(secret.setting)
                continue
            }
            for spelling in Self.spellings(of: secret.value) where spelling.utf8.count >= Self.minimumLength {
                needles.insert(Array(spelling.utf8))
            }
        }
        self.needles = needles.sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
        self.unredactable = Array(Set(short)).sorted()
    }

    /// Whether there is nothing to redact.
    public var isEmpty: Bool { needles.isEmpty }

    /// `text` with every secret replaced by ``replacement``.
    public func redact(_ text: String) -> String {
        guard !needles.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var changed = false
        var i = 0
        let replacement = Array(Self.replacement.utf8)
        scan: while i < bytes.count {
            let b = bytes[i]
            for needle in needles where needle[0] == b && needle.count <= bytes.count - i {
                var j = 1
                while j < needle.count, bytes[i + j] == needle[j] { j += 1 }
                if j == needle.count {
                    if !changed {
                        out.reserveCapacity(bytes.count)
                        out.append(contentsOf: bytes[0..<i])
                        changed = true
                    }
                    out.append(contentsOf: replacement)
                    i += needle.count
                    continue scan
                }
            }
            if changed { out.append(b) }
            i += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    /// A failure's message redacted; a success as it is.
    public func redact(_ outcome: OperationOutcome) -> OperationOutcome {
        guard case .failed(var failure) = outcome else { return outcome }
        failure.message = redact(failure.message)
        return .failed(failure)
    }

    /// The ways a secret may be written in output: as it is, escaped for JSON and HTML,
    /// percent-encoded as in a URL's user information, and percent-decoded.
    static func spellings(of secret: String) -> Set<String> {
        var out: Set<String> = [secret]
        let json = JSONValue.string(secret).canonicalText
        out.insert(String(json.dropFirst().dropLast()))
        var html = ""
        for c in secret {
            switch c {
            case "&": html += "&amp;"
            case "<": html += "&lt;"
            case ">": html += "&gt;"
            case "\"": html += "&quot;"
            case "'": html += "&#39;"
            default: html.append(c)
            }
        }
        out.insert(html)
        var encoded = ""
        for byte in secret.utf8 {
            let unreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            encoded += unreserved ? String(UnicodeScalar(byte)) : "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }
        out.insert(encoded)
        if let decoded = percentDecoded(secret) { out.insert(decoded) }
        return out
    }

    /// `%41b` → `Ab`; `nil` when the text has no valid escape or does not decode to UTF-8.
    static func percentDecoded(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.contains(0x25) else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25, i + 2 < bytes.count,
               let value = UInt8(String(decoding: bytes[i + 1...i + 2], as: UTF8.self), radix: 16)
            {
                out.append(value)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The password of a URL's user information (`scheme://user:password@host/…`), as
    /// written (still percent-encoded); `nil` when the text is not such a URL.
    public static func urlPassword(_ text: String) -> String? {
        guard let scheme = text.firstRange(of: "://") else { return nil }
        let rest = text[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@") else { return nil }
        let userinfo = authority[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return nil }
        let password = userinfo[userinfo.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }
}

/// Where a secret of the configuration is kept.
public enum SecretSource: Sendable, Hashable {
    /// In the configuration itself.
    case value(String)
    /// The contents of a file (trailing white space dropped, as the readers of secret
    /// files do).
    case file(String)
    /// The value of an environment variable of the controller.
    case environment(String)
}

extension ControllerConfig {
    /// Every secret the configuration refers to, with the setting that names it (written as
    /// ``SettingsReflection`` writes paths: `indexTypes["graph"].env["TOKEN"]`): **the one
    /// list to extend** when a setting that holds or names a secret is added (an embedder's
    /// `apiKeyFile`, a PostgreSQL `passwordFile`, an ssh key passphrase file: add a `.file`
    /// line here). Passwords in URLs need no line: every string setting of the
    /// configuration that is a URL with a password is found by reflection.
    ///
    /// Today: exec `env` values; the webhook secret file; the https token file and token
    /// variable; the ssh private key file; the password of any URL-shaped setting (the remote's `url`, an exec `env`
    /// value that is a URL). The ssh key's passphrase has no setting yet (libgit2 is given
    /// none), so there is nothing to list for it.
    public var secretSources: [(setting: String, source: SecretSource)] {
        var sources: [(setting: String, source: SecretSource)] = []
        for name in indexTypes.keys.sorted() {
            let env = indexTypes[name]!.env
            for variable in env.keys.sorted() {
                sources.append(("indexTypes[\(String(reflecting: name))].env[\(String(reflecting: variable))]", .value(env[variable]!)))
            }
            if let file = indexTypes[name]!.embedder?.apiKeyFile {
                sources.append(("indexTypes[\(String(reflecting: name))].embedder.apiKeyFile", .file(file)))
            }
            if let postgres = indexTypes[name]!.postgres {
                if let file = postgres.connection.passwordFile {
                    sources.append(("indexTypes[\(String(reflecting: name))].passwordFile", .file(file)))
                } else {
                    sources.append(("indexTypes[\(String(reflecting: name))] (PGPASSWORD)", .environment("PGPASSWORD")))
                }
            }
        }
        if let file = server.webhookSecretFile { sources.append(("server.webhookSecretFile", .file(file))) }
        if let file = repository.tokenFile { sources.append(("repository.tokenFile", .file(file))) }
        if let file = repository.sshKeyFile { sources.append(("repository.sshKeyFile", .file(file))) }
        if let variable = repository.tokenEnv { sources.append(("repository.tokenEnv", .environment(variable))) }
        for leaf in SettingsReflection.leaves(of: self) {
            if let text = leaf.string, let password = Redactor.urlPassword(text) {
                sources.append(("\(leaf.path) (password)", .value(password)))
            }
        }
        return sources
    }

    /// The redactor of this configuration, given a way to read files and the environment
    /// (the core does no I/O; `IndexOpsController` passes the real ones). A secret file that
    /// cannot be read adds nothing: whoever needs it reports the error.
    public func redactor(readFile: (String) -> String?, environment: [String: String]) -> Redactor {
        var secrets: [Redactor.Secret] = []
        for (setting, source) in secretSources {
            switch source {
            case .value(let text):
                secrets.append(Redactor.Secret(setting: setting, value: text))
            case .file(let path):
                guard let contents = readFile(path) else { continue }
                secrets.append(Redactor.Secret(setting: setting, value: Self.trimmingWhiteSpace(contents)))
                // Each line of a file of several lines may show on its own.
                let lines = contents.split(whereSeparator: \.isNewline).map { Self.trimmingWhiteSpace(String($0)) }
                if lines.count > 1 { secrets += lines.map { Redactor.Secret(setting: setting, value: $0) } }
            case .environment(let name):
                guard let value = environment[name] else { continue }
                secrets.append(Redactor.Secret(setting: setting, value: Self.trimmingWhiteSpace(value)))
            }
        }
        return Redactor(secrets: secrets)
    }

    private static func trimmingWhiteSpace(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars[...]
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        return String(String.UnicodeScalarView(scalars))
    }
}
