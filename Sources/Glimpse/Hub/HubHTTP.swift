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

    func head(_ url: URL) throws -> HTTPReply {
        try exchange(method: "HEAD", url: url, extraHeaders: [:], timeout: environment.metadataTimeout,
                     accept: { _ in false }, onData: { _ in })
    }

    /// GET streaming the body of a 2xx answer to `onData`; `accept` sees the status and headers
    /// first and returns false to treat the body as an error message instead.
    func get(_ url: URL, rangeFrom offset: Int64, accept: @escaping (HTTPReply) throws -> Bool,
             onData: @escaping (Data) throws -> Void) throws -> HTTPReply {
        try exchange(method: "GET", url: url, extraHeaders: offset > 0 ? ["Range": "bytes=\(offset)-"] : [:],
                     timeout: environment.downloadTimeout, accept: accept, onData: onData)
    }

    private func exchange(method: String, url: URL, extraHeaders: [String: String], timeout: Double,
                          accept: @escaping (HTTPReply) throws -> Bool, onData: @escaping (Data) throws -> Void) throws -> HTTPReply {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        for (key, value) in headers(for: url).merging(extraHeaders, uniquingKeysWith: { $1 }) {
            request.setValue(value, forHTTPHeaderField: key)
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let exchange = Exchange(url: url, accept: accept, onData: onData)
        let session = URLSession(configuration: configuration, delegate: exchange, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        return try exchange.wait()
    }
}

/// The delegate of one request: stops redirects, hands body bytes over as they arrive, and
/// reports the outcome once the task completes.
private final class Exchange: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let url: URL
    private let accept: (HTTPReply) throws -> Bool
    private let onData: (Data) throws -> Void
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var reply: HTTPReply?
    private var streaming = false
    private var errorBody = Data()
    private var failure: (any Error)?

    init(url: URL, accept: @escaping (HTTPReply) throws -> Bool, onData: @escaping (Data) throws -> Void) {
        self.url = url
        self.accept = accept
        self.onData = onData
    }

    func wait() throws -> HTTPReply {
        done.wait()
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
            lock.withLock { if errorBody.count < 65536 { errorBody.append(data) } }
            return
        }
        do { try onData(data) } catch {
            lock.withLock { failure = error; streaming = false }
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        lock.withLock {
            if let error, failure == nil {
                let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
                let reason = underlying?.localizedDescription ?? error.localizedDescription
                failure = TransportFailure(url: url, reason: reason == "(null)" ? "\(error)" : reason)
            }
        }
        done.signal()
    }
}
