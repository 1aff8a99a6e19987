import Foundation
import PackagePlugin

/// Stamps the `indexops` binary with the commit it is built from, for `indexops --version`.
///
/// A build command writes `BuildInfo.swift`: `git rev-parse HEAD` of the package, with
/// `-dirty` when tracked files had uncommitted changes; `$INDEXOPS_COMMIT` instead when it is
/// set (a build without `.git`, such as the container image's); `unknown` when neither is
/// there. It runs with a plain `swift build` (no make) whenever git's `HEAD`, its reflog or
/// its index changed since the last build — a commit, a checkout, `git add` — and rewrites
/// the file only when its text changes, so an unchanged commit recompiles nothing. (A
/// prebuild command would not do: SwiftPM runs those only when it plans the build again.)
/// Limit: an edit that is not staged marks the build `-dirty` only at the next of those
/// events.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo")
        let script = #"""
            commit=${INDEXOPS_COMMIT:-}
            if [ -z "$commit" ]; then
                commit=$(git -C "$1" rev-parse HEAD 2>/dev/null) || commit=unknown
                if [ "$commit" != unknown ] && [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
                    commit="$commit-dirty"
                fi
            fi
            mkdir -p "$2"
            text="/// The commit this binary was built from (Plugins/BuildInfo).
            enum BuildInfo { static let commit = \"$commit\" }"
            [ "$(cat "$2/BuildInfo.swift" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" > "$2/BuildInfo.swift"
            """#
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        if let commit = ProcessInfo.processInfo.environment["INDEXOPS_COMMIT"] { environment["INDEXOPS_COMMIT"] = commit }
        // .git is a folder, or in a worktree a file naming the folder.
        let package = context.package.directoryURL
        var gitDirectory = package.appendingPathComponent(".git")
        if let text = try? String(contentsOf: gitDirectory, encoding: .utf8), text.hasPrefix("gitdir: ") {
            let path = text.dropFirst("gitdir: ".count).trimmingCharacters(in: .whitespacesAndNewlines)
            gitDirectory = path.hasPrefix("/") ? URL(fileURLWithPath: path) : package.appendingPathComponent(path)
        }
        let inputs = ["HEAD", "logs/HEAD", "index"].map { gitDirectory.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        return [
            .buildCommand(
                displayName: "Stamping the commit into \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", package.path, output.path],
                environment: environment,
                inputFiles: inputs,
                outputFiles: [output.appendingPathComponent("BuildInfo.swift")])
        ]
    }
}
