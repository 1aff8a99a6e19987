import Foundation

/// The transport a URL selects, with what the host checks need.
enum RemoteEndpoint: Equatable {
    case local
    case ssh(user: String?, host: String, port: Int)
    case http(secure: Bool, host: String)

    init(url: String) {
        let lower = url.lowercased()
        for scheme in ["ssh://", "git+ssh://", "ssh+git://"] where lower.hasPrefix(scheme) {
            var rest = Substring(url.dropFirst(scheme.count))
            rest = rest.prefix { $0 != "/" }
            var user: String?
            if let at = rest.lastIndex(of: "@") {
                user = String(rest[..<at])
                rest = rest[rest.index(after: at)...]
            }
            var host = String(rest)
            var port = 22
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":"), let p = Int(after.dropFirst()) { port = p }
            } else if let colon = rest.lastIndex(of: ":"), let p = Int(rest[rest.index(after: colon)...]) {
                host = String(rest[..<colon])
                port = p
            }
            self = .ssh(user: user, host: host, port: port)
            return
        }
        if lower.hasPrefix("https://") || lower.hasPrefix("http://") {
            let secure = lower.hasPrefix("https://")
            var authority = Substring(url.dropFirst(secure ? 8 : 7)).prefix { $0 != "/" }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            var host = String(authority)
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                host = String(authority[authority.index(after: authority.startIndex)..<close])
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
            }
            self = .http(secure: secure, host: host)
            return
        }
        if lower.hasPrefix("file://") || url.hasPrefix("/") || url.hasPrefix(".") || lower.contains("://") {
            self = .local
            return
        }
        // scp-like syntax: [user@]host:path, where the part before ':' has no '/'.
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") {
            var host = Substring(url[..<colon])
            var user: String?
            if let at = host.lastIndex(of: "@") {
                user = String(host[..<at])
                host = host[host.index(after: at)...]
            }
            self = .ssh(user: user, host: String(host), port: 22)
            return
        }
        self = .local
    }

    var isLoopback: Bool {
        let host: String
        switch self {
        case .local: return true
        case .ssh(_, let h, _), .http(_, let h): host = h
        }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
