import AsyncHTTPClient
import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `indexops-bench --load` (`make load`): the load test of `indexops run` that issue 11 asks
/// for. A benchmark that asserts: it exits 1 when a request failed, a push was never passed,
/// a pass failed, or the daemon's memory grew past the bound.
///
/// It generates the bench's repository (``Bench/generate()``: N documents × TYPES noop types)
/// in a bare remote, makes the cold pass with `reconcile --once`, then starts the built
/// `indexops run` on a loopback port with a webhook secret and JSON logs, and runs four phases
/// of the same length (`--seconds`, default 60):
///
/// - warm-up (10 s) and **baseline**: a person (git fast-import into the remote) pushes an edit
///   of `--sources` sources (default 3) every `--edit-every` seconds (default 3) and sends the
///   signed webhook a git host would send; the daemon fetches and rebuilds those indexes;
/// - **load**: the same edits, plus `--webhooks` (default 100) signed webhooks a second (open
///   loop: sent on a schedule, not after the previous answer) and `--readers` (default 20)
///   clients that loop on `GET /api/v1/status` and `GET /` (closed loop, `--reader-pause` ms
///   between requests, default 0: as fast as the daemon answers);
/// - **after**: a second baseline, to show how much two quiet phases differ on this machine.
///
/// Each pass's duration is the daemon's own (`duration` of its "Pass finished" log line, which
/// only a pass that did work writes at level info); a push's pass is the first that started
/// after it. Every second the daemon's RSS
/// (`VmRSS`) is sampled from `/proc`. The generator's own CPU (`getrusage`) is printed, so that
/// a run whose client starved the daemon can be told apart.
enum LoadTest {
    struct Settings {
        var seconds: Double
        var webhooksPerSecond: Int
        var readers: Int
        var readerPause: Double
        var editEvery: Double
        var sourcesPerEdit: Int
        /// The end-of-load RSS may be at most this many times the RSS at the start of the load.
        var memoryBound: Double

        static func fromArguments() -> Settings {
            func double(_ name: String) -> Double? {
                CommandLine.arguments.firstIndex(of: name).flatMap { CommandLine.arguments.indices.contains($0 + 1) ? Double(CommandLine.arguments[$0 + 1]) : nil }
            }
            return Settings(
                seconds: double("--seconds") ?? 60, webhooksPerSecond: Int(double("--webhooks") ?? 100), readers: Int(double("--readers") ?? 20),
                readerPause: (double("--reader-pause") ?? 0) / 1000, editEvery: double("--edit-every") ?? 3,
                sourcesPerEdit: Int(double("--sources") ?? 3), memoryBound: 1.5)
        }
    }

