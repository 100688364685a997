import Foundation
import Glimpse

/// Plain words for the errors that reach the top level: a `GlimpseError` says what it is;
/// Foundation's file and network errors would otherwise print as raw dumps
/// (`Error Domain=NSCocoaErrorDomain Code=516 …`), so they become "PATH: cause".
enum ErrorReport {
    static func describe(_ error: Error) -> String {
        if let error = error as? GlimpseError { return error.description }
        if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
        let ns = error as NSError
        switch ns.domain {
        case NSCocoaErrorDomain: return describeFileError(ns)
        case NSPOSIXErrorDomain: return String(cString: strerror(Int32(truncatingIfNeeded: ns.code)))
        case NSURLErrorDomain:
            let url = (ns.userInfo[NSURLErrorFailingURLErrorKey] as? URL).map { " (\($0.absoluteString))" } ?? ""
            return "network error\(url): \(ns.localizedDescription)"
        default:
            return String(describing: error)
        }
    }

    /// A Foundation file error as "PATH: cause".
    static func describeFileError(_ error: NSError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String)
            ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        let cause: String
        switch CocoaError.Code(rawValue: error.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: cause = "no such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: cause = "permission denied"
        case .fileWriteFileExists:
            if let path, InputFile.kind(of: path) != .directory, InputFile.kind(of: path) != .missing {
                cause = "exists and is not a directory"
            } else {
                cause = "already exists"
            }
        case .fileWriteOutOfSpace: cause = "no space left on the device"
        case .fileWriteVolumeReadOnly: cause = "the file system is read-only"
        case .fileWriteInvalidFileName: cause = "not a valid file name"
        case .fileReadTooLarge: cause = "too large to read"
        case .fileReadInapplicableStringEncoding, .fileReadUnknownStringEncoding: cause = "not text in the expected encoding"
        case .fileReadCorruptFile: cause = "not in the expected format"
        default:
            if let path, let problem = pathProblem(path) {
                cause = problem
            } else if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                cause = String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
            } else if path != nil {
                cause = "cannot be read or written (file error \(error.code))"
            } else {
                cause = "file error \(error.code)"
            }
        }
        return path.map { "\($0): \(cause)" } ?? cause
    }

    /// Why nothing can be made at `path`: one of the folders above it is a file, or missing.
    static func pathProblem(_ path: String) -> String? {
        var folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        while folder.path != "/" {
            switch InputFile.kind(of: folder.path) {
            case .directory: return nil
            case .missing: folder.deleteLastPathComponent()
            default: return "\(folder.path) is not a directory"
            }
        }
        return nil
    }
}
