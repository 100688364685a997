import Foundation
import Glimpse
import GlimpseBase
import Hummingbird
import NIOCore

/// The HTTP front of Glimpse: a JSON API over the loaded models (described by /openapi.json)
/// and the web page. Images are uploaded as the raw request body (`curl --data-binary
/// @photo.jpg`), options go in the query string, so every endpoint is one curl line.
public enum GlimpseServer {
    /// The router for `service`; the application adds the listener.
    public static func router(service: ModelService, library: LibraryService? = nil,
                              configuration: ServerConfiguration) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        if let token = configuration.token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        let limit = configuration.maxUploadBytes
        router.get("/") { _, _ in Response.page(WebPage.html) }
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.json(service: service))))
        }
        let api = router.group("api")
        api.get("health") { _, _ in
            try Response.json(Health(status: "ok", models: service.names, library: library?.library.folder,
                                     photos: try library?.snapshot().files.count))
        }
        api.get("embed/text") { request, _ in
            let queue = try available(service.textEmbeddings, "a CLIP model (--model)")
            let text = try required(request, "text")
            let embedding = try await queue.submit(text)
            return try Response.json(EmbeddingReply(dim: embedding.count, embedding: embedding))
        }
        api.post("embed/image") { request, _ in
            let queue = try available(service.imageEmbeddings, "a CLIP model (--model)")
            let embedding = try await queue.submit(try await upload(request, limit: limit))
            return try Response.json(EmbeddingReply(dim: embedding.count, embedding: embedding))
        }
        api.post("classify") { request, _ in
            let images = try available(service.imageEmbeddings, "a CLIP model (--model)")
            let texts = try available(service.textEmbeddings, "a CLIP model (--model)")
            let labels = FormQuery(request)[values: "label"]
            guard !labels.isEmpty, labels.count <= Limits.queries, labels.allSatisfy({ !$0.isEmpty }) else {
                throw HTTPError(.badRequest, message: "give 1...\(Limits.queries) non-empty labels: ?label=cat&label=dog")
            }
            let image = try await images.submit(try await upload(request, limit: limit))
            // The labels go in together, so they share the text model's next batch.
            let embeddings = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for (index, label) in labels.enumerated() {
                    group.addTask { (index, try await texts.submit(ZeroShotClassifier.defaultTemplate.replacingOccurrences(of: "{}", with: label))) }
                }
                var rows = [[Float]](repeating: [], count: labels.count)
                for try await (index, row) in group { rows[index] = row }
                return rows
            }
            let scale = service.clip?.model.logitScale ?? 1
            let scores = zip(labels, embeddings).map { label, embedding in
                (label: label, logit: scale * zip(image, embedding).reduce(Float(0)) { $0 + $1.0 * $1.1 })
            }
            let top = scores.map(\.logit).max() ?? 0
            let total = scores.reduce(Float(0)) { $0 + exp($1.logit - top) }
            let reply = scores.map { LabelReply(label: $0.label, probability: exp($0.logit - top) / total, logit: $0.logit) }
            return try Response.json(ClassifyReply(labels: reply.sorted { $0.probability > $1.probability }))
        }
        api.post("caption") { request, _ in
            let queue = try available(service.captions, "a BLIP captioning model (--caption-model)")
            let captions = try await queue.submit(try await upload(request, limit: limit))
            return try Response.json(CaptionReply(captions: captions.map { CaptionReply.Text(text: $0.text, score: $0.score) }))
        }
        api.post("detect") { request, _ in
            let queue = try available(service.detections, "an OWL-ViT model (--detect-model)")
            let queries = FormQuery(request)[values: "query"]
            guard !queries.isEmpty, queries.count <= Limits.queries, queries.allSatisfy({ !$0.isEmpty }) else {
                throw HTTPError(.badRequest, message: "give 1...\(Limits.queries) non-empty queries: ?query=a+cat")
            }
            var threshold: Float?
            if let text = FormQuery(request)["threshold"] {
                guard let value = Float(text), value >= 0, value <= 1 else {
                    throw HTTPError(.badRequest, message: "threshold must be a number in [0, 1], got \(text)")
                }
                threshold = value
            }
            let image = try await upload(request, limit: limit)
            let found = try await queue.submit(.init(image: image, queries: queries, threshold: threshold))
            return try Response.json(DetectReply(width: image.width, height: image.height, detections: found.map {
                DetectReply.Box(label: $0.label, score: $0.score, box: $0.box.corners)
            }))
        }
        if let library {
            SearchRoutes.add(to: api, library: library, models: service, limit: limit)
        } else {
            for path in ["search", "similar/:id", "files/:id", "thumbnails/:id"] {
                api.get(RouterPath(stringLiteral: path)) { _, _ -> Response in throw HTTPError(.notFound, message: "this server has no photo library: start it with --db LIBRARY") }
            }
            api.post("search") { _, _ -> Response in throw HTTPError(.notFound, message: "this server has no photo library: start it with --db LIBRARY") }
        }
        return router
    }

    /// The application serving `router` on the configured address; `onRunning` gets the bound
    /// port (useful with port 0).
    public static func application(router: Router<BasicRequestContext>, configuration: ServerConfiguration,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router,
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "glimpse"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) })
    }

    static func available<Q>(_ queue: Q?, _ what: String) throws -> Q {
        guard let queue else { throw HTTPError(.notFound, message: "this server has no model for this endpoint: start it with \(what)") }
        return queue
    }

    static func required(_ request: Request, _ name: String) throws -> String {
        guard let value = FormQuery(request)[name], !value.isEmpty else {
            throw HTTPError(.badRequest, message: "missing query parameter \(name)")
        }
        return value
    }

    /// The uploaded image: the body, at most `limit` bytes (413 beyond), decoded (400 if it is
    /// not an image Glimpse reads).
    static func upload(_ request: Request, limit: Int) async throws -> RGBImage {
        var buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0, let bytes = buffer.readBytes(length: buffer.readableBytes) else {
            throw HTTPError(.badRequest, message: "the request body must be an image (JPEG or PNG); it is empty")
        }
        do { return try ImageDecoder.decode(data: bytes, name: "uploaded image") }
        catch { throw HTTPError(.badRequest, message: "\(error)") }
    }
}

/// Model errors as JSON with the right status: 503 + Retry-After when a queue is full, 400 for
/// an input the model refused; HTTP errors keep their status. Bodies are `{"error": "..."}`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as BatchQueueFull {
            return try Response.json(ErrorReply(error: error.description), status: .serviceUnavailable, headers: [.retryAfter: "1"])
        } catch let error as HTTPError {
            var headers = error.headers
            headers[.contentType] = "application/json"
            return try Response.json(ErrorReply(error: error.body ?? "\(error.status)"), status: error.status, headers: headers)
        } catch let error as any HTTPResponseError {
            return try Response.json(ErrorReply(error: "\(error)"), status: error.status)
        } catch let error as GlimpseError {
            return try Response.json(ErrorReply(error: error.description), status: .badRequest)
        }
    }
}

extension Response {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func page(_ html: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
