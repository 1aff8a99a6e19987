import Foundation
import Git
import IndexOpsCore

/// `indexops init`: the files a new repository starts with.
public enum Scaffold {
    static let spec = """
        # A document and the indexes it should have. See `indexops validate --help`, and the
        # reference of every field in indexops's own specs/document-index.yaml.
        apiVersion: indexops/v1
        kind: DocumentIndex
        metadata:
          name: example
          createdBy: you@example.com
        spec:
          source: docs/example.md
          indexes:
            fulltext: present
            vector: present

        """

    static let document = """
        # An example document

        indexops indexes this file because specs/example.yaml declares it.

        """

    static let configuration = """
        # indexops controller configuration. Keep it outside the watched repository:
        # it decides which programs run. Every field: specs/controller-config.yaml in indexops.
        apiVersion: indexops/v1
        kind: ControllerConfig
        repository:
          path: /var/lib/indexops/repo
          # url: git@github.com:acme/index-specs.git
          branch: main
        reconcile: { interval: 30s, concurrency: 4, operationTimeout: 10m, maxRetries: 5 }
        indexTypes:
          fulltext: { driver: sqlite-fts }
          vector: { driver: sqlite-vector }
        server: { listen: "127.0.0.1:8080" }

        """

    /// Writes what is missing and commits the repository files as `user`.
    /// - Returns: the paths written.
    public static func create(repo: String, config: String?, user: String?) throws -> [String] {
        let root = URL(fileURLWithPath: repo).standardizedFileURL.path
        var written: [String] = []
        let manager = FileManager.default
        if !manager.fileExists(atPath: root + "/.git") {
            try manager.createDirectory(atPath: root, withIntermediateDirectories: true)
            _ = try Repository.initialize(at: root, branch: "main")
            written.append(root + "/.git")
        }
        var added: [String] = []
        for (path, text) in [("specs/example.yaml", spec), ("docs/example.md", document)] {
            let full = root + "/" + path
            guard !manager.fileExists(atPath: full) else { continue }
            try manager.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
            added.append(path)
            written.append(path)
        }
        if let config, !manager.fileExists(atPath: config) {
            try Data(configuration.utf8).write(to: URL(fileURLWithPath: config))
            written.append(config)
        }
        if !added.isEmpty {
            let repository = try Repository.open(at: root)
            let who = try user ?? IndexService.gitUser(repository) ?? "indexops init <indexops@localhost>"
            let signature = try IndexService.signature(who, time: Date())
            let head = try repository.branchTip(Workspace.currentBranch(gitDirectory: repository.gitDirectory) ?? "main")
            let edits = try added.map { PathEdit.write($0, try Data(contentsOf: URL(fileURLWithPath: root + "/" + $0))) }
            if let commit = try repository.commit(
                edits, on: Workspace.currentBranch(gitDirectory: repository.gitDirectory) ?? "main", parent: head,
                message: "Start indexops: an example spec and document", author: signature)
            {
                try repository.publish(to: commit)
            }
        }
        return written
    }
}
