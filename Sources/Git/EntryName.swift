/// The checks a tree entry passes before its name becomes part of a path in a work tree, and
/// before a symlink entry is created there.
///
/// Anyone who can push writes tree objects, and a tree object can hold any name: `..`,
/// `.git`, `a/b` (made with `git hash-object --literally -t tree` or `git mktree`, and
/// accepted by a plain `git push`). The name rules are git's own for a checkout, on every
/// platform (libgit2 `git_path_is_valid` with `GIT_PATH_REJECT_WORKDIR_DEFAULTS` and both
/// `core.protectNTFS` and `core.protectHFS` on, as `git fsck` checks them too):
///
/// - no empty name, no `.`, no `..`, no `/` or NUL inside a name;
/// - no `.git` in any letter case, nor in a spelling that NTFS reads as `.git` (`git~1`,
///   trailing dots and spaces, `.git::$INDEX_ALLOCATION`, `.git\…`), nor in one that HFS+
///   reads as `.git` (with ignorable code points such as U+200C inside);
/// - no symlink named `.gitmodules` in any of those spellings;
/// - backslashes are ordinary characters on Linux, as git treats them there, except in the
///   NTFS spelling `.git\`.
///
/// One rule is indexops's own: a name must be UTF-8, so that the path it becomes is the
/// name itself and not a repaired copy of it.
public enum EntryName {
    /// Why an entry named `name` (its raw bytes) of kind `kind` is never written to a work
    /// tree, or `nil` when it may be.
    public static func problem(_ name: some Collection<UInt8>, kind: EntryKind) -> String? {
        // Most names are ASCII and start with neither `.` nor `g`: no rule can refuse them.
        if let first = name.first, first != dot, first | 0x20 != UInt8(ascii: "g"),
           name.allSatisfy({ $0 != 0 && $0 < 0x80 && $0 != UInt8(ascii: "/") }) {
            return nil
        }
        let bytes = Array(name)
        if bytes.isEmpty { return "an empty name" }
        if bytes.contains(0) { return "a name with a NUL byte" }
        if bytes.contains(UInt8(ascii: "/")) { return "a name with '/' inside" }
        if bytes == [dot] { return "'.' names its own folder" }
        if bytes == [dot, dot] { return "'..' names the folder above" }
        guard let text = String(validating: bytes, as: UTF8.self) else { return "a name that is not UTF-8" }
        if bytes.count == 4, lowercased(bytes) == Array(".git".utf8) { return "'.git' (in any letter case) is git's own folder" }
        if isNTFSDotGit(bytes) { return "an NTFS spelling of '.git'" }
        if isHFS(text, spelling: "git") { return "an HFS+ spelling of '.git' (with code points that HFS+ ignores)" }
        if kind == .symlink, isGitmodules(bytes, text) { return "a symlink named '.gitmodules' (in some spelling), which git refuses" }
        return nil
    }

    /// Why `name` is never written to a work tree, or `nil` when it may be.
    public static func problem(_ name: String, kind: EntryKind) -> String? {
        problem(Array(name.utf8), kind: kind)
    }

