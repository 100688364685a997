import Foundation
import GlimpseBase
import GlimpseFuzzTargets
import XCTest

/// Replays every committed fuzz input — the seed corpora in `Tests/Fixtures/fuzz/<target>/` and
/// the crashers the fuzzer found in `Tests/Fixtures/fuzz/crashers/<target>/` — through the same
/// entry points libFuzzer drives (`Tools/fuzz/run.sh`). A crash fails the run outright; an input
/// refused with anything but a `GlimpseError` fails the test, naming the input.
final class HostileFuzzCorpusTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    override class func tearDown() {
        FuzzTarget.removeScratchFiles()
        super.tearDown()
    }

    /// Replays `target`'s inputs; returns how many of its seeds were accepted.
    @discardableResult
    func replay(_ target: FuzzTarget, file: StaticString = #filePath, line: UInt = #line) -> Int {
        let folders = FuzzCorpus.folders(of: target, fixtures: Self.fixtures)
        let seeds = FuzzCorpus.files(under: folders[0])
        XCTAssertGreaterThanOrEqual(seeds.count, 3, "seed corpus \(folders[0].path) is missing", file: file, line: line)
        var accepted = 0
        for url in seeds + FuzzCorpus.files(under: folders[1]) {
            guard let data = FileManager.default.contents(atPath: url.path) else {
                XCTFail("cannot read \(url.path)", file: file, line: line)
                continue
            }
            let outcome = target.run([UInt8](data))
            XCTAssertTrue(outcome.isClean, "\(url.path): refused with a raw error: \(outcome)", file: file, line: line)
            if case .accepted = outcome, seeds.contains(url) { accepted += 1 }
        }
        return accepted
    }

    // Each corpus holds valid files as well as broken ones: a target that refuses everything
    // (a harness writing its files wrongly, say) would otherwise go unnoticed.
    func testSafetensorsCorpus() { XCTAssertGreaterThan(replay(.safetensors), 0) }
    func testTorchCorpus() { XCTAssertGreaterThan(replay(.torch), 0) }
    func testImageCorpus() { XCTAssertGreaterThan(replay(.image), 0) }
    func testConfigCorpus() { XCTAssertGreaterThan(replay(.config), 0) }
    func testTokenizerCorpus() { XCTAssertGreaterThan(replay(.tokenizer), 0) }

    /// Every target has a corpus and a test here.
    func testEveryTargetIsReplayed() {
        for target in FuzzTarget.allCases {
            let seeds = FuzzCorpus.files(under: FuzzCorpus.folders(of: target, fixtures: Self.fixtures)[0])
            XCTAssertFalse(seeds.isEmpty, "no seed corpus for \(target.rawValue)")
        }
        XCTAssertEqual(FuzzTarget.allCases.count, 5, "a new fuzz target needs its corpus test above")
    }
}
