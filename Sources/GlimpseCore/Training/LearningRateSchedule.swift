import Foundation

/// Linear warm-up to the peak rate, then a half cosine down to zero, as transformers'
/// `get_cosine_schedule_with_warmup` (the factor applied at optimizer step `step`, counted
/// from 0): step / warmup during warm-up, then ½(1 + cos(π · progress)).
public struct CosineSchedule: Sendable, Equatable {
    public let peak: Float
    public let warmupSteps: Int
    public let totalSteps: Int

    public init(peak: Float, warmupSteps: Int, totalSteps: Int) throws {
        guard warmupSteps >= 0, totalSteps > 0, warmupSteps <= totalSteps, peak.isFinite, peak >= 0 else {
            throw GlimpseError.invalidArgument("cosine schedule: \(warmupSteps) warm-up steps, \(totalSteps) total steps and peak \(peak) do not make a schedule (0 ≤ warm-up ≤ total, total > 0, peak ≥ 0)")
        }
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(Double(step) / Double(max(1, warmupSteps))) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return peak * Float(max(0, 0.5 * (1 + cos(Double.pi * progress))))
    }
}
