internal import CGit2
import Foundation

/// Who made a commit and when: a value copied out of (or into) a `git_signature`.
public struct Signature: Sendable, Hashable, CustomStringConvertible {
    /// The person's or tool's name.
    public var name: String
    /// The e-mail address.
    public var email: String
    /// When, to the second.
    public var time: Date
    /// The time zone offset from UTC, in minutes.
    public var timeZoneOffsetMinutes: Int

    /// Makes a signature; `time` defaults to now, in UTC.
    public init(name: String, email: String, time: Date = Date(), timeZoneOffsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.time = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
        self.timeZoneOffsetMinutes = timeZoneOffsetMinutes
    }

    init(_ signature: UnsafePointer<git_signature>) {
        let s = signature.pointee
        self.init(
            name: String(cString: s.name),
            email: String(cString: s.email),
            time: Date(timeIntervalSince1970: TimeInterval(s.when.time)),
            timeZoneOffsetMinutes: Int(s.when.offset)
        )
    }

    /// The libgit2 form, owned by the returned handle.
    func handle() throws -> SignatureHandle {
        var signature: UnsafeMutablePointer<git_signature>?
        try call("git_signature_new") {
            git_signature_new(&signature, name, email, git_time_t(time.timeIntervalSince1970), Int32(timeZoneOffsetMinutes))
        }
        return SignatureHandle(signature!)
    }

    /// `Name <email>`.
    public var description: String { "\(name) <\(email)>" }
}
