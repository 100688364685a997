import Dispatch

/// A value computed on another thread from the moment it is created; `get()` waits for it.
/// Loading a checkpoint starts its tokenizer this way (parsing ~49K BPE merges takes longer
/// than memory-mapping the weights), so the load returns at once and the text side is
/// usually ready by the time a text arrives.
package final class Background<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchGroup()
    private var result: Result<Value, any Error>?  // written once, before `done` is left

    package init(_ work: @escaping @Sendable () throws -> Value) {
        done.enter()
        DispatchQueue.global(qos: .userInitiated).async {
            self.result = Result { try work() }
            self.done.leave()
        }
    }

    package func get() throws -> Value {
        done.wait()
        // `done.wait()` returned, so the write above happened before this read.
        guard let result else { preconditionFailure("Background finished without a result") }
        return try result.get()
    }
}
