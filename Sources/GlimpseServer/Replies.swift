import Foundation

/// The JSON bodies the API answers with (field names as in the CLI's JSON Lines output).
struct Health: Codable { var status: String; var models: [String: String]; var library: String?; var photos: Int? }
struct ErrorReply: Codable { var error: String }
struct EmbeddingReply: Codable { var dim: Int; var embedding: [Float] }
struct LabelReply: Codable { var label: String; var probability: Float; var logit: Float }
struct ClassifyReply: Codable { var labels: [LabelReply] }
struct CaptionReply: Codable {
    struct Text: Codable { var text: String; var score: Float }
    var captions: [Text]
}
struct DetectReply: Codable {
    struct Box: Codable { var label: String; var score: Float; var box: [Float] }
    var width: Int
    var height: Int
    var detections: [Box]
}
