import ArgumentParser
import Foundation
import Glimpse

struct BenchDetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-detect",
        abstract: "Time OWL-ViT detection per image with text queries.",
        discussion: """
        For each query count: "queries" times embedding the query set (done once per set), \
        "detect" times one image end to end with the cached queries — decoding excluded, \
        preprocessing, image tower, heads and post-processing included. Median over \
        --repeats after one warm-up. Tools/bench/bench_owlvit_reference.py is the Python side.
        """
    )

    @OptionGroup var options: ModelOptions

    @Option(help: "Image to detect in.")
    var image: String

    @Option(name: .long, parsing: .upToNextOption, help: "Query counts to time (each 1 to \(Limits.queries)).")
    var queries: [Int] = [1, 10]

    @Option(parsing: .unconditional, help: "Timed repetitions per measurement, 1 to \(Limits.repeats) (median reported).")
    var repeats: Int = 5

    static let labels = ["a person", "a chair", "a dining table", "a bottle", "a cup", "a plate", "a window",
                         "a tray", "a glass", "a hat", "a jacket", "a fork"]

    func validate() throws {
        try Check.range(repeats, "--repeats", 1 ... Limits.repeats)
        guard !queries.isEmpty else { throw ValidationError("--queries needs at least one query count") }
        try Check.range(queries, "--queries", 1 ... Limits.queries)
        guard !image.isEmpty else { throw ValidationError("--image is an empty path") }
    }

    func run() throws {
        options.apply()
        let start = Date()
        let owl = try options.open(OwlViT.self)
        let loadMs = Date().timeIntervalSince(start) * 1000
        let picture = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image))
        var output = Output(format: options.format, columns: ["task", "queries", "threads", "median_ms"])
        func emit(_ task: String, _ n: Int, _ ms: Double) {
            output.emit([("task", .string(task)), ("queries", .int(n)), ("threads", .int(Parallel.threadCount)),
                         ("median_ms", .float(Float(ms)))])
        }
        emit("load", 0, loadMs)
        for n in queries {
            let texts = (0..<n).map { Self.labels[$0 % Self.labels.count] }
            emit("queries", n, try time { _ = try owl.textQueries(texts) })
            let cached = try owl.textQueries(texts)
            emit("detect", n, try time { _ = try owl.detect([picture], queries: cached) })
        }
        output.finish()
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        try body()
        var samples: [Double] = []
        for _ in 0 ..< repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return samples.sorted()[samples.count / 2]
    }
}
