import Foundation

/// A progress bar on standard error for long batches: count, percentage and rate.
/// Redrawn in place on a terminal; elsewhere (logs, pipes) one line every few seconds.
final class Progress {
    private let total: Int
    private let unit: String
    private let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var done = 0
    private var lastDraw = Date.distantPast

    init(total: Int, unit: String, quiet: Bool, minimum: Int = 16) {
        self.total = total
        self.unit = unit
        enabled = !quiet && total >= minimum
    }

    func advance(_ count: Int) {
        done += count
        guard enabled else { return }
        let now = Date()
        if now.timeIntervalSince(lastDraw) >= (terminal ? 0.1 : 5) || done == total {
            draw(now)
            lastDraw = now
        }
    }

    func finish() {
        guard enabled else { return }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(_ now: Date) {
        let elapsed = max(now.timeIntervalSince(start), 1e-9)
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let text = "\(bar) \(done)/\(total) \(unit) (" + String(format: "%3.0f%%", fraction * 100) + ") "
            + String(format: "%.1f", Double(done) / elapsed) + " \(unit)/s"
        FileHandle.standardError.write(Data((terminal ? "\r" + text : text + "\n").utf8))
    }
}
