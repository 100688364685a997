import Foundation
import GlimpseBase

/// Applies ranked BPE merges to one word, exactly as OpenAI's `bpe()` does: repeatedly take the
/// lowest-ranked adjacent pair and merge all its occurrences left to right in one pass.
///
/// Symbols are vocabulary ids. A heap of (rank, position) keeps long words O(n log n) instead
/// of Python's O(n²), while processing one rank per pass keeps the result identical.
struct BytePairMerger: Sendable {
    /// (left id, right id) packed into one key → (rank, merged id).
    private let ranks: [UInt64: (rank: Int32, merged: Int32)]

    init(vocabulary: BPEVocabulary, path: String) throws {
        var ranks: [UInt64: (rank: Int32, merged: Int32)] = [:]
        ranks.reserveCapacity(vocabulary.merges.count)
        for (rank, pair) in vocabulary.merges.enumerated() {
            guard let left = vocabulary.ids[pair.0], let right = vocabulary.ids[pair.1],
                  let merged = vocabulary.ids[pair.0 + pair.1] else {
                throw GlimpseError.invalidFile(path: path, reason: "merge \(rank + 1) \"\(pair.0) \(pair.1)\" uses a token that is not in the vocabulary")
            }
            // Later duplicates overwrite earlier ones, as Python's dict(zip(merges, ranks)) does.
            ranks[Self.key(Int32(left), Int32(right))] = (Int32(rank), Int32(merged))
        }
        self.ranks = ranks
    }

    @inline(__always) private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Merges `symbols` (initial per-byte ids) in place.
    func merge(_ symbols: inout [Int32]) {
        let count = symbols.count
        guard count > 1 else { return }
        var next = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = Int32(index + 1) }
            initialized = count
        }
        next[count - 1] = -1
        var previous = (0..<count).map { Int32($0 - 1) }
        var heap = MinHeap()
        for index in 0..<(count - 1) {
            if let entry = ranks[Self.key(symbols[index], symbols[index + 1])] {
                heap.push(UInt64(UInt32(entry.rank)) << 32 | UInt64(index))
            }
        }
        var mergedPositions: [Int32] = []
        while let top = heap.pop() {
            let rank = Int32(top >> 32)
            var batch = [Int32(truncatingIfNeeded: top)]
            while let peek = heap.peek, Int32(peek >> 32) == rank {
                _ = heap.pop()
                batch.append(Int32(truncatingIfNeeded: peek))
            }
            // One pass over every occurrence, left to right (the heap yields positions in order).
            mergedPositions.removeAll(keepingCapacity: true)
            for position in batch {
                let left = Int(position)
                let right = next[left]
                guard symbols[left] >= 0, right >= 0,
                      let entry = ranks[Self.key(symbols[left], symbols[Int(right)])], entry.rank == rank else { continue }
                symbols[left] = entry.merged
                symbols[Int(right)] = -1
                let after = next[Int(right)]
                next[left] = after
                if after >= 0 { previous[Int(after)] = position }
                mergedPositions.append(position)
            }
            for position in mergedPositions {
                let before = previous[Int(position)]
                if before >= 0, let entry = ranks[Self.key(symbols[Int(before)], symbols[Int(position)])] {
                    heap.push(UInt64(UInt32(entry.rank)) << 32 | UInt64(UInt32(before)))
                }
                let after = next[Int(position)]
                if after >= 0, let entry = ranks[Self.key(symbols[Int(position)], symbols[Int(after)])] {
                    heap.push(UInt64(UInt32(entry.rank)) << 32 | UInt64(UInt32(position)))
                }
            }
        }
        var write = 0
        for read in 0..<count where symbols[read] >= 0 {
            symbols[write] = symbols[read]
            write += 1
        }
        symbols.removeLast(count - write)
    }
}

/// A binary min-heap of packed (rank << 32 | position) keys.
private struct MinHeap {
    private var items: [UInt64] = []

    var peek: UInt64? { items.first }

    mutating func push(_ value: UInt64) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
