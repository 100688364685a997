import Dispatch
import Synchronization

/// Where inference time goes, by kind of work. Off by default; when on, each top-level op
/// adds its wall time to its class (ops called from inside other ops, such as the GEMMs in
/// attention, count toward the outer op only), so the classes add up to the total.
public enum OpClass: String, CaseIterable, Sendable {
    case gemm = "GEMM"
    case attention = "attention"
    case normalization = "norms"
    case activation = "activations"
    case elementwise = "elementwise"
    case embedding = "embedding"
    case preprocessing = "preprocessing"
    case decode = "decode"
}

public enum Profiler {
    private static let state = Mutex<(enabled: Bool, depth: [UInt64: Int], totals: [OpClass: UInt64])>((false, [:], [:]))

    /// Turns recording on or off (and clears the totals when turning it on).
    public static func setEnabled(_ enabled: Bool) {
        state.withLock { $0 = (enabled, [:], [:]) }
    }

    /// Seconds spent per class since recording was enabled.
    public static func totals() -> [OpClass: Double] {
        state.withLock { s in s.totals.mapValues { Double($0) / 1e9 } }
    }

    /// Runs `body`, charging its time to `opClass` when recording and not nested in another op.
    @inline(__always)
    public static func measure<T>(_ opClass: OpClass, _ body: () throws -> T) rethrows -> T {
        guard state.withLock({ $0.enabled }) else { return try body() }
        let thread = currentThreadID()
        let outermost = state.withLock { s -> Bool in
            s.depth[thread, default: 0] += 1
            return s.depth[thread] == 1
        }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            state.withLock { s in
                s.depth[thread, default: 1] -= 1
                if outermost { s.totals[opClass, default: 0] += elapsed }
            }
        }
        return try body()
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func currentThreadID() -> UInt64 { UInt64(pthread_self()) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func currentThreadID() -> UInt64 { UInt64(UInt(bitPattern: pthread_self())) }
#endif
