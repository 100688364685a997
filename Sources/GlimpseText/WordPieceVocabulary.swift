/// WordPiece's vocabulary as a byte trie, so greedy longest-match-first is one walk per piece
/// instead of a hash lookup per candidate end. Tokens compare byte for byte (never by Swift's
/// canonical-equivalence `String` equality).
struct WordPieceVocabulary: Sendable {
    /// Child node of (node << 8 | byte).
    private var children: [UInt64: Int32] = [:]
    /// Token id ending at each node, or -1.
    private var terminal: [Int32] = [-1]
    /// Token text by id (nil for ids no token maps to).
    private(set) var tokens: [String?] = []

    var count: Int { tokens.count }

    /// `entries` in order; a repeated token keeps its later id, as a dictionary insert would.
    init(_ entries: [(token: String, id: Int)]) {
        let size = (entries.map(\.id).max() ?? -1) + 1
        tokens = Array(repeating: nil, count: size)
        for (token, id) in entries {
            if let old = lookup(Array(token.utf8)), old != id { tokens[old] = nil }
            insert(Array(token.utf8), id: id)
            tokens[id] = token
        }
    }

    private mutating func insert(_ bytes: [UInt8], id: Int) {
        var node: Int32 = 0
        for byte in bytes {
            let key = UInt64(node) << 8 | UInt64(byte)
            if let next = children[key] {
                node = next
            } else {
                let next = Int32(terminal.count)
                terminal.append(-1)
                children[key] = next
                node = next
            }
        }
        terminal[Int(node)] = Int32(id)
    }

    func lookup<C: Collection>(_ bytes: C) -> Int? where C.Element == UInt8 {
        guard let node = walk(from: 0, bytes) else { return nil }
        let id = terminal[Int(node)]
        return id >= 0 ? Int(id) : nil
    }

    /// The node reached from `node` along `bytes`, if the trie has that path.
    func walk<C: Collection>(from node: Int32, _ bytes: C) -> Int32? where C.Element == UInt8 {
        var node = node
        for byte in bytes {
            guard let next = children[UInt64(node) << 8 | UInt64(byte)] else { return nil }
            node = next
        }
        return node
    }

    /// The longest token starting at `bytes[start]`, walking from `root`: (end, id).
    func longestMatch(_ bytes: [UInt8], from start: Int, root: Int32) -> (end: Int, id: Int)? {
        var node = root
        var best: (end: Int, id: Int)?
        var index = start
        while index < bytes.count, let next = children[UInt64(node) << 8 | UInt64(bytes[index])] {
            node = next
            index += 1
            let id = terminal[Int(node)]
            if id >= 0 { best = (index, Int(id)) }
        }
        return best
    }
}

/// The WordPiece model: each pre-tokenized word becomes its greedy longest-match-first pieces,
/// continuation pieces carrying the prefix ("##"); a word with an unmatched remainder, or longer
/// than `maxInputCharactersPerWord` scalars, becomes the single unknown token.
struct WordPieceModel: Sendable {
    let vocabulary: WordPieceVocabulary
    let unknownID: Int
    let maxInputCharactersPerWord: Int
    /// Trie node after the continuing-subword prefix (nil if no token starts with it).
    private let continuationRoot: Int32?

    init(vocabulary: WordPieceVocabulary, unknownID: Int, continuingPrefix: String = "##", maxInputCharactersPerWord: Int = 100) {
        self.vocabulary = vocabulary
        self.unknownID = unknownID
        self.maxInputCharactersPerWord = maxInputCharactersPerWord
        continuationRoot = vocabulary.walk(from: 0, Array(continuingPrefix.utf8))
    }

    func encode(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int], bytes: inout [UInt8]) {
        if word.count > maxInputCharactersPerWord { ids.append(unknownID); return }
        bytes.removeAll(keepingCapacity: true)
        for scalar in word { UTF8.encode(scalar) { bytes.append($0) } }
        let mark = ids.count
        var start = 0
        while start < bytes.count {
            let root = start == 0 ? 0 : continuationRoot
            guard let root, let match = vocabulary.longestMatch(bytes, from: start, root: root) else {
                ids.removeLast(ids.count - mark)
                ids.append(unknownID)
                return
            }
            ids.append(match.id)
            start = match.end
        }
    }
}
