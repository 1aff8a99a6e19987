import Foundation
import Testing
@testable import Git

/// The names git accepts and refuses in a work tree (libgit2 `git_path_is_valid` with the
/// `.git` protections of NTFS and HFS+ on), and indexops's one rule of its own: UTF-8.
@Suite struct EntryNameTests {
    /// Names `git checkout` writes on Linux, and so does indexops.
    @Test(arguments: [
        "a", "README.md", "...", ".gitignore", ".gitattributes", ".git2", ".gitfoo", ".git.lock", ".git foo",
        "git", "git~1a", "git~5", "GIT~2", "g", ".g", ".gi", "a\\b", "con", " ", "trailing.", "trailing ",
        "a:b", "café", "日本語", ".github", "\u{200C}", ".gitmodules",
    ])
    func namesGitAccepts(_ name: String) {
        #expect(EntryName.problem(name, kind: .file) == nil)
    }

    /// Names `git checkout` and `git fsck` refuse, with indexops's reason.
    @Test(arguments: [
        ("", "an empty name"),
        (".", "'.' names its own folder"),
        ("..", "'..' names the folder above"),
        (".git", "'.git' (in any letter case) is git's own folder"),
        (".GIT", "'.git' (in any letter case) is git's own folder"),
        (".Git", "'.git' (in any letter case) is git's own folder"),
        ("a/b", "a name with '/' inside"),
        ("../x", "a name with '/' inside"),
        ("a\0b", "a name with a NUL byte"),
        ("git~1", "an NTFS spelling of '.git'"),
        ("GIT~1", "an NTFS spelling of '.git'"),
        (".git.", "an NTFS spelling of '.git'"),
        (".git ", "an NTFS spelling of '.git'"),
        (".GIT . .", "an NTFS spelling of '.git'"),
        ("git~1...", "an NTFS spelling of '.git'"),
        (".git::$INDEX_ALLOCATION", "an NTFS spelling of '.git'"),
        (".git:stream", "an NTFS spelling of '.git'"),
        (".git\\hooks", "an NTFS spelling of '.git'"),
        ("git~1\\config", "an NTFS spelling of '.git'"),
        (".g\u{200C}it", "an HFS+ spelling of '.git' (with code points that HFS+ ignores)"),
        ("\u{FEFF}.git", "an HFS+ spelling of '.git' (with code points that HFS+ ignores)"),
        (".GI\u{200D}T\u{206A}", "an HFS+ spelling of '.git' (with code points that HFS+ ignores)"),
    ])
    func namesGitRefuses(_ name: String, _ reason: String) {
        #expect(EntryName.problem(name, kind: .file) == reason)
        #expect(EntryName.problem(name, kind: .folder) == reason)
    }

    @Test func bytesThatAreNotUTF8AreRefusedByIndexops() {
        #expect(EntryName.problem([0x61, 0xFF, 0x62], kind: .file) == "a name that is not UTF-8")
        #expect(EntryName.display([0x61, 0xFF, 0x62]) == "a\\xffb")
    }

    /// A symlink may not be named `.gitmodules` in any spelling; a file may.
    @Test(arguments: [".gitmodules", ".GITMODULES", ".gitm", ".gitmodules .", "gitmod~1", "GI7EBA~1", "gi7eba~9", ".gitmodules:x", ".gitmodu\u{200C}les"])
    func gitmodulesIsNoSymlink(_ name: String) {
        #expect(EntryName.problem(name, kind: .symlink) == "a symlink named '.gitmodules' (in some spelling), which git refuses")
        #expect(EntryName.problem(name, kind: .file) == nil)
    }

    @Test(arguments: [".gitmodulesx", "gitmod~5", "gitmodules", "gi7eba~a"])
    func otherNamesNearGitmodulesMayBeSymlinks(_ name: String) {
        #expect(EntryName.problem(name, kind: .symlink) == nil)
    }

    /// A symlink is made only when it points inside the work tree whatever other links point at.
    @Test(arguments: [
        ("docs/link", "a.md", nil),
        ("docs/link", "../specs/a.yaml", nil),
        ("docs/deep/link", "../../README.md", nil),
        ("docs/link", "./sub/./a.md", nil),
        ("link", "docs/", nil),
        ("link", "/etc/passwd", "its target '/etc/passwd' is absolute, outside the work tree"),
        ("link", "..", "its target '..' climbs out of the work tree"),
        ("docs/link", "../../outside", "its target '../../outside' climbs out of the work tree"),
        ("docs/link", "sub/../../..", "its target 'sub/../../..' goes down and back up ('..' after a name), which cannot be checked"),
        ("docs/link", "../.git/hooks", "its target '../.git/hooks' goes through a name git refuses: '.git' (in any letter case) is git's own folder"),
        ("link", "", "an empty symlink target"),
    ] as [(String, String, String?)])
    func symlinkTargets(_ path: String, _ target: String, _ problem: String?) {
        #expect(EntryName.symlinkTargetProblem(Array(target.utf8), at: path) == problem)
    }

    @Test func displayEscapesWhatATerminalWouldInterpret() {
        #expect(EntryName.display(Array("a\nb\u{1B}[31m".utf8)) == "a\\x0ab\\x1b[31m")
        #expect(EntryName.display(Array("x/y".utf8)) == "x\\x2fy")
        #expect(EntryName.display(Array(repeating: UInt8(ascii: "a"), count: 300)) == String(repeating: "a", count: 200) + "…")
    }

    /// Paths handed to the tree readers are checked with the same rules.
    @Test func repositoryPathsUseTheSameRules() {
        for path in ["git~1/config", "a/.GIT/x", "docs/..", ".g\u{200C}it/hooks"] {
            #expect(throws: GitError.self) { try Repository.normalized(path, allowRoot: false) }
        }
        #expect((try? Repository.normalized("docs/.gitignore/", allowRoot: false)) == "docs/.gitignore")
    }
}
