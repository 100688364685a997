import Foundation

/// A progress bar on standard error for long batches: count, percentage, rate and ETA (the
/// last two over this run's own work, so a resumed job's earlier part does not inflate them).
/// Without a known total: count and rate only. Redrawn in place on a terminal; elsewhere
/// (logs, pipes) one line every few seconds.
final class Progress {
    private let total: Int?
    private let unit: String
    private let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var done = 0
    private var resumed = 0
    private var lastDraw = Date.distantPast

    init(total: Int?, unit: String, quiet: Bool, minimum: Int = 16) {
        self.total = total
        self.unit = unit
        enabled = !quiet && (total ?? minimum) >= minimum
    }

    func advance(_ count: Int) {
        update(done: done + count, resumed: resumed)
    }

    /// Sets the count: `done` in all, `resumed` of them done before this run started.
    func update(done: Int, resumed: Int) {
        self.done = done
        self.resumed = resumed
        guard enabled else { return }
        let now = Date()
        if now.timeIntervalSince(lastDraw) >= (terminal ? 0.1 : 5) || done == total {
            draw(now)
            lastDraw = now
        }
    }

    func finish() {
        guard enabled, lastDraw != .distantPast else { return }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(_ now: Date) {
        let elapsed = max(now.timeIntervalSince(start), 1e-9)
        let rate = Double(done - resumed) / elapsed
        var text: String
        if let total {
            let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            text = "\(bar) \(done)/\(total) \(unit) (" + String(format: "%3.0f%%", fraction * 100) + ") "
                + String(format: "%.1f", rate) + " \(unit)/s"
            if rate > 0, done < total { text += " ETA " + Self.duration(Double(total - done) / rate) }
        } else {
            text = "\(done) \(unit) " + String(format: "%.1f", rate) + " \(unit)/s"
        }
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + text : text + "\n").utf8))
    }

    /// `1h02m`, `3m05s`, `42s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 1e9 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
