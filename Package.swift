// swift-tools-version:6.0
import PackageDescription

/// Glimpse: CLIP, BLIP and OWL-ViT inference in Swift.
///
/// Hot elementwise kernels live in the C target `CGlimpseKernels`, compiled once per
/// instruction-set level (AVX-512, AVX2, baseline) and chosen at run time, so library users
/// get fast code without special compiler flags. Linear layers run on weights packed once at
/// load (oneDNN on Linux, in fp32, bf16 or int8); other products go to BLAS: OpenBLAS on
/// Linux, Accelerate on Apple platforms.


let package = Package(
    name: "Glimpse",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Glimpse", targets: ["Glimpse"]),
        .executable(name: "glimpse", targets: ["glimpse"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // CSV / TSV dataset manifests, parsed as a stream.
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        // The photo library's catalogue (SQLite with migrations).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // `glimpse serve`: the HTTP server.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Tests only: a local server that answers like the Hugging Face Hub.
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"]), .brew(["jpeg-turbo"])]),
        // Image helpers in C: JPEG decoding on libjpeg (its longjmp errors stay in C) and EXIF transposes.
        .target(name: "CGlimpseImage", dependencies: ["CJPEG"]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16",
                       providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"]), .brew(["libarchive"])]),
        // Pre-packed linear layers run on oneDNN on Linux (Debian's libdnnl-dev, OpenMP build).
        .target(name: "CGlimpseKernels", linkerSettings: [
            .linkedLibrary("dnnl", .when(platforms: [.linux])), .linkedLibrary("gomp", .when(platforms: [.linux])),
        ]),
        // Errors, limits, checked file reading and config reading: what every module needs,
        // so the tokenizers and image decoders do not pull in BLAS.
        .target(name: "GlimpseBase"),
        .target(name: "GlimpseCore",
                dependencies: ["GlimpseBase", "CGlimpseKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]),
        .target(name: "GlimpseText", dependencies: ["GlimpseBase", "CZlib"]),
        .target(name: "GlimpseImage", dependencies: ["GlimpseBase", "CGlimpseImage", "CPNG"]),
        // Streamed dataset readers (manifests, CSV/TSV, folders, WebDataset tar shards) for
        // bulk jobs: one record or one failure at a time, never a whole shard in memory.
        .target(name: "GlimpseData", dependencies: [
            "GlimpseBase", "CArchive", .product(name: "CSV", package: "CSV.swift"),
        ]),
        .target(name: "Glimpse", dependencies: [
            "GlimpseCore", "GlimpseText", "GlimpseImage", "GlimpseData", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // FAISS (approximate nearest neighbours) through a C interface: Debian's libfaiss-dev
        // ships only the C++ static library, which needs OpenMP and BLAS/LAPACK at link time.
        .target(name: "CFaissShim", linkerSettings: [
            .linkedLibrary("faiss"), .linkedLibrary("gomp"), .linkedLibrary("blas"), .linkedLibrary("lapack"),
        ]),
        // Photo library: a catalogue in SQLite (GRDB), embeddings in a memory-mapped file,
        // incremental indexing, exact search, near-duplicate groups, FAISS approximate search.
        .target(name: "GlimpseSearch", dependencies: [
            "Glimpse", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .target(name: "CFaissShim", condition: .when(platforms: [.linux])),
        ]),
        // The HTTP API and web page over the models and a photo library (Hummingbird).
        .target(name: "GlimpseServer", dependencies: [
            "Glimpse", "GlimpseSearch", .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "glimpse", dependencies: [
            "Glimpse", "GlimpseSearch", "GlimpseServer", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Fuzzing: the entry points (one per parser), the libFuzzer/replay executable, and the
        // test that replays the committed seed corpora and crashers (Tools/fuzz/run.sh fuzzes).
        .target(name: "GlimpseFuzzTargets", dependencies: ["Glimpse"]),
        .executableTarget(name: "glimpse-fuzz", dependencies: ["GlimpseFuzzTargets"], path: "Sources/GlimpseFuzz"),
        .testTarget(name: "GlimpseFuzzTests", dependencies: ["GlimpseFuzzTargets"]),
        .testTarget(name: "GlimpseCoreTests", dependencies: ["GlimpseCore"]),
        .testTarget(name: "GlimpseTextTests", dependencies: ["GlimpseText"]),
        .testTarget(name: "GlimpseImageTests", dependencies: ["GlimpseImage", "GlimpseCore"]),
        .testTarget(name: "GlimpseDataTests", dependencies: ["GlimpseData", "CArchive"]),
        .testTarget(name: "GlimpseTests", dependencies: ["Glimpse"]),
        .testTarget(name: "GlimpseServerTests", dependencies: [
            "GlimpseServer", .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "HubTests", dependencies: [
            "Glimpse",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "GlimpseSearchTests", dependencies: ["GlimpseSearch", "glimpse"]),
        .testTarget(name: "CLITests", dependencies: ["glimpse", .product(name: "Crypto", package: "swift-crypto")]),
    ]
)