    /// Why a symlink at `path` (a checked path, `/`-separated) pointing at `target` (the
    /// bytes of its blob) is not created, or `nil` when it may be.
    ///
    /// A link is created only when it points inside the work tree whatever the other links
    /// there point at: a relative target whose `..` components all come first and do not climb
    /// above the work tree, followed by names that pass ``problem(_:kind:)`` (so none is
    /// `.git`). `a/../b` is refused: `a` may itself be a link, and then `..` is not the folder
    /// it seems to be.
    public static func symlinkTargetProblem(_ target: some Collection<UInt8>, at path: String) -> String? {
        let bytes = Array(target)
        if bytes.isEmpty { return "an empty symlink target" }
        if bytes.contains(0) { return "a symlink target with a NUL byte" }
        if bytes.count > 4095 { return "a symlink target longer than 4095 bytes" }
        let shown = display(bytes, keepingSlashes: true)
        if bytes.first == UInt8(ascii: "/") { return "its target '\(shown)' is absolute, outside the work tree" }
        var climbs = 0
        var descended = false
        for component in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if component.elementsEqual([dot]) { continue }
            if component.elementsEqual([dot, dot]) {
                if descended { return "its target '\(shown)' goes down and back up ('..' after a name), which cannot be checked" }
                climbs += 1
                continue
            }
            descended = true
            if let problem = problem(component, kind: .folder) { return "its target '\(shown)' goes through a name git refuses: \(problem)" }
        }
        let depth = path.split(separator: "/").count - 1
        if climbs > depth { return "its target '\(shown)' climbs out of the work tree" }
        return nil
    }

    /// The name as a person can read it in a message: UTF-8 as it is, with control
    /// characters, `/`, `\\` and bytes that are not UTF-8 as `\\xNN`; past 200 bytes, cut
    /// with `…`.
    public static func display(_ name: some Collection<UInt8>) -> String {
        display(name, keepingSlashes: false)
    }

    static func display(_ name: some Collection<UInt8>, keepingSlashes: Bool) -> String {
        let bytes = Array(name.prefix(200))
        var shown = ""
        var offset = 0
        while offset < bytes.count {
            var iterator = bytes[offset...].makeIterator()
            var parser = Unicode.UTF8.ForwardParser()
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar.value < 0x20 || scalar.value == 0x7F || (scalar == "/" && !keepingSlashes) || scalar == "\\" || (0x80..<0xA0).contains(scalar.value) {
                    shown += escaped(scalar.value)
                } else {
                    shown.unicodeScalars.append(scalar)
                }
                offset += encoded.count
            case .error(let length):
                for byte in bytes[offset..<offset + length] { shown += escaped(UInt32(byte)) }
                offset += length
            case .emptyInput:
                offset = bytes.count
            }
        }
        return name.count > 200 ? shown + "…" : shown
    }

    // MARK: - Rules

    private static let dot = UInt8(ascii: ".")

    /// The code points HFS+ leaves out when it compares names (libgit2 `next_hfs_char`).
    private static let hfsIgnored: Set<UInt32> = [
        0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
        0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF,
    ]

    private static func lowercased(_ bytes: some Collection<UInt8>) -> [UInt8] {
        bytes.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
    }

    private static func hasPrefixIgnoringCase(_ bytes: [UInt8], _ prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        return bytes.count >= p.count && lowercased(bytes.prefix(p.count)) == p
    }

    /// Dots and spaces up to the end of the name or a `:` (an NTFS alternate stream): what
    /// Windows drops from the end of a file name.
    private static func isNTFSEndOfName(_ rest: ArraySlice<UInt8>) -> Bool {
        for byte in rest {
            if byte == UInt8(ascii: ":") { return true }
            if byte != UInt8(ascii: " ") && byte != dot { return false }
        }
        return true
    }

    /// `.git` or its 8.3 short name `git~1`, followed by `\` or `:`, or by dots and spaces
    /// only (libgit2 `validate_dotgit_ntfs`).
    private static func isNTFSDotGit(_ bytes: [UInt8]) -> Bool {
        for reserved in [".git", "git~1"] where hasPrefixIgnoringCase(bytes, reserved) {
            let rest = bytes[reserved.utf8.count...]
            if let first = rest.first, first == UInt8(ascii: "\\") || first == UInt8(ascii: ":") { return true }
            return rest.allSatisfy { $0 == UInt8(ascii: " ") || $0 == dot }
        }
        return false
    }

    /// `.<spelling>` once the code points HFS+ ignores are removed and ASCII is lowercased
    /// (libgit2 `validate_dotgit_hfs_generic`).
    private static func isHFS(_ text: String, spelling: String) -> Bool {
        var folded: [UInt32] = []
        for scalar in text.unicodeScalars where !hfsIgnored.contains(scalar.value) {
            folded.append((0x41...0x5A).contains(scalar.value) ? scalar.value + 0x20 : scalar.value)
        }
        return folded == Array(("." + spelling).unicodeScalars.map(\.value))
    }

    /// `.gitmodules` as a symlink may not be: a case-insensitive prefix of it starting with
    /// `.git`, its HFS+ spellings, and its NTFS spellings, the short names `gitmod~N` and
    /// `gi7eba~N` included (libgit2 `git_path_is_gitfile` and `validate_repo_component`).
    private static func isGitmodules(_ bytes: [UInt8], _ text: String) -> Bool {
        let full = Array(".gitmodules".utf8)
        if bytes.count >= 4, bytes.count <= full.count, lowercased(bytes) == Array(full.prefix(bytes.count)) { return true }
        if isHFS(text, spelling: "gitmodules") { return true }
        return isNTFSShortName(bytes, name: "gitmodules", hashPrefix: "gi7eba")
    }

    /// libgit2's `validate_dotgit_ntfs_generic`, answering "is it that file?".
    private static func isNTFSShortName(_ bytes: [UInt8], name: String, hashPrefix: String) -> Bool {
        let n = Array(name.utf8)
        if bytes.first == dot, bytes.count >= n.count + 1, lowercased(bytes[1...n.count]) == n {
            return isNTFSEndOfName(bytes[(n.count + 1)...])
        }
        func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }
        if bytes.count >= 8, lowercased(bytes.prefix(6)) == Array(n.prefix(6)), at(6) == UInt8(ascii: "~"),
           (UInt8(ascii: "1")...UInt8(ascii: "4")).contains(at(7)) {
            return isNTFSEndOfName(bytes[8...])
        }
        let prefix = Array(hashPrefix.utf8)
        var sawTilde = false
        for i in 0..<8 {
            let c = at(i)
            if c == 0 { return false }
            if sawTilde {
                if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { return false }
            } else if c == UInt8(ascii: "~") {
                if !(UInt8(ascii: "1")...UInt8(ascii: "9")).contains(at(i + 1)) { return false }
                sawTilde = true
            } else if i >= 6 || c > 127 || lowercased([c]) != [prefix[i]] {
                return false
            }
        }
        return isNTFSEndOfName(bytes[8...])
    }

    private static func escaped(_ value: UInt32) -> String {
        value < 0x100 ? "\\x" + String(value, radix: 16, uppercase: false).leftPadded(to: 2) : "\\u{\(String(value, radix: 16))}"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
