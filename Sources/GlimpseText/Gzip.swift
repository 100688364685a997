import CZlib
import Foundation
import GlimpseBase

/// Decompresses gzip (or zlib) data with the system zlib, so the original OpenAI vocabulary
/// file can be read as shipped, without unpacking it first.
enum Gzip {
    /// The inflated bytes, at most `limit` of them: inflating stops as soon as the output would
    /// pass it, so a small file that claims gigabytes (a gzip bomb) is refused without allocating them.
    static func decompress(_ data: Data, path: String, limit: Int = Limits.tokenizerFileBytes) throws -> Data {
        guard !data.isEmpty else { throw GlimpseError.invalidFile(path: path, reason: "empty file, expected gzip data") }
        guard data.count <= Int(UInt32.max) else {
            throw GlimpseError.invalidFile(path: path, reason: "is \(data.count) bytes, more than zlib reads in one piece")
        }
        var stream = z_stream()
        // 15 + 32: largest window, and detect the gzip or zlib header automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GlimpseError.invalidFile(path: path, reason: "zlib could not be initialised")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let overLimit: Int32 = 1000  // not a zlib code
        let chunkSize = 1 << 18
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var input = [UInt8](data)
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            while true {
                let code: Int32 = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunkSize - Int(stream.avail_out)
                if produced > limit - output.count { return overLimit }
                output.append(contentsOf: chunk[0..<produced])
                if code == Z_STREAM_END { return code }
                if code != Z_OK { return code }
                // Input exhausted without the end marker: the file is cut short.
                if stream.avail_in == 0 && produced == 0 { return Z_BUF_ERROR }
            }
        }
        guard status == Z_STREAM_END else {
            let reason = status == overLimit ? "inflates to more than the \(limit) bytes a tokenizer file may have (a gzip bomb?)"
                : status == Z_BUF_ERROR ? "truncated gzip data" : "not valid gzip data (zlib error \(status))"
            throw GlimpseError.invalidFile(path: path, reason: reason)
        }
        return output
    }
}
