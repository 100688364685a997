/// OpenAI CLIP's text normalisation before splitting:
/// `whitespace_clean(basic_clean(text)).lower()`, where `basic_clean` is
/// `html.unescape(html.unescape(ftfy.fix_text(text))).strip()` and `whitespace_clean`
/// collapses runs of `\s` (the `regex` module's) to one space and strips again.
enum CLIPTextCleaner {
    static func clean(_ text: String) -> [Unicode.Scalar] {
        let scalars = Array(text.unicodeScalars)
        var cleaned: [Unicode.Scalar]
        if scalars.allSatisfy(TextFixer.isInert) {
            cleaned = scalars  // nothing for ftfy or html.unescape to do
        } else {
            cleaned = HTMLUnescape.python(HTMLUnescape.python(TextFixer.fixText(scalars)))
        }
        cleaned = Array(PythonText.strip(cleaned))
        var collapsed: [Unicode.Scalar] = []
        collapsed.reserveCapacity(cleaned.count)
        var inSpace = false
        for scalar in cleaned {
            if isRegexSpace(scalar) {
                if !inSpace { collapsed.append(" ") }
                inSpace = true
            } else {
                collapsed.append(scalar)
                inSpace = false
            }
        }
        return PythonText.lower(Array(PythonText.strip(collapsed)))
    }

    @inline(__always) private static func isRegexSpace(_ scalar: Unicode.Scalar) -> Bool {
        CLIPCharacterClass.of(scalar) == .space
    }
}
