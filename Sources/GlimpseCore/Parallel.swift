import CGlimpseKernels

/// Swift entry to the kernel library's worker pool.
///
/// The pool busy-waits briefly between jobs, so fine-grained loops (per attention head,
/// per row block) pay a few microseconds to fan out instead of a thread wake-up.
public enum Parallel {
    /// Threads taking part in parallel loops, the caller included.
    public static var threadCount: Int {
        get { Int(gl_num_threads()) }
        set { gl_set_num_threads(Int32(max(1, newValue))) }
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
