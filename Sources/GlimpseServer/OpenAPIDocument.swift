import Foundation

/// The OpenAPI 3.1 description of the server's API, served at /openapi.json, so clients can be
/// generated and requests checked against it. Endpoints of models the server did not load are
/// still listed: they answer 404 with the option that loads the model.
enum OpenAPIDocument {
    static func json(service: ModelService) throws -> Data {
        let image: [String: Any] = ["required": true, "content": [
            "image/jpeg": ["schema": ["type": "string", "format": "binary"]],
            "image/png": ["schema": ["type": "string", "format": "binary"]],
        ]]
        func query(_ name: String, _ description: String, required: Bool = true, array: Bool = false, type: String = "string") -> [String: Any] {
            let schema: [String: Any] = array ? ["type": "array", "items": ["type": type]] : ["type": type]
            return ["name": name, "in": "query", "required": required, "description": description, "schema": schema,
                    "style": "form", "explode": true]
        }
        func reply(_ schema: String, _ description: String) -> [String: Any] {
            ["200": ["description": description, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]]],
             "400": error("bad input"), "401": error("missing or wrong bearer token (servers started with --token)"),
             "404": error("the model for this endpoint is not loaded"), "413": error("upload too large"),
             "503": error("busy: retry after the Retry-After seconds")]
        }
        func error(_ description: String) -> [String: Any] {
            ["description": description, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        }
        let number: [String: Any] = ["type": "number"]
        let floats: [String: Any] = ["type": "array", "items": number]
        func object(_ properties: [String: Any]) -> [String: Any] {
            ["type": "object", "properties": properties, "required": Array(properties.keys).sorted()]
        }
        let searchParameters: [[String: Any]] = [
            query("q", "text to search for", required: false, array: true),
            query("negative", "texts to steer away from", required: false, array: true),
            query("top", "results (default 20)", required: false, type: "integer"),
            query("under", "only photos at or under this folder", required: false),
            query("text_weight", "weight of the texts", required: false, type: "number"),
            query("image_weight", "weight of the image", required: false, type: "number"),
            query("negative_weight", "weight of each negative text", required: false, type: "number"),
            query("mode", "semantic (CLIP, default), keyword (BM25 over the BLIP captions) or hybrid (reciprocal rank fusion of both); "
                  + "keyword and hybrid need a library indexed with --captions", required: false),
        ]
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "Glimpse", "version": "1", "description": "CLIP, BLIP and OWL-ViT over HTTP. Images are the raw request body."],
            "paths": [
                "/api/health": ["get": ["summary": "Status and loaded models", "operationId": "health", "responses": reply("Health", "ok")]],
                "/api/embed/text": ["get": ["summary": "CLIP text embedding (normalised)", "operationId": "embedText",
                                            "parameters": [query("text", "the text")], "responses": reply("Embedding", "the embedding")]],
                "/api/embed/image": ["post": ["summary": "CLIP image embedding (normalised)", "operationId": "embedImage",
                                              "requestBody": image, "responses": reply("Embedding", "the embedding")]],
                "/api/classify": ["post": ["summary": "Zero-shot classification (CLIP)", "operationId": "classify",
                                           "parameters": [query("label", "candidate labels", array: true)],
                                           "requestBody": image, "responses": reply("Classification", "labels, most probable first")]],
                "/api/caption": ["post": ["summary": "Caption an image (BLIP)", "operationId": "caption",
                                          "requestBody": image, "responses": reply("Captions", "captions")]],
                "/api/search": [
                    "get": ["summary": "Search the library by text", "operationId": "search", "parameters": searchParameters,
                            "responses": reply("SearchResults", "photos, best first")],
                    "post": ["summary": "Search the library by an uploaded image (and text)", "operationId": "searchByImage",
                             "parameters": searchParameters, "requestBody": image, "responses": reply("SearchResults", "photos, best first")],
                ],
                "/api/detect": ["post": ["summary": "Open-vocabulary detection (OWL-ViT)", "operationId": "detect",
                                         "parameters": [query("query", "what to find", array: true),
                                                        query("threshold", "minimum score (default the model's)", required: false, type: "number")],
                                         "requestBody": image, "responses": reply("Detections", "boxes in pixels [x1, y1, x2, y2]")]],
            ],
            "components": [
                "schemas": [
                    "Error": object(["error": ["type": "string"]]),
                    "Health": object(["status": ["type": "string"], "models": ["type": "object", "additionalProperties": ["type": "string"]]]),
                    "Embedding": object(["dim": ["type": "integer"], "embedding": floats]),
                    "Classification": object(["labels": ["type": "array", "items": object(["label": ["type": "string"], "probability": number, "logit": number])]]),
                    "Captions": object(["captions": ["type": "array", "items": object(["text": ["type": "string"], "score": number])]]),
                    "SearchResults": object(["results": ["type": "array", "items": [
                        "type": "object", "required": ["id", "path", "score", "width", "height"],
                        "properties": ["id": ["type": "integer"], "path": ["type": "string"], "score": number, "width": ["type": "integer"],
                                       "height": ["type": "integer"], "takenAt": ["type": "string"],
                                       "caption": ["type": "string", "description": "the photo's BLIP caption, in a captioned library"]],
                    ]]]),
                    "Detections": object(["width": ["type": "integer"], "height": ["type": "integer"],
                                          "detections": ["type": "array", "items": object(["label": ["type": "string"], "score": number, "box": floats])]]),
                ],
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
    }
}
