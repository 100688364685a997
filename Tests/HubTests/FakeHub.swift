import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A local HTTP server answering like the Hugging Face Hub, on 127.0.0.1 and an ephemeral port.
///
/// `{repo}/resolve/{revision}/{file}` gives small files directly (200, ETag = git blob id,
/// X-Repo-Commit) and LFS files as a 302 to `/cdn/<sha256>` (X-Linked-Etag, X-Linked-Size),
/// with an absolute Location on the host name `localhost` (another host than the endpoint's
/// 127.0.0.1, like the real CDN) or a relative one. Errors carry X-Error-Code as the Hub's
/// do. Faults can be injected: a transfer that breaks off half-way once, or corrupt bytes.
/// Every request is recorded, and the number served is capped so a client bug cannot loop.
final class FakeHub: @unchecked Sendable {
    struct Repo {
        var commits: [String: [String: Data]]
        var branches: [String: String]
        /// A token the repo demands (a gated repo), or nil for a public one.
        var token: String? = nil
        /// Files served through the LFS/CDN path.
        var lfs: (String) -> Bool = { $0.hasSuffix(".safetensors") || $0.hasSuffix(".bin") || $0.hasSuffix(".gz") }
        /// A hostile server: rewrites the reply to a `resolve` request for a file (any status).
        var tamper: ((_ file: String, _ request: Request, _ reply: inout Reply) -> Void)? = nil
    }

    struct Request { let method: String; let path: String; let headers: [String: String] }

    private let lock = NSLock()
    private var _repos: [String: Repo] = [:]
    private var _requests: [Request] = []
    private var _interruptOnce: Set<String> = []
    private var _corrupt: Set<String> = []
    var relativeRedirects = false
    var maxRequests = 300
    private var channel: Channel?
    private(set) var port = 0

    var endpoint: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { lock.withLock { _requests } }
    func clearRequests() { lock.withLock { _requests.removeAll() } }
    func add(_ name: String, _ repo: Repo) { lock.withLock { _repos[name] = repo } }
    /// The next GET of this blob sends half of it and closes the connection.
    func interruptOnce(sha256: String) { lock.withLock { _ = _interruptOnce.insert(sha256) } }
    /// GETs of this blob serve one byte flipped.
    func corrupt(sha256: String) { lock.withLock { _ = _corrupt.insert(sha256) } }

