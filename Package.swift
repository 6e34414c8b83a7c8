// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "phc",
    products: [
        .executable(name: "phc-agent", targets: ["phc-agent"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries from the system, used directly. libcurl's headers come from
        // libcurl4-openssl-dev; the library itself is bound on first use (see ccurl.h).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // zlib from zlib1g-dev, linked from its static archive (by PHCCore): one shared library fewer
        // for the loader to find, map and search at every start.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libyaml from libyaml-dev, linked from its static archive: the YAML parser without the
        // full Foundation (and its 45 MB) that Yams pulls in, and no libyaml.so to find on a host.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        // Small C shims for what Swift cannot do safely: fork-based filesystem probes.
        .target(name: "CPHCSystem", cSettings: [.define("_GNU_SOURCE")]),
        // Where Swift's CommandLine finds argv, without the standard library's /proc/self/maps scan at
        // every start (see process_arguments.c); linked by the executables only.
        .target(name: "CProcessArguments"),
        // Ed25519 batch verification (one multi-scalar multiplication for many signatures), which
        // swift-crypto does not offer: a collector pass checks thousands of signatures.
        .target(name: "CEd25519Batch"),

        // Foundation-light shared core: manifest, DSSE signing, atomic files, gzip.
        .target(
            name: "PHCCore",
            dependencies: [
                "CCurl", "CZlib", "CPHCSystem", "CEd25519Batch",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libz.a"])]
        ),
        // YAML configuration reading with file/line errors, shared by agent and collector.
        .target(
            name: "PHCConfig", dependencies: ["PHCCore", "CYAML"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libyaml.a"])]
        ),
        // Everything the agent does, testable without the binary.
        .target(
            name: "PHCAgent",
            dependencies: [
                "PHCCore", "PHCConfig", "CPHCSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Everything the collector does, testable without the binary.
        .target(
            name: "PHCCollector",
            dependencies: ["PHCCore", "PHCConfig", "CSQLite", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "phc-collector",
            dependencies: [
                "PHCCollector", "PHCConfig", "PHCCore", "CProcessArguments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "phc-agent",
            dependencies: [
                "PHCAgent", "PHCConfig", "PHCCore", "CProcessArguments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(name: "PHCTestSupport", dependencies: ["PHCCore"], path: "Tests/PHCTestSupport"),
        .testTarget(
            name: "PHCCoreTests",
            dependencies: ["PHCCore", "PHCTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "PHCAgentTests",
            dependencies: [
                "PHCAgent", "PHCConfig", "PHCCore", "PHCTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "PHCCollectorTests",
            dependencies: [
                "PHCCollector", "PHCConfig", "PHCCore", "PHCTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "phc-agent", "phc-collector", "PHCCollector", "PHCCore", "PHCTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ]
)

// How the deployable binaries (release, --static-swift-stdlib) are linked, for start-up: a timer starts
// phc-agent every minute on every host, and most of a bare start was the dynamic loader's work.
// - no PIE: no relative relocations to apply to every page of pointers at each start (48,000 of
//   them); the libraries, heap and stack stay randomised, the binary's own image does not;
// - libstdc++ and libgcc linked statically (scripts/link/libstdc++.so says how), one DSO less to load;
// - no export of our symbols (the toolchain's -export-dynamic): a smaller symbol table, nothing uses it.
// The deployable build also passes --disable-local-rpath (no $ORIGIN run path to search for libc, libm
// and zlib at each start; SwiftPM has no manifest setting for it), as every script does.
// scripts/bench-agent measures the result.
let linkFolder = String(#filePath.dropLast("Package.swift".count)) + "scripts/link"
let deployableLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-Xclang-linker", "-no-pie", "-Xclang-linker", "-static-libgcc", "-Xlinker", "--no-export-dynamic",
            "-L", linkFolder,
        ], .when(platforms: [.linux], configuration: .release))
]
for target in package.targets where target.type == .executable {
    target.linkerSettings = (target.linkerSettings ?? []) + deployableLinking
}

for target in package.targets where [.regular, .executable, .test].contains(target.type) {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
            .enableUpcomingFeature("InternalImportsByDefault"),
            .swiftLanguageMode(.v6),
        ]
}
