import ArgumentParser
import Foundation
import Glimpse
import GlimpseSearch

/// `index --captions BLIP_MODEL`: opens the captioning model and hands it to the indexer,
/// which records it (or refuses a library captioned with another one). Without the option, a
/// captioned library gets a warning that new photos stay uncaptioned.
func captionIndexing(_ indexer: LibraryIndexer, spec: String?, quiet: Bool) throws {
    guard let spec else {
        if !quiet, let recorded = try indexer.library.catalogue.captionModel() {
            FileHandle.standardError.write(Data(
                "glimpse: warning: the library is captioned (with \(recorded.locator)); new photos get no caption without --captions \(recorded.locator)\n".utf8))
        }
        return
    }
    guard !spec.isEmpty else { throw GlimpseError.invalidArgument("--captions is empty: give a BLIP captioning model folder or Hub id") }
    let captioner = try BLIPCaptioner(model: spec, progress: downloadProgress(quiet: quiet))
    try indexer.caption(with: LibraryCaptioner(captioner: captioner, model: CaptionModel(spec: spec, captioner: captioner)))
}

extension SearchMode: ExpressibleByArgument {}

/// Keyword search matches only words: it takes a text, and no image or negative text.
func checkSearchMode(_ mode: SearchMode, text: String?, image: String?, negatives: [String]) throws {
    guard mode != .semantic else { return }
    guard text != nil else {
        throw ValidationError("--mode \(mode.rawValue) matches words of the photos' captions: give a text to search for")
    }
    if mode == .keyword, image != nil || !negatives.isEmpty {
        throw ValidationError("--mode keyword matches only the text's words; --image and --negative apply to --mode semantic and hybrid")
    }
}