    static let secret = "load-test-webhook-secret"
    static let payload = Array(#"{"ref":"refs/heads/main"}"#.utf8)

    /// Runs the whole test; returns whether every assertion held.
    static func run(binary: String, documents: Int, types: Int) async throws -> Bool {
        let settings = Settings.fromArguments()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("indexops-load-\(getpid())")
        let keep = CommandLine.arguments.contains("--keep")
        defer { if keep { Bench.note("kept \(root.path)") } else { try? FileManager.default.removeItem(at: root) } }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let remote = root.appendingPathComponent("remote.git").path
        let controller = root.appendingPathComponent("controller").path
        let config = root.appendingPathComponent("indexops.yaml").path
        let secretFile = root.appendingPathComponent("webhook-secret").path
        // A TMPDIR of its own for every process it starts: the run does not depend on what else
        // is in /tmp (builds before 8fa7dd3 could crash at start while scanning a busy one).
        let tmp = root.appendingPathComponent("tmp").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        setenv("TMPDIR", tmp, 1)

        var started = Date()
        try Bench.run("git", ["init", "-q", "--bare", "-b", "main", remote])
        try Bench.fastImport(into: remote, stream: Bench.generate())
        Bench.note("generated \(documents) documents × \(types) index types in \(Bench.seconds(since: started))")
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
        let typeLines = (1...types).map { "  type\($0): { driver: noop }" }.joined(separator: "\n")
        try Data("""
            apiVersion: indexops/v1
            kind: ControllerConfig
            repository: { path: controller, url: "\(remote)", branch: main }
            reconcile: { interval: 1h, concurrency: 8, maxDeletePercent: 100 }
            indexTypes:
            \(typeLines)
            server: { webhookSecretFile: "\(secretFile)" }

            """.utf8).write(to: URL(fileURLWithPath: config))
        _ = try Bench.indexops(binary, ["validate", "--repo", controller, "--config", config], allowFailure: true)  // clones
        started = Date()
        let cold = try Bench.indexops(binary, ["reconcile", "--once", "--config", config, "-o", "json"])
        Bench.note("cold pass (reconcile --once) in \(Bench.format(cold.wall)), peak RSS \(cold.rssMiB) MiB")

        let log = root.appendingPathComponent("daemon.log")
        let daemon = try Daemon(binary: binary, config: config, folder: root, log: log)
        defer { daemon.stop() }
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(
                timeout: .init(connect: .seconds(10), read: .seconds(60)),
                connectionPool: .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        do {
            let result = try await measure(settings: settings, daemon: daemon, client: client, remote: remote, documents: documents, types: types)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private static func measure(settings: Settings, daemon: Daemon, client: HTTPClient, remote: String, documents: Int, types: Int) async throws -> Bool {
        let http = HTTP(client: client, base: try await daemon.waitForListening())
        try await http.waitFor("/readyz", seconds: 600)
        let person = Person(remote: remote, documents: documents, sources: settings.sourcesPerEdit)
        let signature = "sha256=" + HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()

        Bench.note("warm-up: 10 s of edits")
        _ = try await phase("warm-up", seconds: 10, load: false, settings: settings, daemon: daemon, http: http, person: person, signature: signature)
        var phases: [PhaseFigures] = []
        for (name, load) in [("baseline", false), ("load", true), ("after", false)] {
            Bench.note("\(name): \(Int(settings.seconds)) s\(load ? ", \(settings.webhooksPerSecond) webhooks/s and \(settings.readers) readers" : "")")
            phases.append(try await phase(name, seconds: settings.seconds, load: load, settings: settings, daemon: daemon, http: http, person: person, signature: signature))
        }
        return report(phases, settings: settings, daemon: daemon, documents: documents, types: types)
    }

    // MARK: - A phase

    struct PhaseFigures {
        var name: String
        var seconds: Double
        /// The daemon's duration of each pass that did the work of one of the phase's pushes.
        var passes: [Double] = []
        /// From each push to the end of the first pass that read it.
        var pushToPass: [Double] = []
        var pushes = 0
        var unpassed = 0
        /// Passes of any kind (idle included), from `/metrics`.
        var allPasses = 0
        var failedPasses: [String] = []
        var requests: [String: Requests] = [:]
        var webhooksScheduled = 0
        var webhookLag = 0.0
        var rss: [Int] = []
        var daemonCPU = 0.0
        var generatorCPU = 0.0
    }

    private static func phase(
        _ name: String, seconds: Double, load: Bool, settings: Settings, daemon: Daemon, http: HTTP, person: Person, signature: String
    ) async throws -> PhaseFigures {
        var figures = PhaseFigures(name: name, seconds: seconds)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        let passesBefore = try await http.passesTotal()
        let cpuBefore = (daemon.cpuSeconds(), selfCPUSeconds())
        let recorder = Recorder()

        var pushes: [Person.Push] = []
        try await withThrowingTaskGroup(of: [Person.Push].self) { group in
            group.addTask {
                // Memory, every second.
                while clock.now < deadline {
                    if let kib = daemon.rssKiB() { recorder.sample(kib) }
                    try await Task.sleep(for: .seconds(1))
                }
                return []
            }
            group.addTask {
                // The person: an edit every `editEvery` seconds, half a period in, then the host's webhook.
                var pushes: [Person.Push] = []
                var next = start + .seconds(settings.editEvery / 2)
                while next < deadline {
                    try await clock.sleep(until: next)
                    let push = try await onThread { try person.push() }
                    pushes.append(push)
                    let reply = await http.send(.webhook(signature))
                    recorder.record("webhook (person)", reply)
                    next += .seconds(settings.editEvery)
                }
                return pushes
            }
            if load {
                group.addTask {
                    // Open loop: each webhook at its time, whatever the answers to the others.
                    let interval = Duration.seconds(1) / settings.webhooksPerSecond
                    var next = start
                    var lag = Duration.zero
                    var scheduled = 0
                    await withTaskGroup(of: Void.self) { senders in
                        while next < deadline {
                            try? await clock.sleep(until: next)
                            lag = max(lag, clock.now - next)
                            scheduled += 1
                            senders.addTask { recorder.record("POST /hooks/git", await http.send(.webhook(signature))) }
                            next += interval
                        }
                    }
                    recorder.scheduled(scheduled, lag: lag)
                    return []
                }
                for reader in 0..<settings.readers {
                    group.addTask {
                        var page = reader % 2 == 1
                        while clock.now < deadline {
                            let request: HTTP.Request = page ? .get("/") : .get("/api/v1/status")
                            recorder.record(page ? "GET /" : "GET /api/v1/status", await http.send(request))
                            page.toggle()
                            if settings.readerPause > 0 { try await Task.sleep(for: .seconds(settings.readerPause)) }
                        }
                        return []
                    }
                }
            }
            for try await done in group { pushes += done }
        }
        let cpuAfter = (daemon.cpuSeconds(), selfCPUSeconds())
        let elapsed = (clock.now - start) / .seconds(1)
        figures.daemonCPU = (cpuAfter.0 - cpuBefore.0) / elapsed
        figures.generatorCPU = (cpuAfter.1 - cpuBefore.1) / elapsed

        // Every push is passed: wait for the last one's pass (the load has stopped).
        if let last = pushes.last {
            let end = clock.now + .seconds(120)
            while clock.now < end, !daemon.passes().contains(where: { Self.read($0, last) }) {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let passes = daemon.passes()
        figures.pushes = pushes.count
        var matched = Set<Int>()
        for push in pushes {
            // The first pass that did work and either names the push's commit (it fetched it,
            // maybe having started just before it) or started after the push (then it fetched
            // it; it may name the controller's own status commit replayed onto the push).
            if let i = passes.firstIndex(where: { Self.read($0, push) }) {
                figures.pushToPass.append((passes[i].seen - push.pushedAt) / .seconds(1))
                matched.insert(i)
            } else {
                figures.unpassed += 1
            }
        }
        figures.passes = matched.sorted().map { passes[$0].duration }
        figures.failedPasses = daemon.failures(after: start)
        figures.allPasses = Int(try await http.passesTotal() - passesBefore)
        (figures.requests, figures.webhooksScheduled, figures.webhookLag, figures.rss) = recorder.figures()
        return figures
    }

    /// Whether `pass` read `push`. Its start is estimated from its end as seen here, so a
    /// margin keeps a pass that started just before the push from counting by its start.
    private static func read(_ pass: Daemon.Pass, _ push: Person.Push) -> Bool {
        pass.seen > push.pushedAt && (pass.commit == push.commit || pass.seen - .seconds(pass.duration) - .milliseconds(30) > push.pushedAt)
    }

    // MARK: - The report

    private static func report(_ phases: [PhaseFigures], settings: Settings, daemon: Daemon, documents: Int, types: Int) -> Bool {
        var problems: [String] = []
        print("")
        print("indexops run under load: \(documents) documents × \(types) noop types, \(ProcessInfo.processInfo.activeProcessorCount) cores, phases of \(Int(settings.seconds)) s;"
              + " a push of \(settings.sourcesPerEdit) edited sources every \(Bench.format(settings.editEvery)); load: \(settings.webhooksPerSecond) signed webhooks/s,"
              + " \(settings.readers) readers of /api/v1/status and / (pause \(Bench.format(settings.readerPause)))")
        print("uptime: \(uptime())")
        print(Bench.pad(["phase", "pushes", "passes", "all passes", "pass p50", "pass p95", "push→passed p50", "p95", "daemon CPU", "generator CPU"],
                        [9, 7, 7, 11, 9, 9, 16, 9, 11, 13]))
        for p in phases {
            print(Bench.pad([p.name, "\(p.pushes)", "\(p.passes.count)", "\(p.allPasses)", ms(percentile(p.passes, 0.5)), ms(percentile(p.passes, 0.95)),
                             ms(percentile(p.pushToPass, 0.5)), ms(percentile(p.pushToPass, 0.95)),
                             String(format: "%.2f cores", p.daemonCPU), String(format: "%.2f cores", p.generatorCPU)],
                            [9, 7, 7, 11, 9, 9, 16, 9, 11, 13]))
            if p.unpassed > 0 { problems.append("\(p.name): \(p.unpassed) of \(p.pushes) pushes were never passed") }
            problems += p.failedPasses.map { "\(p.name): a pass failed: \($0)" }
        }
        let quiet = phases.filter { $0.name != "load" }
        if let load = phases.first(where: { $0.name == "load" }) {
            let b = phases[0], a = phases[phases.count - 1]
            if let base = median(quiet.flatMap(\.passes)), let loaded = median(load.passes) {
            print(String(format: "pass duration, load ÷ quiet (median): %.2f; p95: %.2f; push→passed, load ÷ quiet (median): %.2f; the two quiet phases differ by %.0f %% (median)",
                         loaded / base, (percentile(load.passes, 0.95) ?? 0) / (percentile(quiet.flatMap(\.passes), 0.95) ?? 1),
                         (median(load.pushToPass) ?? 0) / (median(quiet.flatMap(\.pushToPass)) ?? 1),
                         abs((median(b.passes) ?? 0) - (median(a.passes) ?? 0)) / base * 100))
            }
            print("")
            print(Bench.pad(["requests (load)", "sent", "failed", "p50", "p99", "max"], [20, 7, 7, 9, 9, 9]))
            for (name, r) in load.requests.sorted(by: { $0.key < $1.key }) {
                print(Bench.pad([name, "\(r.sent)", "\(r.failed)", ms(percentile(r.latencies, 0.5)), ms(percentile(r.latencies, 0.99)), ms(r.latencies.max())],
                                [20, 7, 7, 9, 9, 9]))
                for (what, n) in r.failures.sorted(by: { $0.key < $1.key }) { problems.append("\(name): \(n) failed: \(what)") }
            }
            print(String(format: "webhooks: %d scheduled in %.0f s (%.1f/s), the schedule slipped by %.0f ms at most",
                         load.webhooksScheduled, load.seconds, Double(load.webhooksScheduled) / load.seconds, load.webhookLag * 1000))
            let samples = load.rss
            if let first = samples.first, let last = samples.last {
                let middle = samples[samples.count / 2]
                let before = phases[0].rss.last ?? first
                let after = a.rss.last ?? last
                print("daemon RSS: end of baseline \(mib(before)); load start \(mib(first)), middle \(mib(middle)), end \(mib(last)), peak \(mib(samples.max()!)); end of the quiet phase after \(mib(after))")
                print("daemon RSS every 10 s of the load: " + stride(from: 0, to: samples.count, by: 10).map { mib(samples[$0]) }.joined(separator: ", ")
                      + "; of the quiet phase after: " + stride(from: 0, to: a.rss.count, by: 10).map { mib(a.rss[$0]) }.joined(separator: ", "))
                if Double(last) > Double(first) * settings.memoryBound {
                    problems.append("the daemon's RSS grew from \(mib(first)) to \(mib(last)) under load (bound: × \(settings.memoryBound))")
                }
            }
            for p in phases where p.name != "load" {
                for (name, r) in p.requests where r.failed > 0 { problems.append("\(p.name): \(r.failed) \(name) failed: \(r.failures)") }
            }
        }
        if !daemon.isRunning { problems.append("the daemon exited") }
        print("")
        if problems.isEmpty {
            print("ok: no request failed, every push was passed, no pass failed, RSS within × \(settings.memoryBound)")
        } else {
            print("FAILED:")
            for problem in problems { print("  " + problem) }
        }
        return problems.isEmpty
    }

    private static func ms(_ seconds: Double?) -> String { seconds.map { String(format: "%.0f ms", $0 * 1000) } ?? "-" }
    private static func mib(_ kib: Int) -> String { String(format: "%.0f MiB", Double(kib) / 1024) }
    private static func median(_ values: [Double]) -> Double? { percentile(values, 0.5) }

    /// The nearest-rank percentile.
    static func percentile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))]
    }

    private static func uptime() -> String {
        "load average " + ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    private static func selfCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Runs blocking work (a child process) on a thread of its own, off the cooperative pool.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

// MARK: - Requests

/// The answers of one kind of request.
struct Requests: Sendable {
    var sent = 0
    var failed = 0
    var latencies: [Double] = []
    /// Failures by status or error.
    var failures: [String: Int] = [:]
}

/// What the clients saw, and the daemon's RSS samples, from any task.
final class Recorder: Sendable {
    private let state = Mutex<(requests: [String: Requests], scheduled: Int, lag: Double, rss: [Int])>(([:], 0, 0, []))

    func sample(_ kib: Int) {
        state.withLock { $0.rss.append(kib) }
    }

    func record(_ name: String, _ reply: HTTP.Reply) {
        state.withLock { s in
            s.requests[name, default: Requests()].sent += 1
            s.requests[name]!.latencies.append(reply.seconds)
            if let failure = reply.failure {
                s.requests[name]!.failed += 1
                s.requests[name]!.failures[failure, default: 0] += 1
            }
        }
    }

    func scheduled(_ count: Int, lag: Duration) {
        state.withLock { $0.scheduled = count; $0.lag = lag / .seconds(1) }
    }

    func figures() -> ([String: Requests], Int, Double, [Int]) {
        state.withLock { ($0.requests, $0.scheduled, $0.lag, $0.rss) }
    }
}

/// The daemon's HTTP API through AsyncHTTPClient (SwiftNIO: a few event-loop threads, however
/// many requests are in flight).
struct HTTP: Sendable {
    let client: HTTPClient
    let base: String

    enum Request {
        case get(String)
        case webhook(String)
    }

    struct Reply {
        var status: Int?
        var body: String
        var seconds: Double
        /// Why the request failed (a status other than 2xx, or an error), or nil.
        var failure: String?
    }

    func send(_ request: Request) async -> Reply {
        var r: HTTPClientRequest
        switch request {
        case .get(let path):
            r = HTTPClientRequest(url: base + path)
        case .webhook(let signature):
            r = HTTPClientRequest(url: base + "/hooks/git")
            r.method = .POST
            r.headers.add(name: "Content-Type", value: "application/json")
            r.headers.add(name: "X-Hub-Signature-256", value: signature)
            r.body = .bytes(LoadTest.payload)
        }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let response = try await client.execute(r, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 64 << 20)
            let seconds = (clock.now - started) / .seconds(1)
            let status = Int(response.status.code)
            return Reply(status: status, body: String(buffer: body), seconds: seconds, failure: (200..<300).contains(status) ? nil : "HTTP \(status)")
        } catch {
            return Reply(status: nil, body: "", seconds: (clock.now - started) / .seconds(1), failure: "\(error)")
        }
    }

    func waitFor(_ path: String, seconds: Double) async throws {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            if await send(.get(path)).status == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchError("\(path) did not answer 200 within \(Int(seconds)) s")
    }

    /// `indexops_passes_total` summed over its results.
    func passesTotal() async throws -> Double {
        let reply = await send(.get("/metrics"))
        guard reply.status == 200 else { throw BenchError("/metrics: \(reply.failure ?? "?")") }
        return reply.body.split(separator: "\n").filter { $0.hasPrefix("indexops_passes_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}

// MARK: - The person

/// Pushes edits of a few sources into the bare remote with `git fast-import`, as one commit,
/// on top of whatever the remote's branch is (the controller's status commits included).
final class Person: Sendable {
    struct Push: Sendable {
        var commit: String
        var pushedAt: ContinuousClock.Instant
    }

    let remote: String
    let documents: Int
    let sources: Int
    private let count = Mutex(0)

    init(remote: String, documents: Int, sources: Int) {
        self.remote = remote
        self.documents = documents
        self.sources = sources
    }

    func push() throws -> Push {
        let n = count.withLock { c -> Int in
            c += 1
            return c
        }
        let marks = remote + "/person-marks"
        var stream = "commit refs/heads/main\nmark :1\ncommitter person <person@example.com> \(Int(Date().timeIntervalSince1970)) +0000\ndata 5\nedit\nfrom refs/heads/main^0\n"
        for j in 0..<sources {
            let i = ((n * sources + j) * 7_919) % documents
            stream += Bench.inline("docs/\(i % 100)/doc\(i).md", "Document \(i), edit \(n).\n")
        }
        // The controller may push between our read of the branch and our update of it: then
        // fast-import refuses the update (not a fast-forward), as a `git push` would; again.
        for _ in 0..<20 {
            if (try? Bench.fastImport(into: remote, stream: Data(stream.utf8), arguments: ["--export-marks=\(marks)"])) != nil {
                let text = try String(contentsOfFile: marks, encoding: .utf8)
                guard let commit = text.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) else { break }
                return Push(commit: commit, pushedAt: .now)
            }
            usleep(50_000)
        }
        throw BenchError("the person could not push edit \(n)")
    }
}

// MARK: - The daemon

/// `indexops run` on a free loopback port with JSON logs, whose standard error a thread
/// follows: the time each "Pass finished" line was seen, with its commit and duration.
final class Daemon: Sendable {
    struct Pass: Sendable {
        var commit: String
        var duration: Double
        var seen: ContinuousClock.Instant
    }

    private let process: Process
    private let log: URL
    private let state = Mutex<(base: String?, passes: [Pass], failures: [(ContinuousClock.Instant, String)], stop: Bool)>((nil, [], [], false))

    init(binary: String, config: String, folder: URL, log: URL) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--listen", "127.0.0.1:0", "--config", config, "--log-format", "json"]
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        Thread { self.follow() }.start()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func stop() {
        state.withLock { $0.stop = true }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    func passes() -> [Pass] { state.withLock { $0.passes } }

    func failures(after start: ContinuousClock.Instant) -> [String] {
        state.withLock { $0.failures.filter { $0.0 >= start }.map(\.1) }
    }

    func waitForListening() async throws -> String {
        let end = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < end {
            if let base = state.withLock({ $0.base }) { return base }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("indexops run did not listen: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    /// The daemon's resident memory, in KiB.
    func rssKiB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// The daemon's CPU time (user + system) so far.
    func cpuSeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let paren = text.lastIndex(of: ")") else { return 0 }
        // After the name: state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: paren)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private func follow() {
        guard let handle = try? FileHandle(forReadingFrom: log) else { return }
        var pending = Data()
        while !state.withLock({ $0.stop }) {
            guard let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty else {
                usleep(20_000)
                continue
            }
            let seen = ContinuousClock.now
            pending += chunk
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                take(line, seen: seen)
            }
        }
    }

    private func take(_ line: Data, seen: ContinuousClock.Instant) {
        let text = String(decoding: line, as: UTF8.self)
        guard text.contains("Pass f") || text.contains("Listening on"),
              let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let message = object["message"] as? String else { return }
        if message.hasPrefix("Listening on "), let address = object["address"] as? String {
            state.withLock { $0.base = "http://" + address }
        } else if message.hasPrefix("Pass finished"), let commit = object["commit"] as? String, let duration = (object["duration"] as? String).flatMap(Self.seconds) {
            state.withLock { $0.passes.append(Pass(commit: commit, duration: duration, seen: seen)) }
        } else if message.hasPrefix("Pass failed") {
            state.withLock { $0.failures.append((seen, message)) }
        }
    }

    /// `1m2s345ms` (``DurationText``) in seconds.
    static func seconds(_ text: String) -> Double? {
        var total = 0.0, number = "", unit = ""
        func flush() -> Bool {
            guard let n = Double(number) else { return number.isEmpty && unit.isEmpty }
            switch unit {
            case "h": total += n * 3600
            case "m": total += n * 60
            case "s": total += n
            case "ms": total += n / 1000
            default: return false
            }
            number = ""
            unit = ""
            return true
        }
        for c in text {
            if c.isNumber {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(c)
            } else {
                unit.append(c)
            }
        }
        return flush() ? total : nil
    }
}
