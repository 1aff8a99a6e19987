import Foundation
import Testing

/// A running `indexops run` on a free loopback port (`--listen 127.0.0.1:0`; the port is read
/// from its "Listening on" log line), with an HTTP client over `curl`. ``stop()`` kills it if it
/// still runs: call it in a `defer`.
final class DaemonProcess {
    let process: Process
    let err: URL
    let out: URL
    private(set) var base = ""

    init(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws {
        out = folder.appendingPathComponent(".daemon-out-\(UUID().uuidString)")
        err = folder.appendingPathComponent(".daemon-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process = Process()
        process.executableURL = Harness.binary
        process.arguments = ["run", "--listen", "127.0.0.1:0"] + arguments
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        do {
            try Harness.waitFor(seconds: 120) {
                if let match = self.stderr.firstMatch(of: /Listening on (http:\/\/127\.0\.0\.1:[0-9]+)/) {
                    self.base = String(match.1)
                    return true
                }
                return !self.process.isRunning
            }
            guard !base.isEmpty else { throw HarnessError("indexops run ended before listening: \(stderr)") }
        } catch {
            stop()
            throw error
        }
    }

    var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

    /// Kills the process if it still runs and waits for it.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Sends a signal.
    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    struct Reply {
        var status: Int
        var body: String
    }

    /// An HTTP request with curl; the body, if any, from a file.
    func request(_ method: String, _ path: String, headers: [String] = [], bodyFile: URL? = nil) throws -> Reply {
        var arguments = ["curl", "-s", "-S", "--max-time", "60", "-X", method, "-w", "\n%{http_code}"]
        for h in headers { arguments += ["-H", h] }
        if let bodyFile { arguments += ["--data-binary", "@" + bodyFile.path] }
        arguments.append(base + path)
        let text = try Harness.output(arguments, in: FileManager.default.temporaryDirectory)
        guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else {
            throw HarnessError("no status from curl: \(text)")
        }
        return Reply(status: status, body: String(text[..<newline]))
    }

    func get(_ path: String) throws -> Reply { try request("GET", path) }

    /// The value of a metric line (`name{labels}` exactly as written, without the `shard`
    /// label that every series has), or nil.
    func metric(_ series: String) throws -> Double? {
        for raw in try get("/metrics").body.split(separator: "\n") {
            let line = raw.replacing(/shard="[^"]*",?/, with: "").replacing("{}", with: "")
            guard line.hasPrefix(series + " ") else { continue }
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// The sum of a metric's series over all labels.
    func metricSum(_ name: String) throws -> Double {
        try get("/metrics").body.split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }
}

/// Checks Prometheus text format: comments are `# HELP` or `# TYPE`; every other line is
/// `name{label="value",…} number`. Returns the offending lines.
func prometheusProblems(_ text: String) -> [String] {
    let sample = /[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (\+Inf|-Inf|NaN|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)/
    return text.split(separator: "\n").map(String.init).filter { line in
        if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { return false }
        return line.wholeMatch(of: sample) == nil
    }
}
