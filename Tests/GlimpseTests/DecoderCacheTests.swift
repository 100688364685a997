import XCTest
@testable import Glimpse
import GlimpseCore

/// BERT's key/value cache as the searches drive it: new rows land after each slot's past,
/// and reordering keeps, copies and drops whole slots.
final class DecoderCacheTests: XCTestCase {
    func testWriteAndReorderMoveWholeSlots() {
        let cache = BERTCache(layers: 1, hidden: 2, imageOf: [0, 1], capacity: 3)
        // Step 1: one token per slot; slot 0 gets key (1, 2), slot 1 gets (3, 4).
        cache.write(layer: 0, keys: Tensor(shape: [2, 2], values: [1, 2, 3, 4]),
                    values: Tensor(shape: [2, 2], values: [-1, -2, -3, -4]), step: 1)
        cache.advance(1)
        // Step 2: slot 0 gets (5, 6), slot 1 gets (7, 8).
        cache.write(layer: 0, keys: Tensor(shape: [2, 2], values: [5, 6, 7, 8]),
                    values: Tensor(shape: [2, 2], values: [-5, -6, -7, -8]), step: 1)
        cache.advance(1)
        let before = cache.memory(layer: 0, step: 0)
        XCTAssertEqual(before.sequences, [0 ..< 2, 3 ..< 5])
        XCTAssertEqual(before.keys.gatherRows([0, 1, 3, 4]).scalars, [1, 2, 5, 6, 3, 4, 7, 8])

        cache.reorder([1, 1, 0])
        XCTAssertEqual(cache.slots, 3)
        XCTAssertEqual(cache.imageOf, [1, 1, 0])
        let after = cache.memory(layer: 0, step: 0)
        XCTAssertEqual(after.sequences, [0 ..< 2, 3 ..< 5, 6 ..< 8])
        XCTAssertEqual(after.keys.gatherRows([0, 1, 3, 4, 6, 7]).scalars, [3, 4, 7, 8, 3, 4, 7, 8, 1, 2, 5, 6])
        XCTAssertEqual(after.values.gatherRows([0, 1, 6, 7]).scalars, [-3, -4, -7, -8, -1, -2, -5, -6])

        cache.reorder([2])
        XCTAssertEqual(cache.imageOf, [0])
        XCTAssertEqual(cache.memory(layer: 0, step: 0).keys.gatherRows([0, 1]).scalars, [1, 2, 5, 6])
    }
}
