import Foundation
import PackagePlugin

/// Stamps the `indexops` binary with the commit it is built from, for `indexops --version`.
///
/// A prebuild command (it runs at every `swift build`, with no make) writes `BuildInfo.swift`:
/// `git rev-parse HEAD` of the package, with `-dirty` when tracked files have uncommitted
/// changes; `$INDEXOPS_COMMIT` instead when it is set (a build without `.git`, such as the
/// container image's); `unknown` when neither is there. The file is rewritten only when its
/// text changes, so that an unchanged commit recompiles nothing.
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
        return [
            .prebuildCommand(
                displayName: "Stamping the commit into \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, output.path],
                environment: environment,
                outputFilesDirectory: output)
        ]
    }
}