    func start() throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FakeHubHandler(hub: self))
                }
            }
        let channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        self.channel = channel
        port = channel.localAddress?.port ?? 0
    }

    func stop() { try? channel?.close().wait() }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
    static func gitBlobID(_ data: Data) -> String {
        Insecure.SHA1.hash(data: Data("blob \(data.count)\0".utf8) + data).map { String(format: "%02x", $0) }.joined()
    }

    struct Reply {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body = Data()
        /// Send only this many body bytes, then close (the Content-Length still announces all).
        var cutAfter: Int? = nil
        /// False: no Content-Length is added (a GET body then goes chunked).
        var declareLength = true
        /// Instead of `body`: `count` bytes in writes of `chunk` bytes, `every` apart, each
        /// after the previous one was flushed (so a client that stops reading stops it).
        var stream: (count: Int, chunk: Int, every: TimeAmount)? = nil

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        /// Replaces (or with nil removes) a header.
        mutating func set(_ name: String, _ value: String?) {
            headers.removeAll { $0.0.lowercased() == name.lowercased() }
            if let value { headers.append((name, value)) }
        }
    }

    func reply(method: String, uri: String, headers: HTTPHeaders) -> Reply {
        var recorded: [String: String] = [:]
        for (name, value) in headers { recorded[name.lowercased()] = value }
        let count: Int = lock.withLock {
            _requests.append(Request(method: method, path: uri, headers: recorded))
            return _requests.count
        }
        guard count <= maxRequests else { return Reply(status: .serviceUnavailable) }
        let path = uri.split(separator: "?").first.map(String.init) ?? uri
        if path.hasPrefix("/cdn/") { return cdn(String(path.dropFirst(5)), method: method, range: recorded["range"]) }
        let request = Request(method: method, path: uri, headers: recorded)
        let parts = path.split(separator: "/", maxSplits: 4).map { String($0).removingPercentEncoding ?? String($0) }
        var reply = resolve(parts, method: method, authorization: recorded["authorization"])
        if parts.count == 5, let tamper = lock.withLock({ _repos[parts[0] + "/" + parts[1]]?.tamper }) {
            tamper(parts[4], request, &reply)
        }
        return reply
    }

    private func resolve(_ parts: [String], method: String, authorization: String?) -> Reply {
        guard parts.count == 5, parts[2] == "resolve" else { return Reply(status: .notFound) }
        let name = parts[0] + "/" + parts[1], revision = parts[3], file = parts[4]
        guard let repo = lock.withLock({ _repos[name] }) else {
            return Reply(status: .unauthorized, headers: [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")])
        }
        if let token = repo.token, authorization != "Bearer \(token)" {
            return Reply(status: authorization == nil ? .unauthorized : .forbidden,
                         headers: [("X-Error-Code", "GatedRepo"), ("X-Error-Message", "Access to model \(name) is restricted.")])
        }
        guard let commit = repo.branches[revision] ?? (repo.commits[revision] != nil ? revision : nil),
              let files = repo.commits[commit] else {
            return Reply(status: .notFound, headers: [("X-Error-Code", "RevisionNotFound"), ("X-Error-Message", "Invalid rev id: \(revision)")])
        }
        guard let data = files[file] else {
            return Reply(status: .notFound, headers: [("X-Error-Code", "EntryNotFound"), ("X-Error-Message", "Entry not found"), ("X-Repo-Commit", commit)])
        }
        if repo.lfs(file) {
            let sha = Self.sha256(data)
            let location = relativeRedirects ? "/cdn/\(sha)" : "http://localhost:\(port)/cdn/\(sha)"
            return Reply(status: .found, headers: [
                ("Location", location), ("X-Repo-Commit", commit), ("X-Linked-Etag", "\"\(sha)\""),
                ("X-Linked-Size", "\(data.count)"), ("ETag", "\"\(Self.gitBlobID(Data(sha.utf8)))\""), ("Content-Length", "0"),
            ])
        }
        return Reply(status: .ok, headers: [("ETag", "\"\(Self.gitBlobID(data))\""), ("X-Repo-Commit", commit),
                                            ("Content-Length", "\(data.count)")], body: method == "GET" ? data : Data())
    }

    private func cdn(_ sha: String, method: String, range: String?) -> Reply {
        let blob: Data? = lock.withLock {
            for repo in _repos.values { for files in repo.commits.values { for data in files.values where Self.sha256(data) == sha { return data } } }
            return nil
        }
        guard var data = blob else { return Reply(status: .notFound) }
        var headers: [(String, String)] = [("ETag", "\"cdn-\(sha.prefix(8))\""), ("Accept-Ranges", "bytes")]
        guard method == "GET" else { return Reply(status: .ok, headers: headers + [("Content-Length", "\(data.count)")]) }
        let (interrupt, corrupt) = lock.withLock { (_interruptOnce.remove(sha) != nil, _corrupt.contains(sha)) }
        if corrupt, !data.isEmpty { data[data.count / 2] ^= 0xFF }
        var status = HTTPResponseStatus.ok
        var start = 0
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let from = Int(range.dropFirst(6).dropLast()) {
            guard from < data.count else { return Reply(status: .rangeNotSatisfiable, headers: [("Content-Range", "bytes */\(data.count)")]) }
            start = from
            status = .partialContent
            headers.append(("Content-Range", "bytes \(from)-\(data.count - 1)/\(data.count)"))
        }
        let body = data.subdata(in: start..<data.count)
        return Reply(status: status, headers: headers + [("Content-Length", "\(body.count)")], body: body,
                     cutAfter: interrupt ? body.count / 2 : nil)
    }
}

private final class FakeHubHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let hub: FakeHub
    private var head: HTTPRequestHead?

    init(hub: FakeHub) { self.hub = hub }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            let reply = hub.reply(method: head.method.rawValue, uri: head.uri, headers: head.headers)
            var headers = HTTPHeaders(reply.headers)
            if reply.declareLength, reply.stream == nil, !headers.contains(name: "Content-Length") {
                headers.add(name: "Content-Length", value: "\(reply.body.count)")
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
            if let stream = reply.stream, head.method == .GET {
                context.flush()
                Self.send(stream, sent: 0, channel: context.channel)
                self.head = nil
                return
            }
            let body = reply.cutAfter.map { reply.body.prefix($0) } ?? reply.body
            if !body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            if reply.cutAfter != nil {
                context.flush()
                context.close(promise: nil)
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            self.head = nil
        }
    }

    /// Writes a streamed body chunk by chunk; stops when the client goes away.
    private static func send(_ stream: (count: Int, chunk: Int, every: TimeAmount), sent: Int, channel: Channel) {
        guard sent < stream.count else {
            channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
            return
        }
        let size = min(stream.chunk, stream.count - sent)
        let buffer = channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: size)
        let (count, chunk, every) = stream
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).whenComplete { result in
            guard case .success = result, channel.isActive else { return }
            channel.eventLoop.scheduleTask(in: every) {
                send((count, chunk, every), sent: sent + size, channel: channel)
            }
        }
    }
}
