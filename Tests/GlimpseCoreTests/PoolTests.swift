import CGlimpseKernels
import Dispatch
import Foundation
import XCTest

/// The worker pool: every index covered exactly once for many sizes, grains and thread
/// counts; nested calls; concurrent callers.
final class PoolTests: XCTestCase {
    func testParallelForCoversEachIndexOnce() {
        let saved = gl_num_threads()
        defer { gl_set_num_threads(saved) }
        for threads: Int32 in [1, 2, 3] {
            gl_set_num_threads(threads)
            XCTAssertEqual(gl_num_threads(), threads)
            for n in [1, 2, 3, 5, 17, 64, 100, 1000, 12_345] {
                for grain in [0, 1, 2, 7, 64, 1000, 100_000] {
                    for _ in 0..<20 {
                        XCTAssertTrue(Probe.run(n: n, grain: grain), "n=\(n) grain=\(grain) threads=\(threads)")
                    }
                }
            }
        }
    }

    func testParallelForNested() {
        // Each outer task runs an inner parallel_for; inner ones run serially on that thread.
        let outer = 8, inner = 1000
        var counts = [Int32](repeating: 0, count: outer * inner)
        counts.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            var ctx = NestedContext(counts: base, inner: inner)
            withUnsafeMutablePointer(to: &ctx) { p in
                gl_parallel_for(outer, 1, { raw, begin, end in
                    guard let c = raw?.assumingMemoryBound(to: NestedContext.self) else { return }
                    for o in begin..<end {
                        var row = NestedRow(counts: c.pointee.counts + o * c.pointee.inner)
                        withUnsafeMutablePointer(to: &row) { rp in
                            gl_parallel_for(c.pointee.inner, 1, { raw, b, e in
                                guard let r = raw?.assumingMemoryBound(to: NestedRow.self) else { return }
                                for i in b..<e { r.pointee.counts[i] += 1 }
                            }, rp)
                        }
                    }
                }, p)
            }
        }
        XCTAssertTrue(counts.allSatisfy { $0 == 1 })
    }

    func testParallelForFromConcurrentCallers() {
        // Callers that find the pool busy run their job themselves; all must be correct.
        let failures = FailureCount()
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            for r in 0..<300 where !Probe.run(n: 1 + (r * 37 + k) % 3000, grain: 1 + r % 5) {
                failures.add()
            }
        }
        XCTAssertEqual(failures.value, 0)
    }
}

// MARK: - Pool probes

private struct NestedContext {
    var counts: UnsafeMutablePointer<Int32>
    var inner: Int
}

private struct NestedRow {
    var counts: UnsafeMutablePointer<Int32>
}

/// Runs gl_parallel_for over [0, n) with a task that counts visits per index and checks each
/// chunk's bounds; chunks are disjoint, so the plain increments never race unless the pool
/// hands out an index twice (which the counts then show).
private struct Probe {
    var counts: UnsafeMutablePointer<Int32>
    var n: Int
    var grain: Int
    var badChunk: Int32 = 0

    static func run(n: Int, grain: Int) -> Bool {
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        counts.initialize(repeating: 0, count: n)
        defer { counts.deallocate() }
        var probe = Probe(counts: counts, n: n, grain: grain)
        withUnsafeMutablePointer(to: &probe) { p in
            gl_parallel_for(n, grain, { raw, begin, end in
                guard let p = raw?.assumingMemoryBound(to: Probe.self) else { return }
                let n = p.pointee.n, grain = max(p.pointee.grain, 1)
                if begin < 0 || end > n || begin >= end || (end - begin < grain && end != n) {
                    p.pointee.badChunk = 1
                    return
                }
                for i in begin..<end { p.pointee.counts[i] += 1 }
            }, p)
        }
        if probe.badChunk != 0 { return false }
        for i in 0..<n where counts[i] != 1 { return false }
        return true
    }
}

private final class FailureCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
