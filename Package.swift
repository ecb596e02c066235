// swift-tools-version:6.1
import PackageDescription

// Bora — offline inference runtime for embedded Linux. See ARCHITECTURE.md for the map.
// Dependencies point down: bora → BoraModels/BoraGGUF → BoraCore → CBoraKernels.

let optimizedC: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-math-errno"]),
]

let package = Package(
    name: "Bora",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bora", targets: ["bora"]),
        .executable(name: "bora-lite", targets: ["bora-lite"]),
        .library(name: "BoraCore", targets: ["BoraCore"]),
        .library(name: "BoraGGUF", targets: ["BoraGGUF"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C: ISA microkernels only. Stateless; no allocation; the CPU feature table is the only global.
        .target(name: "CBoraKernels", cSettings: optimizedC),
        // C: counts heap allocations by interposing malloc; linked only into executables and tests
        // that measure the zero-allocation rule.
        .target(name: "CBoraAllocCount"),
        // C: the fenced action spawn (vfork + raw credential syscalls + execve; Linux).
        .target(name: "CBoraSpawn"),
        .target(name: "BoraCore", dependencies: ["CBoraKernels"]),
        .target(name: "BoraGGUF", dependencies: ["BoraCore"]),
        .target(name: "BoraModels", dependencies: ["BoraCore"]),
        .target(name: "BoraText", dependencies: ["BoraCore", "BoraGGUF"]),
        .target(name: "BoraLM", dependencies: ["BoraCore", "BoraGGUF", "BoraText"]),
        // System libraries: libopus + libogg (Ogg Opus files) and libasound (ALSA capture).
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev", "libogg-dev"])]),
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        .target(name: "BoraAudio", dependencies: ["BoraCore", "BoraGGUF", "COpus", "CALSA"]),
        .target(name: "BoraSpeech", dependencies: ["BoraCore", "BoraGGUF", "BoraText", "BoraAudio"]),
        // Context grammars (Rhino-style YAML) → word graph → Whisper token automaton; intent results.
        // Voice-to-action: actions file, policy, dispatch (argv exec / JSON / socket), audit trail, listen loop.
        .target(name: "BoraAction", dependencies: ["BoraCore", "CBoraSpawn", "BoraAudio", "BoraSpeech", "BoraText", "BoraIntent"]),
        .target(name: "BoraIntent", dependencies: ["BoraCore", "BoraText", "BoraSpeech"]),
        // Benchmark plumbing for `bora bench` and `bora run --json`: timing statistics, allocation
        // counting, process metrics, the LLM/VAD/kernel workloads, child processes (host only).
        .target(name: "BoraBench", dependencies: ["BoraCore", "BoraGGUF", "BoraLM", "BoraAudio", "BoraSpeech", "BoraText", "CBoraKernels", "CBoraAllocCount"]),
        // The front end that also builds as Embedded Swift for aarch64 (tools/arm/build).
        .executableTarget(name: "bora-lite", dependencies: ["BoraCore", "BoraGGUF", "BoraText", "BoraLM", "BoraAudio", "BoraSpeech", "BoraIntent", "BoraAction", "BoraModels", "BoraBench"]),
        .executableTarget(
            name: "bora",
            dependencies: [
                "BoraCore", "BoraGGUF", "BoraModels", "BoraText", "BoraLM", "BoraAudio", "BoraSpeech", "BoraIntent", "BoraAction", "BoraBench", "CBoraAllocCount",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BoraCoreTests", dependencies: ["BoraCore", "CBoraKernels", "CBoraAllocCount"]),
        .testTarget(name: "BoraGGUFTests", dependencies: ["BoraGGUF", "BoraCore"]),
        .testTarget(name: "BoraModelsTests", dependencies: ["BoraModels", "BoraCore"]),
        .testTarget(name: "BoraTextTests", dependencies: ["BoraText", "BoraGGUF"]),
        .testTarget(name: "BoraAudioTests", dependencies: ["BoraAudio", "BoraCore", "BoraGGUF", "CBoraAllocCount"]),
        .testTarget(name: "BoraSpeechTests", dependencies: ["BoraSpeech", "BoraAudio", "BoraText", "BoraGGUF", "BoraCore", "CBoraAllocCount"]),
        .testTarget(name: "BoraActionTests", dependencies: ["BoraAction", "BoraIntent", "BoraSpeech", "BoraAudio", "BoraCore", "CBoraAllocCount"]),
        .testTarget(name: "BoraIntentTests", dependencies: ["BoraIntent", "BoraSpeech", "BoraText", "BoraGGUF", "BoraCore"]),
        .testTarget(name: "BoraLMTests", dependencies: ["BoraLM", "BoraText", "BoraGGUF", "BoraCore", "CBoraAllocCount"]),
    ]
)
