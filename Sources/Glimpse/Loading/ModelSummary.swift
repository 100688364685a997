import Foundation
import GlimpseCore
import GlimpseImage
import GlimpseText

/// What a checkpoint holds, read from its files without building the model: architecture,
/// parameter count and dtypes (from the weight store's tensor headers), file sizes, the image
/// preprocessing and the tokenizer.
public struct ModelSummary: Sendable {
    public struct File: Sendable { public let name: String; public let size: Int64 }

    public struct Tokenizer: Sendable {
        /// The files it is read from, e.g. `["vocab.json", "merges.txt"]`.
        public let files: [String]
        public let kind: String
        public let vocabularySize: Int?
        /// `tokenizer_class` and `model_max_length` from tokenizer_config.json.
        public let tokenizerClass: String?
        public let maxLength: Int?
    }

    public let folder: URL
    public let architectures: [String]
    public let modelType: String?
    /// Elements over all tensors; nil when the weights could not be read (see `problems`).
    public let parameters: Int?
    /// Elements per dtype, e.g. ["F16": 151277313].
    public let dtypes: [String: Int]
    public let tensors: Int
    public let files: [File]
    public let preprocessing: PreprocessorConfig?
    public let imageProcessorType: String?
    public let tokenizer: Tokenizer?
    /// Parts that could not be read, each naming the file and reason.
    public let problems: [String]

    public init(checkpoint: Checkpoint) throws {
        folder = checkpoint.folder
        let config = try checkpoint.config()
        architectures = config.values["architectures"] as? [String] ?? []
        modelType = config.values["model_type"] as? String
        var problems: [String] = []

        do {
            let store = try checkpoint.weights()
            var byType: [String: Int] = [:]
            // Loaders admit only shapes whose element count fits in the file, so these sums cannot overflow.
            for entry in store.entries.values { byType[entry.dtype.rawValue, default: 0] += Tensor.elementCount(entry.shape, limit: Int.max) ?? 0 }
            dtypes = byType
            parameters = byType.values.reduce(0, +)
            tensors = store.entries.count
        } catch {
            problems.append("weights: \(error)")
            (dtypes, parameters, tensors) = ([:], nil, 0)
        }

        files = Self.listFiles(checkpoint.folder)

        var preprocessing: PreprocessorConfig?
        var processorType: String?
        if checkpoint.exists("preprocessor_config.json") {
            do {
                preprocessing = try ImagePreprocessor.load(folder: checkpoint.folder).config
                let raw = try ConfigReader(contentsOf: checkpoint.file("preprocessor_config.json"), what: "preprocessor_config.json")
                processorType = raw.values["image_processor_type"] as? String
            } catch { problems.append("preprocessing: \(error)") }
        }
        self.preprocessing = preprocessing
        imageProcessorType = processorType

        tokenizer = Self.tokenizer(in: checkpoint, problems: &problems)
        self.problems = problems
    }

    private static func listFiles(_ folder: URL) -> [File] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: folder.path) else { return [] }
        var files: [File] = []
        while let name = walker.nextObject() as? String {
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            // fileExists and attributesOfItem(resolving) follow the cache's symlinks to the blobs.
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let size = (try? fm.attributesOfItem(atPath: url.resolvingSymlinksInPath().path))?[.size] as? NSNumber
            files.append(File(name: name, size: size?.int64Value ?? 0))
        }
        return files.sorted { $0.name < $1.name }
    }

    private static func tokenizer(in checkpoint: Checkpoint, problems: inout [String]) -> Tokenizer? {
        guard let files = ModelFiles.tokenizer.alternatives.first(where: { $0.allSatisfy(checkpoint.exists) }) else { return nil }
        func json(_ name: String) -> [String: Any]? {
            let path = checkpoint.file(name).path
            let data: Data
            do { data = try InputFile.read(path, what: name, limit: Limits.tokenizerFileBytes) } catch {
                problems.append("tokenizer: \(error)")
                return nil
            }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                problems.append("tokenizer: \(path) is not a JSON object")
                return nil
            }
            return object
        }
        var kind = "byte-level BPE"
        var vocabularySize: Int?
        switch files.first {
        case "vocab.json":
            vocabularySize = json("vocab.json")?.count
        case "tokenizer.json":
            let model = json("tokenizer.json")?["model"] as? [String: Any]
            kind = "tokenizers JSON (\(model?["type"] as? String ?? "unknown model"))"
            vocabularySize = (model?["vocab"] as? [String: Any])?.count ?? (model?["vocab"] as? [Any])?.count
        case "vocab.txt":
            kind = "WordPiece"
            vocabularySize = (try? InputFile.text(checkpoint.file("vocab.txt").path, what: "vocab.txt", limit: Limits.tokenizerFileBytes))?
                .split(whereSeparator: \.isNewline).count
        default:
            kind = "CLIP BPE (OpenAI)"
            do { vocabularySize = try CLIPTokenizer(bpeVocabGzip: checkpoint.file(files[0])).vocabularySize } catch {
                problems.append("tokenizer: \(error)")
            }
        }
        let config = checkpoint.exists("tokenizer_config.json") ? json("tokenizer_config.json") : nil
        let maxLength = (config?["model_max_length"] as? NSNumber).map(\.doubleValue).flatMap { $0 < 1e12 ? Int($0) : nil }
        return Tokenizer(files: files, kind: kind, vocabularySize: vocabularySize,
                         tokenizerClass: config?["tokenizer_class"] as? String, maxLength: maxLength)
    }
}
