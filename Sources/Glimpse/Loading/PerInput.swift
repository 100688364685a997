import Foundation
import GlimpseCore

/// One input's outcome when many are processed together: its output, or why it failed.
/// A bad input among many never costs the good ones; the caller reports the failures.
public typealias InputResult<Output> = Result<Output, GlimpseError>

/// The outcome of `body` as an `InputResult`, any error described as a `GlimpseError`.
func attempt<T>(_ body: () throws -> T) -> InputResult<T> {
    do { return .success(try body()) } catch { return .failure(.wrap(error)) }
}

extension Array {
    /// Runs `work` once on the inputs that are ready (in order) and puts each of its outputs
    /// back in its input's place; failed inputs stay failed. `work` is not called when no
    /// input is ready, and must return one output per ready input.
    func mapReady<Ready, Output>(_ work: ([Ready]) throws -> [Output]) throws -> [InputResult<Output>]
    where Element == InputResult<Ready> {
        var ready: [Ready] = []
        for case .success(let value) in self { ready.append(value) }
        let outputs = ready.isEmpty ? [] : try work(ready)
        guard outputs.count == ready.count else {
            throw GlimpseError.invalidArgument("\(outputs.count) outputs for \(ready.count) inputs")
        }
        var next = outputs.startIndex
        return map { result in
            result.map { _ in
                defer { next += 1 }
                return outputs[next]
            }
        }
    }
}

extension Tensor {
    /// The rows of a [B, D] tensor as arrays, for per-input results.
    var rowArrays: [[Float]] {
        let values = scalars
        let width = rank > 1 ? shape.dropFirst().reduce(1, *) : 1
        guard width > 0 else { return Array(repeating: [], count: shape.first ?? 0) }
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0 ..< $0 + width]) }
    }
}
