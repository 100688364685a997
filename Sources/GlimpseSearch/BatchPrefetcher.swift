import Foundation

/// Produces batches on a background thread, in order, at most `depth` ahead of the consumer:
/// while the model encodes batch k, batch k+1 is read, decoded and preprocessed. (A small
/// one written for indexing; a general bulk-job prefetcher may replace it.)
final class BatchPrefetcher<Output>: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [Int: Output] = [:]
    private var next = 0
    private var cancelled = false
    private let count: Int

    /// Starts producing `produce(0) ..< produce(count - 1)` on its own thread.
    init(count: Int, depth: Int = 2, produce: @escaping @Sendable (Int) -> Output) {
        self.count = count
        let thread = Thread { [self] in
            for index in 0 ..< count {
                condition.lock()
                while !cancelled && ready.count >= depth { condition.wait() }
                let stop = cancelled
                condition.unlock()
                if stop { return }
                let output = produce(index)
                condition.lock()
                ready[index] = output
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The next batch in order, waiting for it; nil after the last.
    func take() -> Output? {
        condition.lock()
        defer { condition.unlock() }
        guard next < count else { return nil }
        while ready[next] == nil { condition.wait() }
        let output = ready.removeValue(forKey: next)
        next += 1
        condition.broadcast()
        return output
    }

    /// Stops producing (the consumer failed); the thread ends after its current batch.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    deinit { cancel() }
}
