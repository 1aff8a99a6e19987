import Foundation

/// The host keys of an OpenSSH `known_hosts` file, for checking an ssh server's key.
///
/// Supported: plain host patterns with `*`/`?` wildcards and `!` negation, `[host]:port`
/// for a port other than 22, and `@revoked` lines. Hashed host names (`|1|…`, written by
/// `HashKnownHosts yes`) and `@cert-authority` lines are skipped: list such hosts in
/// plain form.
struct KnownHosts {
    struct Entry {
        var patterns: [String]
        var key: [UInt8]
        var revoked: Bool
    }

    var entries: [Entry]

    init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw GitError(.configuration, "cannot read the known_hosts file '\(path)'", function: "KnownHosts.init")
        }
        self.init(text: text)
    }

    init(text: String) {
        entries = []
        for line in text.split(whereSeparator: \.isNewline) {
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            var revoked = false
            if first.hasPrefix("@") {
                guard first == "@revoked" else { continue }
                revoked = true
                fields.removeFirst()
            }
            guard fields.count >= 3, !fields[0].hasPrefix("|"), let key = Data(base64Encoded: fields[2]) else { continue }
            entries.append(Entry(patterns: fields[0].split(separator: ",").map(String.init), key: Array(key), revoked: revoked))
        }
    }

    enum Verdict: Equatable {
        case trusted
        case unknownHost
        case mismatch
        case revoked
    }

    /// Checks `key` (the ssh wire form of the server's public key) for `host`:`port`.
    func check(host: String, port: Int, key: [UInt8]) -> Verdict {
        let name = port == 22 ? host : "[\(host)]:\(port)"
        var trusted = false
        for entry in entries where entry.key == key && Self.matches(name, entry.patterns) {
            if entry.revoked { return .revoked }
            trusted = true
        }
        if trusted { return .trusted }
        return entries.contains { !$0.revoked && Self.matches(name, $0.patterns) } ? .mismatch : .unknownHost
    }

    static func matches(_ name: String, _ patterns: [String]) -> Bool {
        var matched = false
        for pattern in patterns {
            if pattern.hasPrefix("!") {
                if glob(Array(pattern.dropFirst().lowercased()), Array(name.lowercased())) { return false }
            } else if glob(Array(pattern.lowercased()), Array(name.lowercased())) {
                matched = true
            }
        }
        return matched
    }

    private static func glob(_ pattern: [Character], _ text: [Character]) -> Bool {
        var p = 0, t = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1; t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p; mark = t; p += 1
            } else if star >= 0 {
                p = star + 1; mark += 1; t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
