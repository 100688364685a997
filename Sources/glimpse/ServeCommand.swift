import ArgumentParser
import Foundation
import Glimpse
import GlimpseSearch
import GlimpseServer

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the models over HTTP: a JSON API (/openapi.json) and a web page at /.",
        discussion: "Images are uploaded as the raw request body: curl --data-binary @photo.jpg 'http://127.0.0.1:8080/api/caption'. Concurrent requests share forward passes; when --queue requests already wait for a model, new ones get 503 with Retry-After. Listens on loopback unless --host says otherwise, which needs --token (or GLIMPSE_SERVE_TOKEN): then /api requests need 'Authorization: Bearer TOKEN', and the page is opened as http://HOST:PORT/#token=TOKEN. Stop with Ctrl-C (SIGINT) or SIGTERM."
    )

    @Option(help: "Photo library to search (a folder made by glimpse index); needs the library's CLIP model as --model.")
    var db: String?

    @Option(name: .shortAndLong, help: "CLIP model (folder or Hub id): embeddings, zero-shot classification, and the queries of --db.")
    var model: String?

    @Option(help: "BLIP captioning model (folder or Hub id).")
    var captionModel: String?

    @Option(help: "OWL-ViT detection model (folder or Hub id).")
    var detectModel: String?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host = "127.0.0.1"

    @Option(help: precisionHelp)
    var precision: Precision = .fp32

    @Option(parsing: .unconditional, help: "Port (0 picks a free one; the chosen port is printed).")
    var port = 8080

    @Option(help: "Bearer token required on /api requests (default: GLIMPSE_SERVE_TOKEN, if set).")
    var token: String?

    @Option(parsing: .unconditional, help: "Largest upload in bytes.")
    var maxUploadBytes = 32 << 20

    @Option(parsing: .unconditional, help: "Requests merged into one forward pass.")
    var batchSize = 16

    @Option(parsing: .unconditional, help: "Requests that may wait for a model before new ones get 503.")
    var queue = 64

    @Option(parsing: .unconditional, help: "Worker threads, 1 to \(Limits.threads) (default: GLIMPSE_NUM_THREADS, else all cores).")
    var threads: Int?

    func validate() throws {
        guard model != nil || captionModel != nil || detectModel != nil else {
            throw ValidationError("nothing to serve: give --model (CLIP), --caption-model (BLIP) and/or --detect-model (OWL-ViT)")
        }
        if db != nil && model == nil { throw ValidationError("--db needs --model: the CLIP model the library was indexed with embeds the queries") }
        try Check.range(threads, "--threads", 1 ... Limits.threads)
        do { try serverConfiguration().validate() } catch { throw ValidationError("\(error)") }
    }

    func serverConfiguration() -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.token = token ?? ProcessInfo.processInfo.environment["GLIMPSE_SERVE_TOKEN"]
        configuration.maxUploadBytes = maxUploadBytes
        configuration.batchSize = batchSize
        configuration.queueCapacity = queue
        return configuration
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        var names: [String: String] = [:]
        let clip = try model.map { names["clip"] = $0; return try CLIP(model: $0, precision: precision) }
        let captioner = try captionModel.map { names["caption"] = $0; return try BLIPCaptioner(model: $0, precision: precision) }
        let detector = try detectModel.map { names["detect"] = $0; return try OwlViT(model: $0, precision: precision) }
        let configuration = serverConfiguration()
        var library: LibraryService?
        if let db, let clip, let model {
            let photos = try PhotoLibrary(folder: db)
            // Queries must be embedded by the model that embedded the photos.
            try photos.model().requireSame(try LibraryModel(spec: model, clip: clip), library: db)
            library = try LibraryService(library: photos, batchSize: configuration.batchSize, capacity: configuration.queueCapacity)
        }
        let service = ModelService(clip: clip, captioner: captioner, detector: detector, names: names,
                                   batchSize: configuration.batchSize, capacity: configuration.queueCapacity)
        try service.warmUp()
        let router = GlimpseServer.router(service: service, library: library, configuration: configuration)
        let app = GlimpseServer.application(router: router,
                                            configuration: configuration) { port in
            FileHandle.standardError.write(Data("glimpse: serving on http://\(configuration.host):\(port)/\n".utf8))
        }
        let done = DispatchSemaphore(value: 0)
        let failure = LockedError()
        Task {
            do { try await app.runService() } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        service.stop()
        library?.stop()
        if let error = failure.get() { throw error }
    }
}

/// The server task's error, handed back to the synchronous command.
private final class LockedError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ error: any Error) { lock.withLock { self.error = error } }
    func get() -> (any Error)? { lock.withLock { error } }
}
