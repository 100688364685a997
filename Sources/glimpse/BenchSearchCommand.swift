import ArgumentParser
import Foundation
import Glimpse
import GlimpseSearch

struct BenchSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-search",
        abstract: "Time exact search over a photo library.",
        discussion: """
        "load" is opening the library (catalogue rows read, embeddings mapped); "search" one \
        query (a random photo's embedding, slightly perturbed: "more like this"; top --top) against every embedding, median and 99th \
        percentile over --repeats; "batched" the time per query when 16 queries share one \
        matrix product. No model is loaded. Tools/bench/make_search_library.py writes \
        synthetic libraries of any size.
        """
    )

    @Option(name: .long, help: "The library folder.")
    var db: String

    @Option(help: "Results per query.")
    var top: Int = 10

    @Option(parsing: .unconditional, help: "Timed queries, 1 to \(Limits.repeats).")
    var repeats: Int = 50

    @Option(help: "Also time approximate search through FAISS with this index (e.g. \"HNSW32,Flat\", \"IVF1024,Flat\"), and its recall@--top against exact search.")
    var approximate: String?

    @Option(help: "efSearch (HNSW) or nprobe (IVF) of the approximate index.")
    var searchParameter: Double?

    @Option(parsing: .unconditional, help: "Worker threads, 1 to \(Limits.threads).")
    var threads: Int?

    func validate() throws {
        try Check.range(top, "--top", 1 ... Limits.searchResults)
        try Check.range(repeats, "--repeats", 1 ... Limits.repeats)
        try Check.range(threads, "--threads", 1 ... Limits.threads)
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let started = Date()
        let snapshot = try PhotoLibrary(folder: db).snapshot()
        let load = Date().timeIntervalSince(started)
        var generator = SystemRandomNumberGenerator()
        // "More like this" queries: a random catalogued photo's embedding, slightly perturbed.
        func randomQuery() -> SearchQuery {
            var v = (0 ..< snapshot.model.dimension).map { _ in Float.random(in: -0.02 ... 0.02, using: &generator) }
            if let file = snapshot.files.randomElement(using: &generator) {
                for (i, x) in snapshot.embeddings.row(file.slot).enumerated() { v[i] += x }
            }
            return SearchQuery(terms: [(.embedding(v), 1)], top: top)
        }
        _ = try snapshot.search([randomQuery()], clip: nil)   // warm-up: pages the embeddings in
        var times: [Double] = []
        for _ in 0 ..< repeats {
            let query = randomQuery()
            let t = Date()
            _ = try snapshot.search([query], clip: nil)
            times.append(Date().timeIntervalSince(t))
        }
        times.sort()
        let batch = (0 ..< 16).map { _ in randomQuery() }
        let t = Date()
        _ = try snapshot.search(batch, clip: nil)
        let batched = Date().timeIntervalSince(t) / 16
        let p99 = times[min(times.count - 1, Int(Double(times.count) * 0.99))]
        let line = String(format: "%d embeddings of %d: load %.1f ms, search median %.2f ms, p99 %.2f ms, batched %.2f ms/query\n",
                          snapshot.files.count, snapshot.model.dimension, load * 1000, times[times.count / 2] * 1000, p99 * 1000, batched * 1000)
        FileHandle.standardOutput.write(Data(line.utf8))
        if let approximate { try benchApproximate(snapshot, approximate, queries: (0 ..< repeats).map { _ in randomQuery() }) }
    }

    private func benchApproximate(_ snapshot: LibrarySnapshot, _ description: String, queries: [SearchQuery]) throws {
        #if os(Linux)
        let started = Date()
        let index = try ApproximateIndex(snapshot: snapshot, description: description)
        let build = Date().timeIntervalSince(started)
        if let searchParameter { try index.set(description.hasPrefix("IVF") ? "nprobe" : "efSearch", searchParameter) }
        var times: [Double] = []
        for query in queries {
            let t = Date()
            _ = try index.search([query], clip: nil)
            times.append(Date().timeIntervalSince(t))
        }
        times.sort()
        let vectors = queries.compactMap { query -> [Float]? in
            if case .embedding(let v) = query.terms.first?.term { return v } else { return nil }
        }
        let recall = try index.recall(at: top, queries: vectors)
        let line = String(format: "approximate %@: build %.1f s, search median %.3f ms, p99 %.3f ms, recall@%d %.3f\n",
                          description, build, times[times.count / 2] * 1000, times[min(times.count - 1, Int(Double(times.count) * 0.99))] * 1000, top, recall)
        FileHandle.standardOutput.write(Data(line.utf8))
        #else
        throw GlimpseError.unsupported("approximate search needs FAISS, which this build does not include")
        #endif
    }
}
