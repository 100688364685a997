/// Hands out rows of the embeddings file for new embeddings: first the free rows below the
/// committed slot count (no committed catalogue row points at them), lowest first, then new
/// rows at the end.
///
/// Freed rows are reused rather than compacted away: reuse needs no rewrite of live rows (a
/// compaction would have to move rows that committed catalogue rows point at, and so copy
/// them crash-safely first), and the file never grows beyond the largest number of files the
/// library has held. Search scores the few free rows too and drops them, which costs less than
/// keeping the matrix dense.
struct SlotAllocator {
    private var free: [Int]
    private(set) var count: Int

    /// `count` rows committed, `used` of them pointed at by catalogue rows.
    init(count: Int, used: some Sequence<Int>) {
        self.count = count
        var taken = [Bool](repeating: false, count: count)
        for slot in used where (0 ..< count).contains(slot) { taken[slot] = true }
        free = (0 ..< count).filter { !taken[$0] }.reversed()
    }

    mutating func next() -> Int {
        if let slot = free.popLast() { return slot }
        count += 1
        return count - 1
    }
}
