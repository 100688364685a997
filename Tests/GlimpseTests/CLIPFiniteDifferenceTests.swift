import XCTest
@testable import Glimpse

/// An independent check of the tape on the whole CLIP model, without any reference library:
/// the derivative of the contrastive loss along a direction d (the gradient plus seeded noise,
/// normalised), (L(θ + h·d) − L(θ − h·d)) / 2h, must equal ⟨∇L, d⟩ from the backward pass.
/// Tolerance 1e-3 relative: central differences in fp32 with h = 3·10⁻³.
final class CLIPFiniteDifferenceTests: XCTestCase {
    func testDirectionalDerivativeMatchesCentralDifferences() throws {
        let checkpoint = try Checkpoint(folder: Fixtures.path("clip-tiny"))
        let weights = try TrainableWeights(copying: try checkpoint.weights())
        let model = try CLIPModel(config: CLIPConfig(reader: checkpoint.config()), weights: weights)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func noise() -> Float {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state % 2001) / 1000 - 1
        }
        let pixels = Tensor(shape: [3, 3, 64, 64]) { for i in 0 ..< $0.count { $0[i] = noise() } }
        let ids = [[49406, 320, 1125, 49407], [49406, 2368, 539, 320, 49407], [49406, 1929, 49407]]

        let tape = GradientTape()
        for parameter in weights.parameters { tape.watch(parameter.tensor) }
        let loss = try tape.record { try model.contrastiveLoss(pixels: pixels, ids: ids) }
        try tape.backward(from: loss)

        // d = (g + noise · mean |g|) / ‖·‖, over every parameter.
        var directions: [[Float]] = [], squares = 0.0
        for parameter in weights.parameters {
            let g = try XCTUnwrap(tape.gradient(of: parameter.tensor)).scalars
            let scale = g.map(abs).reduce(0, +) / Float(max(g.count, 1))
            let d = g.map { $0 + scale * noise() }
            squares += d.reduce(0.0) { $0 + Double($1) * Double($1) }
            directions.append(d)
        }
        let norm = Float(squares.squareRoot())
        var analytic = 0.0
        for (parameter, d) in zip(weights.parameters, directions) {
            let g = tape.gradient(of: parameter.tensor)!.scalars
            for i in g.indices { analytic += Double(g[i]) * Double(d[i] / norm) }
        }

        let h: Float = 3e-3
        let originals = weights.parameters.map(\.tensor.scalars)
        func shiftedLoss(_ step: Float) throws -> Double {
            for ((parameter, d), original) in zip(zip(weights.parameters, directions), originals) {
                parameter.tensor.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = original[i] + step * d[i] / norm } }
            }
            return Double(try model.contrastiveLoss(pixels: pixels, ids: ids).item)
        }
        let numeric = (try shiftedLoss(h) - shiftedLoss(-h)) / Double(2 * h)
        print("directional derivative: analytic \(analytic), central difference \(numeric)")
        XCTAssertEqual(numeric, analytic, accuracy: 1e-3 * abs(analytic))
    }
}
