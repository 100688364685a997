import Foundation
import GlimpseBase
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The progress journal of a bulk output folder, `OUT/journal.jsonl`: a first line naming the
/// job (its fingerprint), then one line per committed chunk with the totals after it, and a
/// last line when the run is complete. Each line is fsynced after the chunk's files are in
/// place, so a chunk is committed exactly when its line is complete on disk; a torn last
/// line (the process died while writing it) is dropped on the next start.
struct BulkJournal {
    /// The totals after a committed chunk (cumulative over every run of the job).
    struct Entry: Equatable {
        var chunk: Int
        /// The dataset position of the last item consumed (-1 before any).
        var position: Int
        var recordsIn: Int
        var outputs: Int
        var failed: Int
        /// Length of `errors.jsonl` after the chunk's errors were appended.
        var errorsBytes: Int
        /// Seconds spent processing, all runs together.
        var elapsed: Double
        var files: [String]

        static let start = Entry(chunk: -1, position: -1, recordsIn: 0, outputs: 0, failed: 0, errorsBytes: 0, elapsed: 0, files: [])

        var json: BulkJSON {
            .object([("chunk", .int(chunk)), ("position", .int(position)), ("in", .int(recordsIn)),
                     ("out", .int(outputs)), ("failed", .int(failed)), ("errors_bytes", .int(errorsBytes)),
                     ("elapsed", .double(elapsed)), ("files", .array(files.map { .string($0) }))])
        }
    }

        static let format = "glimpse-bulk-journal"

    let path: String
    /// The last committed chunk's totals (`Entry.start` when none).
    private(set) var last = Entry.start
    /// Every file committed so far.
    private(set) var files: Set<String> = []
    private(set) var complete = false
    private let fd: Int32

    /// Opens the journal of `folder`, or starts one. A journal of another job is refused.
    init(folder: String, fingerprint: String, job: String, header: [(String, BulkJSON)] = []) throws {
        path = (folder as NSString).appendingPathComponent(BulkFolder.journal)
        let exists = access(path, F_OK) == 0
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BulkFile.failure(path, "cannot be opened") }
        self.fd = fd
        if exists, Self.size(fd) > 0, try load(fingerprint: fingerprint, job: job, folder: folder) { return }
        // A new journal, or one whose first line never made it to disk whole: start it.
        guard ftruncate(fd, 0) == 0 else { throw BulkFile.failure(path, "cannot be started") }
        try append(.object([("format", .string(Self.format)), ("version", .int(1)),
                            ("fingerprint", .string(fingerprint)), ("job", .string(job))] + header))
    }

    /// Reads the committed chunks; false when not even the first line is complete.
    private mutating func load(fingerprint: String, job: String, folder: String) throws -> Bool {
        let data = try InputFile.read(path, what: "bulk journal", limit: Limits.bulkJournalBytes)
        var good = 0  // bytes of complete, valid lines
        var lineNumber = 0
        for (object, end) in Self.lines(data) {
            lineNumber += 1
            if lineNumber == 1 {
                guard object["format"] as? String == Self.format else {
                    throw GlimpseError.invalidFile(path: path, reason: "is not a Glimpse bulk journal")
                }
                guard object["fingerprint"] as? String == fingerprint else {
                    let before = object["job"] as? String ?? "another job"
                    throw GlimpseError.invalidArgument(
                        "\(folder) holds the output of a different job: it was started as \(before), this run is \(job); use another --out folder, or delete it to start over")
                }
            } else if object["complete"] as? Bool == true {
                complete = true
            } else if let entry = Self.entry(object) {
                guard entry.chunk == last.chunk + 1, entry.position >= last.position else {
                    throw GlimpseError.invalidFile(path: path, reason: "line \(lineNumber) records chunk \(entry.chunk) after chunk \(last.chunk)")
                }
                last = entry
                files.formUnion(entry.files)
            } else {
                throw GlimpseError.invalidFile(path: path, reason: "line \(lineNumber) is not a chunk record")
            }
            good = end
        }
        guard good > 0 else {
            guard !data.contains(0x0A) else { throw GlimpseError.invalidFile(path: path, reason: "is not a Glimpse bulk journal") }
            return false
        }
        if good < data.count {
            guard ftruncate(fd, off_t(good)) == 0, fsync(fd) == 0 else { throw BulkFile.failure(path, "cannot be repaired") }
        }
        return true
    }

    /// The complete lines of a journal, each with the byte offset just past it: a last line
    /// without its newline (torn by a crash) or that is not a JSON object (damaged; lines are
    /// written whole and synced, so only the last can be) ends them.
    static func lines(_ data: Data) -> [(object: [String: Any], end: Int)] {
        var out: [(object: [String: Any], end: Int)] = []
        var start = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let end = start + line.count + 1
            guard end <= data.count else { break }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { break }
            out.append((object, end))
            start = end
        }
        return out
    }

    static func entry(_ o: [String: Any]) -> Entry? {
        func int(_ key: String) -> Int? { (o[key] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
        guard let chunk = int("chunk"), chunk >= 0, let position = int("position"), let recordsIn = int("in"),
              let outputs = int("out"), let failed = int("failed"), let errorsBytes = int("errors_bytes"), errorsBytes >= 0,
              let elapsed = (o["elapsed"] as? NSNumber)?.doubleValue, let files = o["files"] as? [String] else { return nil }
        return Entry(chunk: chunk, position: position, recordsIn: recordsIn, outputs: outputs, failed: failed,
                     errorsBytes: errorsBytes, elapsed: elapsed, files: files)
    }

    /// Records a committed chunk: the line is on disk when this returns.
    mutating func commit(_ entry: Entry) throws {
        try append(entry.json)
        last = entry
        files.formUnion(entry.files)
    }

    mutating func markComplete() throws {
        try append(.object([("complete", .bool(true))]))
        complete = true
    }

    private func append(_ value: BulkJSON) throws {
        let line = Array((value.text + "\n").utf8)
        guard lseek(fd, 0, SEEK_END) >= 0 else { throw BulkFile.failure(path, "cannot be appended to") }
        try line.withUnsafeBytes { try BulkFile.writeAll(fd, $0, path: path) }
        guard fsync(fd) == 0 else { throw BulkFile.failure(path, "cannot be synced to disk") }
    }

    func close() { _ = systemClose(fd) }

    private static func size(_ fd: Int32) -> Int {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }
}

/// `close(2)`, which the method `close` above hides by name.
private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
