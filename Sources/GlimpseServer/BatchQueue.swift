import Foundation
import GlimpseBase

/// Concurrent requests gathered into shared forward passes. A model call costs far less per
/// input in a batch than alone (weights are read once for the batch), so requests that arrive
/// while the model is busy wait and then run together, up to `batchSize` at a time. The queue
/// is bounded: when `capacity` requests already wait, a new one is refused at once
/// (`BatchQueueFull`, which the server answers with 503 and Retry-After) rather than piling up
/// latency and memory. The work runs on one dedicated thread — the models are synchronous and
/// use Glimpse's own thread pool — never on the server's event loops.
public final class BatchQueue<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    public typealias Process = @Sendable ([Input]) -> [Result<Output, any Error>]

    private struct Pending {
        var input: Input
        var continuation: CheckedContinuation<Output, any Error>
    }

    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var stopped = false
    private let process: Process
    public let batchSize: Int
    public let capacity: Int
    public let name: String
    private var batchCount = 0
    private var inputCount = 0

    public init(name: String, batchSize: Int, capacity: Int, process: @escaping Process) {
        self.name = name
        self.batchSize = max(1, batchSize)
        self.capacity = max(1, capacity)
        self.process = process
        let thread = Thread { [weak self] in self?.run() }
        thread.name = "glimpse-\(name)"
        thread.start()
    }

    /// Runs `input` in the next batch and returns its output.
    public func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !stopped else { return continuation.resume(throwing: BatchQueueFull(queue: name, capacity: capacity)) }
            guard pending.count < capacity else {
                return continuation.resume(throwing: BatchQueueFull(queue: name, capacity: capacity))
            }
            pending.append(Pending(input: input, continuation: continuation))
            condition.signal()
        }
    }

    /// Requests waiting now, and the batches run so far with the inputs in them: how well
    /// concurrent requests were merged.
    public var statistics: (waiting: Int, batches: Int, inputs: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (pending.count, batchCount, inputCount)
    }

    /// Refuses new requests and lets the worker thread end once the queue is empty.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty && stopped {
                condition.unlock()
                return
            }
            let batch = Array(pending.prefix(batchSize))
            pending.removeFirst(batch.count)
            batchCount += 1
            inputCount += batch.count
            condition.unlock()
            let results = process(batch.map(\.input))
            for (index, request) in batch.enumerated() {
                if index < results.count { request.continuation.resume(with: results[index]) }
                else { request.continuation.resume(throwing: GlimpseError.invalidArgument("\(name): no result for request \(index + 1) of a batch")) }
            }
        }
    }
}

/// The queue is full: the server is at capacity for this model.
public struct BatchQueueFull: Error, CustomStringConvertible {
    public var queue: String
    public var capacity: Int
    public var description: String { "\(queue) is busy: \(capacity) requests already wait; retry shortly" }
}
