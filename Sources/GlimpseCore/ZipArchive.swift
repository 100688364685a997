/// The entries of a zip archive, read from its central directory, with pointers straight into
/// the memory map.
///
/// Why not a zip library: `torch.save` writes every record *stored* (uncompressed) and pads
/// local headers so tensor data starts 64-byte aligned, precisely so that loaders can map the
/// file and use the bytes in place. Libraries such as ZIPFoundation read entries through
/// file handles into `Data` copies, which would double the memory of a checkpoint and lose
/// the alignment; what torch needs from the format — the end-of-central-directory record,
/// its ZIP64 variant for archives over 4 GiB, central-directory entries and local-header
/// lengths (APPNOTE.TXT §4.3) — is a hundred lines, with every offset checked against the
/// file size. Compressed entries are reported, not inflated.
public struct ZipArchive: Sendable {
    public struct Entry: Sendable {
        public let name: String
        /// 0 = stored; anything else is compressed.
        public let method: Int
        public let size: Int
        /// Offset of the entry's bytes in the file (after its local header).
        public let dataOffset: Int
    }

    public let file: MappedFile
    public let entries: [String: Entry]

    public static func isZip(_ file: MappedFile) -> Bool {
        file.size >= 4 && file.base.loadUnaligned(as: UInt32.self) == 0x0403_4B50
    }

    public init(_ file: MappedFile) throws {
        self.file = file
        let size = file.size
        let base = file.base
        func corrupt(_ reason: String) -> GlimpseError {
            .invalidFile(path: file.path, reason: "not a valid zip archive: \(reason)")
        }
        func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        func u64(_ at: Int) throws -> Int {
            let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            guard v <= UInt64(Int.max) else { throw corrupt("64-bit field out of range at byte \(at)") }
            return Int(v)
        }

        // End of central directory: 22 bytes plus a comment of up to 65,535 bytes, at the end.
        guard size >= 22 else { throw corrupt("only \(size) bytes (truncated?)") }
        var eocd = -1
        var at = size - 22
        while at >= max(0, size - 22 - 65_535) {
            if u32(at) == 0x0605_4B50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw corrupt("no end-of-central-directory record (truncated?)") }
        var count = u16(eocd + 10)
        var directorySize = u32(eocd + 12)
        var directoryOffset = u32(eocd + 16)
        // ZIP64: a locator 20 bytes before the EOCD points at the 64-bit record.
        if eocd >= 20, u32(eocd - 20) == 0x0706_4B50 {
            let record = try u64(eocd - 20 + 8)
            guard record >= 0, record <= size - 56, u32(record) == 0x0606_4B50 else {
                throw corrupt("ZIP64 end-of-central-directory record out of place")
            }
            count = try u64(record + 32)
            directorySize = try u64(record + 40)
            directoryOffset = try u64(record + 48)
        }
        guard directoryOffset <= size, directorySize <= size - directoryOffset else {
            throw corrupt("central directory at \(directoryOffset)+\(directorySize) lies outside the \(size)-byte file (truncated?)")
        }

        // Each entry takes at least 46 bytes, so a count the directory cannot hold is a lie.
        guard count >= 0, count <= directorySize / 46 else {
            throw corrupt("central directory of \(directorySize) bytes cannot hold the \(count) entries it claims")
        }
        var entries: [String: Entry] = [:]
        var cursor = directoryOffset
        let end = directoryOffset + directorySize
        for _ in 0..<count {
            guard cursor + 46 <= end, u32(cursor) == 0x0201_4B50 else { throw corrupt("central directory entry at \(cursor) is damaged") }
            let method = u16(cursor + 10)
            var compressed = u32(cursor + 20), uncompressed = u32(cursor + 24)
            let nameLength = u16(cursor + 28), extraLength = u16(cursor + 30), commentLength = u16(cursor + 32)
            var localOffset = u32(cursor + 42)
            guard cursor + 46 + nameLength + extraLength + commentLength <= end else { throw corrupt("central directory entry at \(cursor) overruns the directory") }
            let name = String(decoding: UnsafeRawBufferPointer(start: base + cursor + 46, count: nameLength), as: UTF8.self)
            // ZIP64 extra field (id 1): 64-bit values for exactly the fields saturated at 0xFFFFFFFF.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(extra), length = u16(extra + 2)
                guard extra + 4 + length <= extraEnd else { break }
                if id == 1 {
                    var field = extra + 4
                    func next() throws -> Int {
                        guard field + 8 <= extra + 4 + length else { throw corrupt("short ZIP64 field for '\(name)'") }
                        defer { field += 8 }
                        return try u64(field)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                extra += 4 + length
            }
            guard localOffset <= size - 30, u32(localOffset) == 0x0403_4B50 else {
                throw corrupt("local header of '\(name)' at \(localOffset) is missing (truncated?)")
            }
            let dataOffset = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
            let stored = method == 0 ? uncompressed : compressed
            guard dataOffset <= size, stored <= size - dataOffset else {
                throw corrupt("entry '\(name)' runs past the end of the \(size)-byte file (truncated?)")
            }
            entries[name] = Entry(name: name, method: method, size: method == 0 ? uncompressed : compressed, dataOffset: dataOffset)
            cursor += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    /// The bytes of a stored entry, in place.
    package func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let entry = entries[name] else {
            throw GlimpseError.invalidFile(path: file.path, reason: "archive has no record '\(name)'")
        }
        guard entry.method == 0 else {
            throw GlimpseError.unsupported("\(file.path): record '\(name)' is compressed (method \(entry.method)); torch.save writes records uncompressed — re-save the checkpoint with torch.save")
        }
        return UnsafeRawBufferPointer(start: file.base + entry.dataOffset, count: entry.size)
    }
}
