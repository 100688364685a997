import ArgumentParser
import Foundation
import Glimpse

/// `glimpse train shapes`: writes the synthetic shapes set (PNG files and a JSON Lines
/// manifest), the worked example of fine-tuning and a quick check that training learns.
struct TrainShapesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shapes",
        abstract: "Write a synthetic image–caption set of coloured shapes (\"a red circle\") to train on.",
        discussion: "Each sample is a pure function of (--seed, index): samples --start ..< --start + --count. Writes shape-NNNNNN.png files and manifest.jsonl into --out."
    )

    @Option(help: "Output folder (created).") var out: String
    @Option(parsing: .unconditional, help: "Samples to write.") var count = 480
    @Option(parsing: .unconditional, help: "Index of the first sample (give held-out sets a range of their own).") var start = 0
    @Option(parsing: .unconditional, help: "Image side in pixels.") var side = 32
    @Option(parsing: .unconditional, help: "Seed of the set.") var seed: UInt64 = 0

    func validate() throws {
        guard !out.isEmpty else { throw ValidationError("--out is empty: give an output folder") }
        try Check.range(count, "--count", 1 ... Limits.syntheticSamples)
        try Check.range(start, "--start", 0 ... Limits.syntheticSamples)
        try Check.range(side, "--side", 8 ... Limits.preprocessedSide)
    }

    func run() throws {
        let path = try SyntheticShapes(side: side, seed: seed).write(start ..< start + count, to: out)
        print(path)
    }
}
