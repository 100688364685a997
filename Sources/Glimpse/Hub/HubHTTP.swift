import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the server said: status and headers (names lower-cased), plus the start of the body
/// of an error response (the Hub puts its message there).
struct HTTPReply: Sendable {
    let url: URL
    let status: Int
    let headers: [String: String]
    let errorBody: String

    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var isRedirect: Bool { (300..<400).contains(status) && header("location") != nil }

    /// The redirect target, with a relative Location resolved against the request URL.
    var redirectTarget: URL? {
        guard isRedirect, let location = header("location") else { return nil }
        return URL(string: location, relativeTo: url)?.absoluteURL
    }
}

/// The connection failed or broke off (refused, timed out, closed mid-body): the case where
/// a download is resumed and a lookup falls back to the cache.
struct TransportFailure: Error, CustomStringConvertible {
    let url: URL
    let reason: String
    var description: String { "\(url.absoluteString): \(reason)" }
}

/// Single HTTP exchanges on URLSession, one at a time and without following redirects, so
/// the Hub's own headers on a 302 (X-Linked-Etag, X-Repo-Commit) are seen and the token is
/// never sent to the CDN a file is redirected to.
struct HubHTTP: Sendable {
    let environment: HubEnvironment

    /// The bearer token goes only to the endpoint's own origin.
    func headers(for url: URL) -> [String: String] {
        var headers = ["Accept-Encoding": "identity", "User-Agent": "glimpse (huggingface_hub-compatible)"]
        if let token = environment.token, let endpoint = URL(string: environment.endpoint), Self.sameOrigin(url, endpoint) {
            headers["Authorization"] = "Bearer \(token)"
        }
        return headers
    }

    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        func port(_ u: URL) -> Int? { u.port ?? (u.scheme == "https" ? 443 : u.scheme == "http" ? 80 : nil) }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && port(a) == port(b)
    }

    /// HEAD, done within `metadataTimeout` in all (headers trickled in count too).
    func head(_ url: URL) throws -> HTTPReply {
        let deadline = Date().addingTimeInterval(environment.metadataTimeout)
        return try exchange(method: "HEAD", url: url, extraHeaders: [:], timeout: environment.metadataTimeout,
                            accept: { _ in false }, onData: { _ in },
                            overdue: { Date() > deadline ? "no complete answer within HF_HUB_ETAG_TIMEOUT (\(environment.metadataTimeout) s)" : nil })
    }

    /// GET streaming the body of a 2xx answer to `onData`; `accept` sees the status and headers
    /// first and returns false to treat the body as an error message instead. `overdue` is
    /// asked a few times a second, and with every chunk, and stops the exchange with its reason.
    func get(_ url: URL, rangeFrom offset: Int64, accept: @escaping (HTTPReply) throws -> Bool,
             onData: @escaping (Data) throws -> Void, overdue: @escaping () -> String?) throws -> HTTPReply {
        try exchange(method: "GET", url: url, extraHeaders: offset > 0 ? ["Range": "bytes=\(offset)-"] : [:],
                     timeout: environment.downloadTimeout, accept: accept, onData: onData, overdue: overdue)
    }

    private func exchange(method: String, url: URL, extraHeaders: [String: String], timeout: Double,
                          accept: @escaping (HTTPReply) throws -> Bool, onData: @escaping (Data) throws -> Void,
                          overdue: @escaping () -> String?) throws -> HTTPReply {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        for (key, value) in headers(for: url).merging(extraHeaders, uniquingKeysWith: { $1 }) {
            request.setValue(value, forHTTPHeaderField: key)
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let exchange = Exchange(url: url, accept: accept, onData: onData, overdue: overdue)
        let session = URLSession(configuration: configuration, delegate: exchange, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        task.resume()
        return try exchange.wait(task)
    }
}

/// Stopped by the caller's deadline or rate rule: not retried.
struct TransferOverdue: Error { let reason: String }

/// The delegate of one request: stops redirects, hands body bytes over as they arrive, and
/// reports the outcome once the task completes.
private final class Exchange: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let url: URL
    private let accept: (HTTPReply) throws -> Bool
    private let onData: (Data) throws -> Void
    private let overdue: () -> String?
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var reply: HTTPReply?
    private var streaming = false
    private var errorBody = Data()
    /// The error body reached its cap and the rest was not read.
    private var errorBodyFull = false
    private var failure: (any Error)?
    /// The most of an error answer's body kept (the Hub's messages are short).
    static let errorBodyBytes = 65536

    init(url: URL, accept: @escaping (HTTPReply) throws -> Bool, onData: @escaping (Data) throws -> Void,
         overdue: @escaping () -> String?) {
        self.url = url
        self.accept = accept
        self.onData = onData
        self.overdue = overdue
    }

    /// Waits for the task to end, asking `overdue` four times a second, so no server can
    /// hold the exchange open longer than the caller allows (not even by trickling headers).
    func wait(_ task: URLSessionTask) throws -> HTTPReply {
        while done.wait(timeout: .now() + 0.25) == .timedOut {
            if let reason = overdue() {
                lock.withLock { if failure == nil { failure = TransferOverdue(reason: reason) } }
                task.cancel()
                _ = done.wait(timeout: .now() + 5)   // the task ends promptly once cancelled
                break
            }
        }
        return try lock.withLock {
            if let failure { throw failure }
            guard let reply else { throw TransportFailure(url: url, reason: "no response") }
            return HTTPReply(url: reply.url, status: reply.status, headers: reply.headers,
                             errorBody: String(decoding: errorBody.prefix(2000), as: UTF8.self))
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            lock.withLock { failure = TransportFailure(url: url, reason: "not an HTTP response") }
            completionHandler(.cancel)
            return
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        let reply = HTTPReply(url: url, status: http.statusCode, headers: headers, errorBody: "")
        do {
            let stream = try accept(reply)
            lock.withLock { self.reply = reply; streaming = stream }
            completionHandler(.allow)
        } catch {
            lock.withLock { self.reply = reply; failure = error }
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let stream = lock.withLock { streaming }
        guard stream else {
            let full = lock.withLock {
                errorBody.append(data.prefix(Self.errorBodyBytes - errorBody.count))
                errorBodyFull = errorBody.count >= Self.errorBodyBytes
                return errorBodyFull
            }
            if full { dataTask.cancel() }
            return
        }
        do {
            if let reason = overdue() { throw TransferOverdue(reason: reason) }
            try onData(data)
        } catch {
            lock.withLock { failure = error; streaming = false }
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        lock.withLock {
            if let error, failure == nil, !errorBodyFull {
                let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
                let reason = underlying?.localizedDescription ?? error.localizedDescription
                failure = TransportFailure(url: url, reason: reason == "(null)" ? "\(error)" : reason)
            }
        }
        done.signal()
    }
}
