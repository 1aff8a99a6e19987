internal import CGit2
import Foundation

/// Process-wide libgit2 set-up, done once on first use.
enum LibGit2 {
    /// Initialises libgit2 and turns on fsync of the git directory, so a commit that
    /// returned has reached the disk (DESIGN §5: intents are committed durably).
    /// `git_libgit2_shutdown` is never called: the library lives as long as the process.
    static let initialized: Void = {
        git_libgit2_init()
        if cgit2_enable_fsync_gitdir(1) < 0 {
            fatalError("libgit2 rejected GIT_OPT_ENABLE_FSYNC_GITDIR: \(GitError.last(-1, function: "git_libgit2_opts"))")
        }
    }()

    /// Runs `body` with a `git_strarray` over `strings`; the C strings live until it returns.
    static func withStrarray<R>(_ strings: [String], _ body: (UnsafePointer<git_strarray>) throws -> R) rethrows -> R {
        let pointers = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        var array = pointers
        return try array.withUnsafeMutableBufferPointer { buffer in
            var strarray = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            return try body(&strarray)
        }
    }
}

