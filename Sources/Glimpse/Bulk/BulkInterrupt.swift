import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The signal number of the first SIGINT / SIGTERM, 0 before one; written only by the handler.
nonisolated(unsafe) private var receivedSignal: sig_atomic_t = 0

/// SIGINT / SIGTERM as a request to stop a bulk run cleanly: the runner sees it before the
/// next batch, abandons the chunk in progress (what is committed stays), and throws
/// `BulkInterrupted`. A second signal ends the process at once (the first restores the
/// default action) — which is safe too, since an uncommitted chunk is redone by the next run.
public enum BulkInterrupt {
    /// Installs the handlers; until then signals keep their default action.
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { number in
                receivedSignal = number
                signal(number, SIG_DFL)
            }
        }
    }

    /// The signal received, if any.
    public static var received: Int32? { receivedSignal == 0 ? nil : receivedSignal }
}

/// A bulk run stopped by a signal; running the same command again continues after the last
/// committed chunk.
public struct BulkInterrupted: Error, CustomStringConvertible {
    public let signal: Int32
    /// Dataset items committed when it stopped (earlier runs included).
    public let committed: Int

    public init(signal: Int32, committed: Int = 0) {
        self.signal = signal
        self.committed = committed
    }

    public var description: String {
        let name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
        return "interrupted by \(name) with \(committed) records committed; running the same command again continues where it stopped"
    }
}
