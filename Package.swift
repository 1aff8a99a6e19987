// swift-tools-version:6.1
import PackageDescription

// Module layout (STYLE.md): every arrow points down this list.
//   CYAML, CGit2, CSQLite system libraries (libyaml, libgit2, sqlite3) from Debian's -dev packages
//   CSpawn                C: starts an exec indexer's program under a supervisor that dies with us
//   FaultInjection        failpoints for crash tests (INDEXOPS_FAILPOINTS): no dependency
//   YAML                  libyaml events -> Node tree with marks -> Decodable, with limits
//   Git                   libgit2: repository, trees, commits, fetch, push, history
//   IndexOpsCore          spec/status model, validation, planner: no I/O, no clock
//   PostgresAccess        PostgreSQL through PostgresNIO: pools, transactions, classified errors
//   Indexers              the index drivers: sqlite-fts, sqlite-vector, postgres-fts, postgres-vector, exec, noop
//   IndexOpsController    file and git access over the core, the service API
//   indexops              the command line: argument parsing only
let package = Package(
    name: "indexops",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "indexops", targets: ["indexops"]),
        .library(name: "IndexOpsController", targets: ["IndexOpsController"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Between fork and exit only async-signal-safe code may run: that part is C.
        .target(name: "CSpawn"),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "FaultInjection"),
        .target(name: "Git", dependencies: ["CGit2", "FaultInjection", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "IndexOpsCore", dependencies: ["YAML", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "PostgresAccess",
            dependencies: [
                "IndexOpsCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Indexers",
            dependencies: [
                "IndexOpsCore", "CSQLite", "CSpawn", "PostgresAccess", "FaultInjection",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "IndexOpsController",
            dependencies: [
                "IndexOpsCore", "Indexers", "Git", "YAML", "FaultInjection",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "IndexOpsDaemon",
            dependencies: [
                "IndexOpsController", "IndexOpsCore", "Indexers", "Git", "YAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "indexops",
            dependencies: [
                "IndexOpsController", "IndexOpsCore", "IndexOpsDaemon", "PostgresAccess", "FaultInjection",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["BuildInfo"]
        ),
        // Stamps the commit into `indexops --version` at every build (Plugins/BuildInfo).
        .plugin(name: "BuildInfo", capability: .buildTool()),
        // `make bench`, and `make load` (its --load mode: an HTTP client and webhook signatures).
        .executableTarget(
            name: "indexops-bench",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "YAMLTests",
            dependencies: [
                "YAML",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "GitTests", dependencies: ["Git"]),
        .testTarget(
            name: "IndexOpsCoreTests",
            dependencies: [
                "IndexOpsCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Corpus"]
        ),
        // A throwaway PostgreSQL server (initdb, pg_ctl) for the test targets that need one.
        .target(name: "PostgresTestSupport", path: "Tests/PostgresTestSupport"),
        .testTarget(
            name: "PostgresAccessTests",
            dependencies: ["PostgresAccess", "IndexOpsCore", "PostgresTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "IndexersTests",
            dependencies: ["Indexers", "PostgresAccess", "PostgresTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "IndexOpsControllerTests",
            dependencies: [
                "IndexOpsController", "IndexOpsCore", "Indexers", "Git",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "IndexOpsDaemonTests", dependencies: ["IndexOpsDaemon", "IndexOpsController"]),
        .testTarget(
            name: "IndexopsCLITests",
            dependencies: ["indexops", "IndexOpsController", "PostgresTestSupport", "FaultInjection"]
        ),
    ]
)
