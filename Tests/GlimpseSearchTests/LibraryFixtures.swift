import Foundation
import XCTest
@testable import GlimpseSearch

/// Photos written by the tests, the tiny random CLIP checkpoint, and the independent
/// reference for everything a library computes: `CLIP.embedEach` plus plain loops.
enum LibraryFixtures {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let model = fixtures.appendingPathComponent("clip-tiny").path
    static func image(_ name: String) -> String { fixtures.appendingPathComponent("images/\(name)").path }

    static func clip() throws -> CLIP { try CLIP(folder: model) }

    /// A fresh temporary folder, removed at the end of `test`.
    static func temporaryFolder(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.resolvingSymlinksInPath().path
    }

    /// A smooth, seeded picture (gradients and waves), different for every seed.
    static func picture(seed: UInt64, width: Int = 96, height: Int = 72) -> RGBImage {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        func random() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let f = (0 ..< 9).map { _ in random() * 12 + 1 }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0 ..< height {
            for x in 0 ..< width {
                let u = Double(x) / Double(width), v = Double(y) / Double(height)
                for c in 0 ..< 3 {
                    let value = 0.5 + 0.25 * sin(f[3 * c] * u + f[3 * c + 1] * v) + 0.25 * cos(f[3 * c + 2] * u * v * 3)
                    pixels[(y * width + x) * 3 + c] = UInt8(max(0, min(255, value * 255)))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Writes picture `seed` as a PNG at `folder/name`, creating folders.
    @discardableResult
    static func writePhoto(_ folder: String, _ name: String, seed: UInt64, width: Int = 96, height: Int = 72) throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try PNGEncoder.write(picture(seed: seed, width: width, height: height), to: URL(fileURLWithPath: path))
        return path
    }

    /// Independent reference: normalised embeddings of image files from `CLIP.embedEach`.
    static func referenceEmbeddings(_ paths: [String]) throws -> [String: [Float]] {
        let rows = try clip().embedEach(imageFiles: paths)
        var out: [String: [Float]] = [:]
        for (path, row) in zip(paths, rows) { out[path] = try row.get() }
        return out
    }

    /// Path → embedding as the library holds them (from the catalogue and the mapped file).
    static func libraryEmbeddings(_ library: PhotoLibrary) throws -> [String: [Float]] {
        let snapshot = try library.snapshot()
        var out: [String: [Float]] = [:]
        for file in snapshot.files { out[file.fullPath] = snapshot.embeddings.row(file.slot) }
        return out
    }

    static func index(_ library: PhotoLibrary, _ folders: [String], batchSize: Int = 4) throws -> IndexSummary {
        let clip = try clip()
        let indexer = try LibraryIndexer(library: library, clip: clip, model: LibraryModel(spec: model, clip: clip))
        indexer.batchSize = batchSize
        return try indexer.index(folders: folders)
    }

    /// Runs the built `glimpse` executable.
    static func glimpse(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    static var executable: URL {
        #if os(macOS)
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("glimpse")
        }
        #endif
        return Bundle.main.bundleURL.appendingPathComponent("glimpse")
    }
}

func assertEmbeddingsEqual(_ actual: [String: [Float]], _ expected: [String: [Float]], tolerance: Float = 1e-5,
                           file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(Set(actual.keys), Set(expected.keys), "catalogued paths", file: file, line: line)
    for (path, values) in expected {
        guard let got = actual[path] else { continue }
        XCTAssertEqual(got.count, values.count, path, file: file, line: line)
        let worst = zip(got, values).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, "\(path): max difference \(worst)", file: file, line: line)
    }
}
