/// The bounds Glimpse puts on everything a file, a server or a caller controls, so that no
/// input can make it allocate without limit, recurse without limit or run forever. Each is
/// far above what any real checkpoint, image or request needs; the README lists them.
public enum Limits {
    // Files, checked by size before they are read.
    /// A JSON configuration (`config.json`, `preprocessor_config.json`, a safetensors index, …).
    public static let configFileBytes = 16 << 20
    /// A tokenizer file (`vocab.json`, `merges.txt`, `tokenizer.json`, `vocab.txt`), also the
    /// decompressed size of a gzipped merges file.
    public static let tokenizerFileBytes = 256 << 20
    /// A labels or text-list file.
    public static let textFileBytes = 64 << 20
    /// A ground-truth or detections file read by `eval-detection` (COCO's val2017
    /// annotations are 25 MB; its train2017 ones 450 MB).
    public static let annotationFileBytes = 512 << 20
    /// One line of a JSON Lines dataset manifest, or one row of a CSV / TSV one (a path, a
    /// caption and some metadata: a few kilobytes in LAION-style manifests).
    public static let manifestLineBytes = 1 << 20
    /// Nesting of folders walked for a dataset folder (a symbolic-link loop would never end).
    public static let folderDepth = 64
    /// An image file (checked before it is read; the decoded size has its own bound).
    public static let imageFileBytes = 256 << 20
    /// Decoded pixels of one image: PIL refuses twice `Image.MAX_IMAGE_PIXELS` as a
    /// decompression bomb, and so does Glimpse.
    public static let imagePixels = 2 * 89_478_485
    /// Either side of a decoded image (JPEG's own maximum). PNG allows 2^31, and resampling a
    /// one-pixel-wide strip of that height would need gigabytes of filter weights.
    public static let imageSide = 65_535
    /// Scans of one progressive JPEG. Encoders write about 10 (mozjpeg's searched scripts up
    /// to ~20); each scan walks every block of the image, so a small hostile file that repeats
    /// tiny scans over 170 million pixels costs about 20 ms per scan. libjpeg-turbo's own
    /// hardening flag allows 500, which would be 10 s of work for one file.
    public static let jpegScans = 100
    /// A side of the image a preprocessor produces (`size`, `shortest_edge`, `crop_size` in
    /// `preprocessor_config.json`): real models take 224 to about 1,000.
    public static let preprocessedSide = 8192
    /// A safetensors JSON header (the Rust `safetensors` crate's own limit).
    public static let safetensorsHeaderBytes = 100_000_000
    /// A file downloaded from the Hub that is neither a JSON config nor a tokenizer file
    /// (weights, mostly): the largest single-file checkpoints published are well below it.
    /// A declared size above it is refused before downloading; an undeclared one stops here.
    public static let hubFileBytes: Int64 = 64 << 30
    /// Nesting of containers in a PyTorch pickle (real state dicts nest a handful deep).
    public static let pickleDepth = 256
    /// Elements of one tensor whose shape comes from a file (2^34 fp32 values = 64 GiB, past
    /// any single weight or activation of a real model); larger shapes are refused, not allocated.
    public static let tensorElements = 1 << 34

    /// Files one photo library may catalogue (rows of its embeddings file): far above any
    /// personal collection; a catalogue claiming more is refused before anything is mapped.
    public static let libraryFiles = 1 << 28

    // Model configurations.
    /// Any width, length or count in a model config (hidden size, layers, vocabulary, image
    /// size): the largest real models are two orders of magnitude below.
    public static let configDimension = 1 << 20

    // Requests.
    /// Inputs in one forward pass (`--batch-size`, `bench --batch`).
    public static let batchSize = 4096
    /// Beams in beam search; also captions per image on the command line and
    /// `num_return_sequences` in a `generation_config.json`.
    public static let beams = 64
    /// Sampled sequences per input asked of the library (`GenerationOptions.numReturnSequences`
    /// with sampling): each is decoded side by side with its own cache.
    public static let sampledSequences = 1 << 15
    /// Tokens a generation may add.
    public static let newTokens = 4096
    /// Text or image queries in one detection.
    public static let queries = 4096
    /// Parts a dataset may be split into (`--shard i/N`).
    public static let datasetShards = 1 << 20
    /// Records in one committed chunk of a bulk job's output (`--chunk-size`).
    public static let bulkChunkRecords = 1 << 24
    /// A bulk output folder's progress journal (one short line per committed chunk).
    public static let bulkJournalBytes = 256 << 20
    /// The header of an `.npy` file read back (NumPy's own reader refuses more than 10,000
    /// bytes by default; the dict of a 2-D float array is about 120).
    public static let npyHeaderBytes = 10_000
    /// Worker threads (`--threads`, `GLIMPSE_NUM_THREADS`): the kernel pool's own maximum.
    public static let threads = 256
    /// Results one library search returns (`--top`).
    public static let searchResults = 1 << 20
    /// Distinct words of one keyword query over captions (more are ignored).
    public static let keywordQueryWords = 64
    /// Characters (Unicode scalars) of one keyword query word; a longer run is cut.
    public static let keywordWordScalars = 256
    /// Timed repetitions of one benchmark measurement (`--repeats`).
    public static let repeats = 100_000
    /// Samples one synthetic training set writes.
    public static let syntheticSamples = 10_000_000
    /// Image–text records one training run indexes (each held as a path and caption, or an
    /// archive member's bytes, so the run can reshuffle them every epoch).
    public static let trainingRecords = 10_000_000
}
