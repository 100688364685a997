import Foundation

/// The per-step metrics of a training run as JSON Lines (`metrics.jsonl`): one object a step
/// with step, epoch, loss, lr, grad_norm and images_per_second, flushed as it is written so
/// a run stopped at any point leaves a readable log.
final class MetricsLog {
    let path: String
    let appending: Bool
    private var handle: FileHandle?

    init(path: String, append: Bool) {
        self.path = path
        self.appending = append
    }

    func open() throws {
        if !appending || !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw GlimpseError.invalidArgument("could not create \(path)")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle?.seekToEnd()
        } catch {
            throw GlimpseError.invalidArgument("could not open \(path) for writing: \(error.localizedDescription)")
        }
    }

    func append(step: Int, epoch: Int, loss: Float, learningRate: Float, gradientNorm: Float, imagesPerSecond: Double) throws {
        let object: [String: Any] = ["step": step, "epoch": epoch, "loss": Double(loss), "lr": Double(learningRate),
                                     "grad_norm": Double(gradientNorm), "images_per_second": imagesPerSecond.isFinite ? imagesPerSecond : 0]
        var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        line.append(UInt8(ascii: "\n"))
        do { try handle?.write(contentsOf: line) } catch {
            throw GlimpseError.invalidArgument("could not write \(path): \(error.localizedDescription)")
        }
    }

    func close() { try? handle?.close(); handle = nil }
}
