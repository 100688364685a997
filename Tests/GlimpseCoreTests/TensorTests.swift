import Foundation
import XCTest
import GlimpseCore

/// The row operations and scoped access models use instead of pointer arithmetic, against
/// hand-computed expectations, and the read-only guarantee of tensors borrowed from a mapped file.
final class TensorTests: XCTestCase {
    /// [[0, 1], [2, 3], [4, 5]]
    let table = Tensor(shape: [3, 2], values: [0, 1, 2, 3, 4, 5])

    func testGatherRowsCopiesRowsInOrderWithRepeats() {
        let picked = table.gatherRows([2, 0, 2])
        XCTAssertEqual(picked.shape, [3, 2])
        XCTAssertEqual(picked.scalars, [4, 5, 0, 1, 4, 5])
        XCTAssertFalse(picked.isReadOnly)
        // Rows of a rank-3 tensor are whole matrices.
        let cube = Tensor(shape: [2, 2, 2], values: [0, 1, 2, 3, 10, 11, 12, 13])
        XCTAssertEqual(cube.gatherRows([1]).shape, [1, 2, 2])
        XCTAssertEqual(cube.gatherRows([1]).scalars, [10, 11, 12, 13])
        XCTAssertEqual(table.gatherRows([]).shape, [0, 2])
        // A copy: the source does not change when the result does.
        let first = table.gatherRows([0])
        first.replaceRows(startingAt: 0, with: Tensor(shape: [1, 2], values: [9, 9]))
        XCTAssertEqual(table.scalars, [0, 1, 2, 3, 4, 5])
    }

    func testRowsAndReshapeAreViews() {
        let base = Tensor(shape: [3, 2], values: [0, 1, 2, 3, 4, 5])
        let middle = base.rows(1 ..< 3)
        XCTAssertEqual(middle.shape, [2, 2])
        XCTAssertEqual(middle.scalars, [2, 3, 4, 5])
        base.replaceRows(startingAt: 2, with: Tensor(shape: [1, 2], values: [7, 8]))
        XCTAssertEqual(middle.scalars, [2, 3, 7, 8], "a row slice shares storage")
        XCTAssertEqual(base.reshaped([2, 3])[1, 0], 3)
        XCTAssertEqual(base.rowSize, 2)
    }

    func testReplaceRowsWritesAtAnOffset() {
        let out = Tensor(zeros: [4, 2])
        out.replaceRows(startingAt: 1, with: Tensor(shape: [2, 2], values: [7, 8, 9, 10]))
        XCTAssertEqual(out.scalars, [0, 0, 7, 8, 9, 10, 0, 0])
        let stacked = Tensor.concatenatingRows([table.rows(0 ..< 1), table.rows(2 ..< 3), out.rows(1 ..< 2)], rowShape: [2])
        XCTAssertEqual(stacked.shape, [3, 2])
        XCTAssertEqual(stacked.scalars, [0, 1, 4, 5, 7, 8])
    }

    func testScopedAccess() {
        let filled = Tensor(shape: [2, 3]) { buffer in
            for i in buffer.indices { buffer[i] = Float(i * i) }
        }
        XCTAssertEqual(filled.scalars, [0, 1, 4, 9, 16, 25])
        XCTAssertEqual(filled.withUnsafeBufferPointer { $0.reduce(0, +) }, 55)
        XCTAssertEqual(filled[1, 2], 25)
        XCTAssertEqual(Tensor(shape: [], values: [4]).item, 4)
    }

    func testPureOpsReturnNewTensors() {
        let x = Tensor(shape: [2, 2], values: [3, 4, 0, 2])
        XCTAssertEqual(l2Normalized(x).scalars, [0.6, 0.8, 0, 1])
        let probabilities = softmax(Tensor(shape: [1, 2], values: [0, Float(Foundation.log(3.0))])).scalars
        XCTAssertEqual(probabilities[0], 0.25, accuracy: 1e-6)
        XCTAssertEqual(probabilities[1], 0.75, accuracy: 1e-6)
        XCTAssertEqual(x.scalars, [3, 4, 0, 2], "the input is left as it was")
    }

    /// fp32 weights are used in place from a read-only mapping: they, and every view of them,
    /// say so, and what the public API derives from them is a new, writable tensor; the
    /// mapped bytes never change.
    func testMappedTensorsAreReadOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tensor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("model.safetensors")
        try Data(SafetensorsWriter.file([
            ("w", "F32", [2, 2], SafetensorsWriter.floats([3, 4, 0, 2])),
            ("h", "F16", [2], SafetensorsWriter.halves([1, 2])),
        ])).write(to: file)
        let store = try SafetensorsFile(path: file.path)

        let mapped = try store.tensor("w", shape: [2, 2])
        XCTAssertTrue(mapped.isReadOnly)
        XCTAssertTrue(mapped.rows(1 ..< 2).isReadOnly, "a row slice of a mapped tensor is read-only too")
        XCTAssertTrue(mapped.reshaped([4]).isReadOnly, "so is a reshape")
        XCTAssertFalse(try store.tensor("h").isReadOnly, "fp16 weights are widened into owned storage")

        let copy = mapped.copy()
        XCTAssertFalse(copy.isReadOnly)
        copy.replaceRows(startingAt: 0, with: Tensor(shape: [1, 2], values: [1, 1]))
        XCTAssertEqual(copy.scalars, [1, 1, 0, 2])
        XCTAssertFalse(mapped.gatherRows([1, 0]).isReadOnly)
        XCTAssertEqual(l2Normalized(mapped).scalars, [0.6, 0.8, 0, 1])
        XCTAssertEqual(softmax(mapped).count, 4)
        XCTAssertEqual(mapped.scalars, [3, 4, 0, 2], "the mapped bytes are unchanged")
        XCTAssertEqual(try store.tensor("w").scalars, [3, 4, 0, 2])
    }
}
