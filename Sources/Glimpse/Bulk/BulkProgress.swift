import Foundation

/// How far a bulk run is, reported after every batch (for a progress bar).
public struct BulkProgress: Sendable {
    /// Dataset items (records and failures) accounted for, earlier runs of the job included.
    public let done: Int
    /// Items committed by earlier runs, skipped by this one.
    public let resumed: Int
    public let outputs: Int
    public let failed: Int
    /// All items of the dataset (or shard) when known in advance.
    public let total: Int?
    /// Seconds since this run started.
    public let elapsed: Double

    /// Items per second in this run.
    public var rate: Double { elapsed > 0 ? Double(done - resumed) / elapsed : 0 }

    /// Seconds left at the current rate, when the total is known.
    public var eta: Double? {
        guard let total, rate > 0 else { return nil }
        return Double(max(0, total - done)) / rate
    }
}

/// The totals of a bulk job, as `summary.json` has them.
public struct BulkSummary: Sendable, Equatable {
    /// Dataset items read (records and failures), all runs together.
    public var recordsIn: Int
    public var outputs: Int
    public var failed: Int
    /// Seconds spent processing, all runs together.
    public var elapsed: Double
    public var chunks: Int
    /// Items committed by earlier runs when this one started.
    public var resumed: Int

    /// Items per second over the whole job.
    public var rate: Double { elapsed > 0 ? Double(recordsIn) / elapsed : 0 }

    public var json: BulkJSON {
        .object([("in", .int(recordsIn)), ("out", .int(outputs)), ("failed", .int(failed)),
                 ("chunks", .int(chunks)), ("elapsed_s", .double((elapsed * 1000).rounded() / 1000)),
                 ("rate_per_s", .double((rate * 10).rounded() / 10))])
    }

    /// One line for standard error.
    public var line: String {
        "\(recordsIn) in, \(outputs) out, \(failed) failed" + (resumed > 0 ? " (\(resumed) from earlier runs)" : "")
            + String(format: ", %.1f s, %.1f records/s", elapsed, rate)
    }
}
