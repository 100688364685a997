/// Finding a NaN or infinity in a block of floats fast enough to check every weight at load:
/// a float is non-finite exactly when its exponent bits are all ones, so the largest
/// magnitude bit pattern of a block (a max reduction the compiler vectorises) tells whether
/// the block holds one, and only such a block is searched element by element.
enum NonFinite {
    /// Elements per block; blocks are checked in parallel for large tensors.
    static let block = 1 << 16

    /// The index of the first NaN or ±infinity among `count` floats at `data`, or nil.
    static func firstIndex(_ data: UnsafePointer<Float>, count: Int) -> Int? {
        guard count > 0 else { return nil }
        let blocks = (count + block - 1) / block
        let bits = UnsafeRawPointer(data).assumingMemoryBound(to: UInt32.self)
        // One flag per block, written by whichever worker scans it.
        let flags = UnsafeMutablePointer<Bool>.allocate(capacity: blocks)
        defer { flags.deallocate() }
        flags.initialize(repeating: false, count: blocks)
        Parallel.forEach(blocks, grain: 16) { range in
            for b in range {
                let start = b * block
                flags[b] = !blockIsFinite(bits + start, count: min(block, count - start))
            }
        }
        for b in 0..<blocks where flags[b] {
            let start = b * block
            for i in start ..< min(start + block, count) where !data[i].isFinite { return i }
        }
        return nil
    }

    private static func blockIsFinite(_ bits: UnsafePointer<UInt32>, count: Int) -> Bool {
        var largest: UInt32 = 0
        for i in 0..<count { largest = max(largest, bits[i] & 0x7FFF_FFFF) }
        return largest < 0x7F80_0000
    }
}
