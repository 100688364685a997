import CGlimpseKernels
import GlimpseBase

/// Swift entry to the kernel library's worker pool.
///
/// The pool busy-waits briefly between jobs, so fine-grained loops (per attention head,
/// per row block) pay a few microseconds to fan out instead of a thread wake-up.
public enum Parallel {
    /// Threads taking part in parallel loops, the caller included.
    public static var threadCount: Int {
        get { Int(gl_num_threads()) }
        set { gl_set_num_threads(Int32(min(max(1, newValue), Limits.threads))) }
    }

    /// The variable that sets the default thread count.
    public static let environmentVariable = "GLIMPSE_NUM_THREADS"

    /// The thread count `GLIMPSE_NUM_THREADS` asks for: nil when unset or empty, else a whole
    /// number in 1...`Limits.threads`. The kernel pool alone would silently fall back to all
    /// cores on a value like "abc", "0" or "-3"; callers that take user settings check here
    /// first so such a value is an error naming the variable.
    public static func environmentThreadCount(_ environment: [String: String]) throws -> Int? {
        guard let text = environment[environmentVariable], !text.isEmpty else { return nil }
        guard let count = Int(text), (1 ... Limits.threads).contains(count) else {
            throw GlimpseError.invalidArgument(
                "\(environmentVariable) must be a whole number from 1 to \(Limits.threads), found '\(text)'")
        }
        return count
    }

    /// Calls `body` on disjoint chunks covering 0..<n, each at least `grain` long.
    public static func forEach(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        if n <= 0 { return }
        if n <= grain || threadCount == 1 { body(0..<n); return }
        withoutActuallyEscaping(body) { escapable in
            var box = Box(body: escapable)
            withUnsafeMutablePointer(to: &box) { pointer in
                gl_parallel_for(n, max(grain, 1), { context, begin, end in
                    guard let context else { return }
                    context.assumingMemoryBound(to: Box.self).pointee.body(Int(begin)..<Int(end))
                }, UnsafeMutableRawPointer(pointer))
            }
        }
    }

    private struct Box { let body: (Range<Int>) -> Void }
}
