// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: Tensor <- Model <- Training <- Roles <- Topology <- Replay, Pipeline <- rlhf.
// Native libraries come from Debian packages found through pkg-config (Scripts/setup installs them).
let package = Package(
    name: "rlhf",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rlhf", targets: ["rlhf"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Model", targets: ["Model"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Topology", targets: ["Topology"]),
        .library(name: "Messaging", targets: ["Messaging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .target(
            name: "CSentencePiece",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("sentencepiece_train"), .linkedLibrary("stdc++")]
        ),
        // -O3 and no fast-math: vectorised, but every sum keeps its order (the same bits each run).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-fast-math", "-ffp-contract=off", "-Wno-psabi"])]),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: fast),
        .target(name: "Model", dependencies: ["Tensor"], swiftSettings: fast),
        .target(name: "Tokenization", dependencies: ["CSentencePiece"]),
        // Tensor only for SplitMix64, so data shuffles draw from the engine's one seeded generator.
        .target(name: "Datasets", dependencies: ["Tokenization", "Tensor"]),
        .target(name: "Messaging", dependencies: ["CZeroMQ"]),
        .target(name: "Tasks"),
        // Yams reads recipes; its node marks give the line of every key for error messages.
        .target(
            name: "Training",
            dependencies: ["Model", "Datasets", "Tokenization", "Tensor", .product(name: "Yams", package: "Yams")],
            swiftSettings: fast
        ),
        // Step 3: the role actors, the experience buffer and the coordinator; where models
        // (Training) meet messages (Messaging).
        .target(
            name: "Roles",
            dependencies: [
                "Training", "Model", "Tensor", "Tokenization", "Datasets", "Tasks", "Messaging",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fast
        ),
        // fork/exec of role processes: CPU affinity, parent-death signal and process group are set
        // in the child between fork and exec, which only C can do safely (Docs/topology.md).
        .target(name: "CProcessSpawn"),
        // Topology files (schema, validation, endpoints) and the process supervisor of `rlhf launch`.
        .target(
            name: "Topology",
            dependencies: ["Roles", "Messaging", "Training", "Model", "CProcessSpawn", .product(name: "Yams", package: "Yams")]
        ),
        // Step 3's experience log (what every trainer consumed, checksummed segments), what reads
        // it back (replay, diff, rerun) and the run report; where a finished run is looked at.
        .target(
            name: "Replay",
            dependencies: ["Roles", "Topology", "Training", "Model", "Tokenization", "Tensor", "Tasks"],
            swiftSettings: fast
        ),
        // `rlhf pipeline`: the pipeline file, the steps run as rlhf commands under the process
        // supervisor, and the SFT-versus-RLHF comparison at the end.
        .target(
            name: "Pipeline",
            dependencies: ["Topology", "Roles", "Training", "Model", "Tasks", "Tokenization", .product(name: "Yams", package: "Yams")],
            swiftSettings: fast
        ),
        // Helpers the test targets share (not part of the tool): the NaN-proof comparison of
        // numbers (`Closeness`), the block gradient check, and waiting on a condition with a
        // deadline (`waitUntil`) instead of sleeping and asserting.
        .target(name: "TestSupport", dependencies: ["Model"]),
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "Tensor", "Model", "Tokenization", "Datasets", "Messaging", "Training", "Tasks", "Roles", "Topology", "Replay", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "NativeTests", dependencies: ["Tensor", "Tokenization", "Messaging", "CBLAS"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "CKernels", "TestSupport"]),
        .testTarget(name: "MessagingTests", dependencies: ["Messaging", "CZeroMQ", "TestSupport"]),
        // Runs the built rlhf executable as a subprocess (Scripts/test builds it first).
        .testTarget(name: "CLITests", dependencies: ["rlhf", "Model", "TestSupport", "Roles", "Messaging", "Topology"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tokenization"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Tensor", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TasksTests", dependencies: ["Tasks"]),
        // A tiny supervisor the TopologyTests kill from outside (orphan checks); not part of the tool.
        .executableTarget(name: "supervisor-probe", dependencies: ["Topology"], path: "Tests/SupervisorProbe"),
        .testTarget(name: "TopologyTests", dependencies: ["Topology", "Messaging", "Training", "Model", "supervisor-probe"]),
        .testTarget(name: "RolesTests", dependencies: ["Roles", "Training", "Model", "Messaging", "Tokenization", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Topology"]),
        .testTarget(name: "ReplayTests", dependencies: ["Replay", "Roles", "Training", "Model", "TestSupport"]),
        // A test that hangs on request, for Scripts/check-watchdog; skipped in the suite.
        .testTarget(name: "WatchdogTests"),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Datasets", "Tokenization", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)

/// Numeric kernels skip overflow checks in their inner loops only where they opt in with &+ / &*;
/// -Ounchecked is deliberately not used so that bounds checks on public entry points stay.
var fast: [SwiftSetting] { [] }
