import ArgumentParser
import Foundation
import Glimpse

/// The output of a command given many inputs: each input's record in input order, and each
/// input that failed reported on standard error with its name and the reason. A bad input
/// never costs the good ones; the command exits 1 at the end when any failed (at the first
/// with `--fail-fast`).
struct InputReport {
    var output: Output
    let failFast: Bool
    private(set) var failed = 0
    private(set) var seen = 0

    init(_ output: Output, failFast: Bool) {
        self.output = output
        self.failFast = failFast
    }

    /// The value of an input that succeeded; one that failed is reported and gives nil.
    mutating func value<T>(_ result: InputResult<T>, name: String) throws -> T? {
        seen += 1
        switch result {
        case .success(let value): return value
        case .failure(let error):
            try fail(name, error)
            return nil
        }
    }

    /// Reports a failed input (its name, unless the error already names it, and the reason).
    mutating func fail(_ name: String, _ error: GlimpseError) throws {
        failed += 1
        let reason = error.description
        let line = "glimpse: error: " + (reason.contains(name) ? reason : "\(name): \(reason)") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
        if failFast {
            output.finish()
            throw ExitCode.failure
        }
    }

    /// Ends the output; exit status 1 when any input failed.
    func finish() throws {
        output.finish()
        guard failed > 0 else { return }
        let summary = "glimpse: error: \(failed) of \(seen) inputs failed" + (failed < seen ? "; the others were processed\n" : "\n")
        FileHandle.standardError.write(Data(summary.utf8))
        throw ExitCode.failure
    }
}

/// How a text input is named in error reports: its position (the text itself may be long).
func textName(_ index: Int) -> String { "text \(index + 1)" }
