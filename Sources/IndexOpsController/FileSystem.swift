import Foundation
import IndexOpsCore

/// Small file-system helpers over Foundation, with errors in words.
enum FileSystem {
    enum Kind { case file, directory, symlink, missing, other }

    /// What is at `path`, without following a final symbolic link.
    static func kind(_ path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// The size of a file in bytes, or `nil`.
    static func size(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Why ``read(_:limit:)`` read nothing.
    enum ReadFailure: Error {
        /// The file cannot be opened or read: the reason, in words.
        case unreadable(String)
        /// The file is larger than the limit: its size when known (a regular file).
        case tooLarge(Int?)
    }

    /// The bytes of the file at `path`, read only when it is at most `limit` bytes: never
    /// more than `limit + 1` bytes are read, whatever the file is (a FIFO, `/dev/zero`, a
    /// file that grows while it is read).
    static func read(_ path: String, limit: Int) throws(ReadFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) > limit {
            throw .tooLarge(Int(info.st_size))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            bytes += chunk.prefix(count)
            if bytes.count > limit { throw .tooLarge(nil) }
        }
    }

    /// A short reason for a Foundation or POSIX error: "No such file or directory".
    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return "No such file or directory"
            case NSFileReadNoPermissionError: return "Permission denied"
            default: break
            }
        }
        return ns.localizedDescription
    }

    /// What a repository-relative path names inside `root`, checking every component so that
    /// a symbolic link anywhere on the way is reported and never followed.
    static func sourceEntry(_ relative: String, root: String) -> SourceEntry {
        var path = root
        let parts = relative.split(separator: "/")
        for (i, part) in parts.enumerated() {
            path += "/" + part
            switch kind(path) {
            case .missing: return .missing
            case .symlink: return .symlink
            case .directory:
                if i == parts.count - 1 {
                    return kind(path + "/.git") == .missing ? .directory : .submodule
                }
                if kind(path + "/.git") != .missing { return .submodule }
            case .file, .other:
                if i != parts.count - 1 { return .missing }
            }
        }
        return kind(path) == .file ? .file : .missing
    }
}
