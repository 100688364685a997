import Foundation
import GlimpseBase

/// The parsers Glimpse fuzzes, each fed one input (a byte string) at a time. The same entry
/// points serve libFuzzer (the `glimpse-fuzz` executable built with `-sanitize=fuzzer`) and the
/// replay of the committed seed corpora and crashers in the test suite, so a crash found by the
/// fuzzer becomes a regression test by saving the input under `Tests/Fixtures/fuzz/`.
///
/// An input may be accepted or refused with an error; anything else (a trap, a sanitizer
/// report, a hang, a memory blow-up) is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A safetensors file (8-byte header length, JSON header, data), or a sharded checkpoint's
    /// `model.safetensors.index.json` when the input starts with `{`; every tensor is then read.
    case safetensors
    /// A PyTorch zip checkpoint (`pytorch_model.bin`), or a bare pickle when the input starts
    /// with the PROTO opcode 0x80; every tensor is then read.
    case torch
    /// A JPEG or PNG file (with EXIF orientation), decoded and then preprocessed.
    case image
    /// A JSON file given as each model's `config.json`, as `preprocessor_config.json` and as
    /// `generation_config.json`.
    case config
    /// Tokenizer files (see `TokenizerTarget` for how one input becomes several files); the
    /// tokenizer is then used to encode and decode a few texts.
    case tokenizer

    /// Runs one input. Errors are the expected way to refuse an input and are returned.
    public func run(_ input: [UInt8]) -> FuzzOutcome {
        do {
            switch self {
            case .safetensors: try WeightTargets.safetensors(input)
            case .torch: try WeightTargets.torch(input)
            case .image: try ImageTarget.run(input)
            case .config: try ConfigTarget.run(input)
            case .tokenizer: try TokenizerTarget.run(input)
            }
            return .accepted
        } catch {
            return .refused(error)
        }
    }
}

/// What became of one fuzz input.
public enum FuzzOutcome {
    case accepted
    case refused(any Error)

    /// True for inputs accepted, or refused with a `GlimpseError` (the project's way of saying
    /// what is wrong with a file); false for a raw library error leaking through.
    public var isClean: Bool {
        switch self {
        case .accepted: return true
        case .refused(let error): return error is GlimpseError
        }
    }
}
