import Foundation
import Hummingbird

/// A request's query string as HTML forms encode it: `name=value` pairs joined by `&`, values
/// percent-encoded and spaces written as `+` (what a browser's URLSearchParams sends). The
/// router's own query parameters leave `+` as it is, which would turn "a cat" into "a+cat".
struct FormQuery {
    private var pairs: [(String, String)] = []

    init(_ request: Request) {
        for piece in (request.uri.query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            pairs.append((decode(parts[0]), parts.count > 1 ? decode(parts[1]) : ""))
        }
    }

    /// The first value of `name`.
    subscript(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }

    /// Every value of `name`, in order (`?label=cat&label=dog`).
    subscript(values name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
}
