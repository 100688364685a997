/// Every failure a user can cause surfaces as a `GlimpseError` with a message that names
/// the file, tensor or argument at fault. Nothing a user controls may trap.
public enum GlimpseError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A file or folder that was looked for and is not there.
    case fileNotFound(path: String, what: String)
    /// A file that exists but cannot be read as what it claims to be.
    case invalidFile(path: String, reason: String)
    /// A configuration value that is missing, of the wrong type, or out of range.
    case invalidConfig(String)
    /// A checkpoint without a tensor the model needs.
    case missingTensor(String)
    /// A tensor whose shape differs from what the configuration implies.
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    /// A text that does not fit the model's context.
    case textTooLong(text: String, tokens: Int, limit: Int)
    /// Any other argument a caller got wrong.
    case invalidArgument(String)
    /// A valid input the library does not handle (yet).
    case unsupported(String)
    /// A Hugging Face Hub model that could not be found, reached or downloaded; the failure
    /// keeps its case (gated, not found, offline, network, corrupt, …).
    case hub(HubFailure)

    public var description: String {
        switch self {
        case let .fileNotFound(path, what): return "\(what) not found: \(path)"
        case let .invalidFile(path, reason): return "\(path): \(reason)"
        case let .invalidConfig(message): return "invalid configuration: \(message)"
        case let .missingTensor(name): return "checkpoint has no tensor '\(name)'"
        case let .shapeMismatch(name, expected, actual):
            return "tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .textTooLong(text, tokens, limit):
            let shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
            return "text is \(tokens) tokens, longer than the context of \(limit): \"\(shown)\" (truncate to fit, or shorten it)"
        case let .invalidArgument(message): return message
        case let .unsupported(message): return "unsupported: \(message)"
        case let .hub(failure): return failure.description
        }
    }
}
