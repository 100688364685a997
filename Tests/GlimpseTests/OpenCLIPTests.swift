import XCTest
@testable import Glimpse

/// open_clip folders against open_clip itself on seeded random weights
/// (Tools/fixtures/make_openclip_fixtures.py, which reloads each folder with
/// `create_model_and_transforms("local-dir:…")`).
///
/// Tolerances: 1e-4 max abs on features and logits, pixel values 0.02 (PIL resampling in
/// integer arithmetic, as for the Hugging Face pipeline). Measured (2026-11-29): ViT (fp16 .bin,
/// QuickGELU) features 6e-7, logits 1.9e-6; ResNet (bf16 safetensors, GELU) feature map 7e-7,
/// image features 1.9e-6, logits 1.4e-6; pixel values 6e-8. Full-size random RN50
/// (`make_openclip_fixtures.py --full DIR`, fp32 open_clip_pytorch_model.bin of 408 MB, not
/// committed; `GLIMPSE_FULL_OPENCLIP_RN50=DIR swift test --filter testFullSizeResNet`): image
/// features 8.9e-6, text features 3.6e-6, logits 1.1e-6 max abs error.
final class OpenCLIPTests: XCTestCase {
    /// The generator's deterministic pixels: element i = ((i·7919) mod 2001 − 1000) / 1000 · 1.5.
    static func syntheticPixels(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Float((Double(($0 * 7919) % 2001) - 1000) / 1000 * 1.5) })
    }

    func checkModel(_ model: CLIPModel, _ ref: [String: Any], pixels: Tensor, _ name: String) throws {
        let ids = try ref.idLists("ids")
        let image = try model.imageFeatures(pixels: pixels), text = try model.textFeatures(ids: ids)
        let dim = model.embeddingDim
        assertClose(image.scalars, try ref.floats("image_features"), abs: 1e-4, relative: 1e-4, row: dim, "\(name) image features")
        assertClose(text.scalars, try ref.floats("text_features"), abs: 1e-4, relative: 1e-4, row: dim, "\(name) text features")
        l2NormalizeInPlace(image); l2NormalizeInPlace(text)
        assertClose(model.logits(images: image, texts: text).scalars, try ref.floats("logits_per_image"), abs: 1e-4, "\(name) logits")
    }

    /// Files and strings through the whole pipeline: open_clip's tokenizer, its eval transform
    /// (shortest-edge bicubic resize, torchvision center crop and ToTensor) and a QuickGELU ViT
    /// loaded from an fp16 open_clip_pytorch_model.bin.
    func testViTFolderMatchesOpenCLIP() throws {
        let ref = try Fixtures.json("openclip/openclip-vit-tiny.json")
        let clip = try CLIP(folder: Fixtures.path("openclip-vit-tiny"))
        XCTAssertNotNil(clip.model.vision)
        XCTAssertEqual(clip.model.vision?.config.tower.activation, .quickGelu)
        XCTAssertEqual(clip.contextLength, 77)
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        XCTAssertEqual(try texts.map { try clip.tokenize($0) }, try ref.idLists("ids"))
        let files = try XCTUnwrap(ref["images"] as? [String]).map { Fixtures.path("images/\($0)") }
        let pixels = try clip.pixelValues(files.map { try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: $0)) })
        assertClose(pixels.scalars, try ref.floats("pixel_values"), abs: 0.02, "open_clip pixel values")
        try checkModel(clip.model, ref, pixels: Tensor(shape: try ref.ints("pixel_shape"), values: try ref.floats("pixel_values")), "open_clip ViT")
        let embedded = try clip.embed(texts: texts, normalize: false)
        assertClose(embedded.scalars, try ref.floats("text_features"), abs: 1e-4, "open_clip ViT text from strings")
    }

    /// Modified ResNet: folded batch norm, anti-aliased downsampling, attention pooling; GELU text
    /// tower; bf16 safetensors; squash + bilinear preprocessing.
    func testResNetFolderMatchesOpenCLIP() throws {
        let ref = try Fixtures.json("openclip/openclip-rn-tiny.json")
        let clip = try CLIP(folder: Fixtures.path("openclip-rn-tiny"))
        let resnet = try XCTUnwrap(clip.model.image as? ModifiedResNet)
        XCTAssertNil(clip.model.vision)
        XCTAssertEqual(clip.model.text.config.tower.activation, .gelu)
        let pixels = Self.syntheticPixels(try ref.ints("pixel_shape"))
        assertClose(try resnet.featureMap(pixels).scalars, try ref.floats("feature_map"), abs: 1e-4, "ResNet feature map")
        try checkModel(clip.model, ref, pixels: pixels, "open_clip ResNet")

        let file = Fixtures.path("images/horse.png")
        let filePixels = try clip.pixelValues([ImageDecoder.decode(contentsOf: URL(fileURLWithPath: file))])
        assertClose(filePixels.scalars, try ref.floats("file_pixel_values"), abs: 1e-5, "squash bilinear pixel values (PNG)")
        assertClose(try clip.embed(imageFiles: [file], normalize: false).scalars, try ref.floats("file_image_features"),
                    abs: 1e-4, "ResNet features from a file")
        XCTAssertThrowsError(try clip.tokenize("no tokenizer here")) { XCTAssertTrue("\($0)".contains("openclip-rn-tiny")) }
    }

    func testConfigMapping() throws {
        let reader = ConfigReader(values: ["model_cfg": ["embed_dim": 1024, "vision_cfg": ["image_size": 288, "layers": [4, 6, 10, 6], "width": 80],
                                                         "text_cfg": ["width": 640, "heads": 10, "layers": 12]],
                                           "preprocess_cfg": ["mean": 0.5, "std": [0.1, 0.2, 0.3], "interpolation": "bilinear"]], context: "t")
        let config = try OpenCLIPConfig(reader: reader)
        XCTAssertEqual(config.vision, .resnet(ModifiedResNetConfig(layers: [4, 6, 10, 6], width: 80, heads: 40, imageSize: 288, outputDim: 1024)))
        XCTAssertEqual(config.text.tower.intermediateSize, 2560)
        XCTAssertEqual(config.text.tower.activation, .gelu)
        XCTAssertTrue(config.text.poolsAtArgmax)
        XCTAssertEqual(config.preprocess.imageMean, [0.5, 0.5, 0.5])
        XCTAssertEqual(config.preprocess.size, .shortestEdge(288, longestEdge: nil))
        XCTAssertEqual(config.preprocess.resample, .bilinear)
        XCTAssertEqual(config.preprocess.arithmetic, .torchvision)
        // ViT-B/32 quickgelu, the top level being model_cfg itself (open_clip's own config files).
        let vit = try OpenCLIPConfig(reader: ConfigReader(values: ["embed_dim": 512, "quick_gelu": true,
            "vision_cfg": ["image_size": 224, "layers": 12, "width": 768, "patch_size": 32], "text_cfg": [String: Any]()], context: "t"))
        guard case .transformer(let v) = vit.vision else { return XCTFail("expected a ViT") }
        XCTAssertEqual([v.tower.heads, v.tower.intermediateSize, v.positions], [12, 3072, 50])
        XCTAssertEqual(v.tower.activation, .quickGelu)
    }

    func testUnsupportedOptionsAreNamed() {
        let base: [String: Any] = ["embed_dim": 8, "text_cfg": [String: Any]()]
        let cases: [([String: Any], String)] = [
            (["vision_cfg": ["timm_model_name": "vit_base"]], "timm_model_name"),
            (["vision_cfg": ["ls_init_value": 0.1]], "ls_init_value"),
            (["vision_cfg": ["attentional_pool": true]], "attentional_pool"),
            (["vision_cfg": ["pool_type": "avg"]], "pool_type"),
            (["vision_cfg": [String: Any](), "text_cfg": ["hf_model_name": "roberta-base"]], "hf_model_name"),
            (["vision_cfg": [String: Any](), "text_cfg": ["pool_type": "last"]], "pool_type"),
            (["vision_cfg": ["image_size": [224, 256]]], "square"),
            (["vision_cfg": ["layers": [3, 4, 6]]], "four"),
            (["vision_cfg": ["width": 100]], "head_width"),
        ]
        for (values, fragment) in cases {
            let merged = base.merging(values) { $1 }
            XCTAssertThrowsError(try OpenCLIPConfig(reader: ConfigReader(values: merged, context: "open_clip_config.json"))) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0) should mention \(fragment)")
            }
        }
        let longest: [String: Any] = ["model_cfg": base.merging(["vision_cfg": [String: Any]()]) { $1 }, "preprocess_cfg": ["resize_mode": "longest"]]
        XCTAssertThrowsError(try OpenCLIPConfig(reader: ConfigReader(values: longest, context: "t"))) { XCTAssertTrue("\($0)".contains("longest")) }
    }

    func testFullSizeResNetWhenAvailable() throws {
        guard let folder = ProcessInfo.processInfo.environment["GLIMPSE_FULL_OPENCLIP_RN50"] else {
            throw XCTSkip("set GLIMPSE_FULL_OPENCLIP_RN50 to a folder made by make_openclip_fixtures.py --full")
        }
        let ref = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/reference.json"))) as? [String: Any])
        let clip = try CLIP(folder: folder)
        XCTAssertEqual(try XCTUnwrap(ref["texts"] as? [String]).map { try clip.tokenize($0) }, try ref.idLists("ids"))
        try checkModel(clip.model, ref, pixels: Tensor(shape: try ref.ints("pixel_shape"), values: try ref.floats("pixel_values")), "full RN50")
    }
}
