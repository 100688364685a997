import XCTest
@testable import Glimpse

/// Whole-model gradients against a reference file of Tools/fixtures (make_autodiff_fixtures.py,
/// make_blip_gradient_fixtures.py): `grad.<name>` for a whole parameter, or `grad_rows.<name>`
/// at the rows `grad_row_ids.<name>` for an embedding table. Tolerance: 1e-4 relative, i.e.
/// max |a − b| ≤ 1e-4 · max |b| per tensor.
enum ModelGradientParity {
    /// The packed token ids stored as `ids` and `lengths`.
    static func ids(_ reference: SafetensorsFile) throws -> [[Int]] {
        let flat = try reference.tensor("ids").scalars.map { Int($0) }
        var start = 0
        return try reference.tensor("lengths").scalars.map { length -> [Int] in
            defer { start += Int(length) }
            return Array(flat[start ..< start + Int(length)])
        }
    }

    /// Compares every parameter's gradient on `tape` with the reference, and checks that every
    /// gradient the reference holds was compared. With `rowsAreExhaustive`, rows outside the
    /// listed ones must have no gradient (an embedding table only the batch's tokens reach).
    static func assertMatches(_ weights: TrainableWeights, _ tape: GradientTape, _ reference: SafetensorsFile,
                              rowsAreExhaustive: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        var compared = 0
        for (name, parameter) in weights.parameters {
            guard let gradient = tape.gradient(of: parameter) else {
                XCTFail("\(name): no gradient", file: file, line: line); continue
            }
            if let rows = try reference.optionalTensor("grad_rows.\(name)") {
                let used = try reference.tensor("grad_row_ids.\(name)").scalars.map { Int($0) }
                assertClose(gradient.gatherRows(used).scalars, rows.scalars, abs: 1e-4 * maxMagnitude(rows), name, file: file, line: line)
                if rowsAreExhaustive {
                    let usedSet = Set(used), width = gradient.rowSize, values = gradient.scalars
                    let stray = (0 ..< gradient.shape[0]).filter { !usedSet.contains($0) }
                        .contains { row in (0 ..< width).contains { values[row * width + $0] != 0 } }
                    XCTAssertFalse(stray, "\(name): gradient outside the rows the batch uses", file: file, line: line)
                }
            } else if name.hasSuffix("k_proj.bias") || name.hasSuffix("self.key.bias") {
                // A key bias shifts every score of a query row by the same q·b, which softmax
                // ignores: its gradient is zero, and both sides hold only rounding noise.
                let expected = try reference.tensor("grad.\(name)")
                XCTAssertLessThan(maxMagnitude(expected), 1e-6, name, file: file, line: line)
                XCTAssertLessThan(maxMagnitude(gradient), 1e-6, name, file: file, line: line)
            } else if let expected = try reference.optionalTensor("grad.\(name)") {
                assertClose(gradient.scalars, expected.scalars, abs: 1e-4 * maxMagnitude(expected), name, file: file, line: line)
            } else {
                XCTFail("\(name): the reference has no gradient for it", file: file, line: line); continue
            }
            compared += 1
        }
        XCTAssertEqual(compared, reference.names.filter { $0.hasPrefix("grad.") || $0.hasPrefix("grad_rows.") }.count,
                       "every parameter the reference differentiates is compared", file: file, line: line)
    }

    static func maxMagnitude(_ t: Tensor) -> Float { t.scalars.map(abs).max() ?? 0 }
}
