import Foundation
import Glimpse
import GlimpseBase
import GlimpseSearch
import Hummingbird
import NIOCore

/// Search endpoints over a photo library: by text (`q`, with `negative` texts pulled away),
/// by an uploaded image (optionally with `q` too, weighted by `text_weight` and
/// `image_weight`), by a catalogued photo ("more like this"); and the catalogued photos
/// themselves, by id, with cached thumbnails. Query texts and images are embedded on the
/// model's batch queues, the search itself on the library's.
enum SearchRoutes {
    static func add(to api: RouterGroup<BasicRequestContext>, library: LibraryService, models: ModelService, limit: Int) {
        api.get("search") { request, _ in
            let mode = try SearchRoutes.mode(request)
            // Keyword search ranks captions only: the text is not embedded.
            return try await reply(library.search(query(request, models: models, image: nil, embedding: mode != .keyword), mode: mode,
                                                  texts: FormQuery(request)[values: "q"].filter { !$0.isEmpty }), library: library)
        }
        api.post("search") { request, _ in
            let mode = try SearchRoutes.mode(request)
            let image = try await GlimpseServer.upload(request, limit: limit)
            return try await reply(library.search(query(request, models: models, image: image), mode: mode,
                                                  texts: FormQuery(request)[values: "q"].filter { !$0.isEmpty }), library: library)
        }
        api.get("similar/:id") { request, context in
            let id = try identifier(context)
            var query = try await query(request, models: models, image: nil, needsTerm: false)
            query.terms = [(.file(id), 1)]
            return try await reply(library.search(query), library: library)
        }
        api.get("files/:id") { _, context in
            let id = try identifier(context)
            guard let file = try library.file(id: id) else { throw HTTPError(.notFound, message: "no catalogued photo has id \(id)") }
            guard let data = try? InputFile.read(file.fullPath, what: "catalogued photo", limit: Limits.imageFileBytes) else {
                throw HTTPError(.notFound, message: "photo \(id) is no longer readable at its catalogued place; re-index the library")
            }
            return Response(status: .ok, headers: [.contentType: contentType(file.path), .cacheControl: "private, max-age=60"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        api.get("thumbnails/:id") { _, context in
            let id = try identifier(context)
            guard let png = try library.thumbnail(id: id) else { throw HTTPError(.notFound, message: "no catalogued photo has id \(id)") }
            return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, max-age=3600"],
                            body: .init(byteBuffer: ByteBuffer(bytes: png)))
        }
    }

    static func identifier(_ context: BasicRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw HTTPError(.badRequest, message: "a photo id is a positive whole number")
        }
        return id
    }

    /// The query in the request's parameters: q, negative (repeatable), top, under,
    /// text_weight, image_weight, negative_weight; texts embedded on the text queue.
    static func query(_ request: Request, models: ModelService, image: RGBImage?, needsTerm: Bool = true,
                      embedding: Bool = true) async throws -> SearchQuery {
        let parameters = FormQuery(request)
        func number(_ name: String, _ fallback: Float) throws -> Float {
            guard let text = parameters[name] else { return fallback }
            guard let value = Float(text), value.isFinite, abs(value) <= 100 else {
                throw HTTPError(.badRequest, message: "\(name) must be a number in [-100, 100], got \(text)")
            }
            return value
        }
        var top = 20
        if let text = parameters["top"] {
            guard let value = Int(text), (1 ... Limits.searchResults).contains(value) else {
                throw HTTPError(.badRequest, message: "top must be 1 to \(Limits.searchResults), got \(text)")
            }
            top = value
        }
        var terms: [(SearchQuery.Term, Float)] = []
        let texts = parameters[values: "q"].filter { !$0.isEmpty }
        let negatives = parameters[values: "negative"].filter { !$0.isEmpty }
        guard embedding else { return SearchQuery(terms: [], top: top, under: parameters["under"]) }
        if !texts.isEmpty || !negatives.isEmpty || image != nil {
            let textQueue = try GlimpseServer.available(models.textEmbeddings, "a CLIP model (--model) to embed queries")
            for text in texts { terms.append((.embedding(try await textQueue.submit(text)), try number("text_weight", 1))) }
            for text in negatives { terms.append((.embedding(try await textQueue.submit(text)), -(try number("negative_weight", 1)))) }
        }
        if let image {
            let imageQueue = try GlimpseServer.available(models.imageEmbeddings, "a CLIP model (--model) to embed queries")
            terms.append((.embedding(try await imageQueue.submit(image)), try number("image_weight", 1)))
        }
        if needsTerm && terms.isEmpty { throw HTTPError(.badRequest, message: "nothing to search for: give q=TEXT or upload an image") }
        return SearchQuery(terms: terms, top: top, under: parameters["under"])
    }

    static func reply(_ hits: [SearchHit], library: LibraryService) throws -> Response {
        let captions = try library.captions(hits)
        return try Response.json(SearchReply(results: hits.map {
            SearchReply.Hit(id: $0.file.id ?? 0, path: $0.file.fullPath, score: $0.score, width: $0.file.width,
                            height: $0.file.height, takenAt: $0.file.takenAt, caption: captions[$0.file.sha256])
        }))
    }

    static func contentType(_ path: String) -> String {
        let lower = path.lowercased()
        if lower.hasSuffix(".png") { return "image/png" }
        if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { return "image/jpeg" }
        return "application/octet-stream"
    }
}

struct SearchReply: Codable {
    struct Hit: Codable { var id: Int64; var path: String; var score: Float; var width: Int; var height: Int; var takenAt: String?; var caption: String? }
    var results: [Hit]
}
