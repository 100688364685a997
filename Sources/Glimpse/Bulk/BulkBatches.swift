import Foundation
import GlimpseCore
import GlimpseData

/// One record's outcome in a bulk job, in dataset order: its output, or why it failed.
public enum BulkOutcome<Output> {
    case output(DatasetRecord, Output)
    case failure(DatasetFailure)
}

/// Consecutive dataset items read for one `prepare` / `process` round: at most `batchSize`
/// records, and never across a chunk boundary.
struct BulkBatch: Sendable {
    var positions: [Int] = []
    var items: [DatasetItem] = []
    var records: [DatasetRecord] = []
    /// The last batch of its chunk.
    var endsChunk = false
}

/// Reads items into batches, closing a batch at `batchSize` records or at the end of a chunk
/// of `chunkSize` items (counted from the first item this run reads).
struct BulkBatcher {
    private var items: AnyIterator<(position: Int, item: DatasetItem)>
    let batchSize: Int
    let chunkSize: Int
    private var inChunk = 0

    init(items: AnyIterator<(position: Int, item: DatasetItem)>, batchSize: Int, chunkSize: Int) {
        self.items = items
        self.batchSize = max(1, batchSize)
        self.chunkSize = max(1, chunkSize)
    }

    mutating func next() -> BulkBatch? {
        var batch = BulkBatch()
        while batch.records.count < batchSize, let (position, item) = items.next() {
            batch.positions.append(position)
            batch.items.append(item)
            if case .success(let record) = item { batch.records.append(record) }
            inChunk += 1
            if inChunk >= chunkSize {
                inChunk = 0
                batch.endsChunk = true
                break
            }
        }
        return batch.items.isEmpty ? nil : batch
    }
}

extension BulkJob {
    /// Runs the job over `batcher`'s batches, preparing each next batch on a background thread
    /// while the current one is processed, and hands `body` each batch's outcomes in dataset
    /// order. Checks for an interrupt (`BulkInterrupt`) before each batch.
    func forEachBatch(_ batcher: inout BulkBatcher,
                      _ body: (BulkBatch, [BulkOutcome<Output>]) throws -> Void) throws {
        func start(_ batch: BulkBatch?) -> (BulkBatch, Background<Prepared>?)? {
            guard let batch else { return nil }
            guard !batch.records.isEmpty else { return (batch, nil) }
            let records = batch.records
            return (batch, Background { [self] in try prepare(records) })
        }
        var current = start(batcher.next())
        while let (batch, preparing) = current {
            if let signal = BulkInterrupt.received { throw BulkInterrupted(signal: signal) }
            // Read the next batch (I/O) while this one is still being prepared, then start
            // preparing it while this one goes through the model.
            let following = batcher.next()
            let prepared = try preparing?.get()
            current = start(following)
            var results: [Result<Output, DatasetFailure>] = []
            if let prepared {
                results = try process(batch.records, prepared: prepared)
                guard results.count == batch.records.count else {
                    throw GlimpseError.invalidArgument("bulk job returned \(results.count) results for \(batch.records.count) records")
                }
            }
            var next = results.makeIterator()
            let outcomes: [BulkOutcome<Output>] = batch.items.map { item in
                switch item {
                case .failure(let failure): return .failure(failure)
                case .success(let record):
                    switch next.next() {
                    case .success(let output)?: return .output(record, output)
                    case .failure(let failure)?: return .failure(failure)
                    case nil: return .failure(DatasetFailure(key: record.key, source: record.source, reason: "has no result"))
                    }
                }
            }
            try body(batch, outcomes)
        }
    }
}
