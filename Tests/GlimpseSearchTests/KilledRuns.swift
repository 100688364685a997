import Foundation
import XCTest
@testable import GlimpseSearch
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `glimpse` with the same arguments again and again, each run killed with
/// SIGKILL a moment after it has committed more than the run before — the interrupted-run
/// tests of indexing, captioning and importing all do this, then compare the library with
/// one from a run never interrupted.
final class KilledRuns {
    private var open: [String: Catalogue] = [:]

    /// What is committed in the library at `folder` now, counted by `count` (read while a run
    /// may be writing; one connection per library, opened once the run has created it).
    func committed(_ folder: String, _ count: (Catalogue) throws -> Int) throws -> Int {
        let path = folder + "/" + PhotoLibrary.catalogueName
        if open[path] == nil {
            guard FileManager.default.fileExists(atPath: path) else { return 0 }
            open[path] = try Catalogue(path: path)
        }
        return try open[path].map(count) ?? 0
    }

    /// Up to `attempts` runs of `arguments` into the library `folder`, the n-th killed n ×
    /// `step` µs after it first committed something new; stops once `target` is committed.
    /// Returns how many runs were killed and what was committed after the last.
    func run(_ arguments: [String], library folder: String, target: Int, attempts: Int = 4, step: UInt32,
             count: (Catalogue) throws -> Int) throws -> (interrupted: Int, committed: Int) {
        var interrupted = 0, previous = 0
        for attempt in 0 ..< attempts {
            let process = Process()
            process.executableURL = LibraryFixtures.executable
            process.arguments = arguments + ["--db", folder]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date(timeIntervalSinceNow: 60)
            while process.isRunning && Date() < deadline {
                if let now = try? committed(folder, count), now > previous { break }
                usleep(5_000)
            }
            usleep(UInt32(attempt) * step)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { interrupted += 1 }
            previous = (try? committed(folder, count)) ?? previous
            if previous >= target { break }
        }
        return (interrupted, previous)
    }

    /// Catalogued files.
    static func files(_ catalogue: Catalogue) throws -> Int { try catalogue.files().count }
}
