#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Checkpoint tensors point straight into it, so a
/// model loads in the time it takes to parse headers and the kernel pages weights in on use.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    package let base: UnsafeRawPointer
    public let size: Int

    public init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below refuses it.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT { throw GlimpseError.fileNotFound(path: path, what: "file") }
            throw GlimpseError.invalidFile(path: path, reason: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot stat")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GlimpseError.invalidFile(path: path, reason: (info.st_mode & S_IFMT) == S_IFDIR
                ? "is a directory, not a checkpoint file" : "is not a regular file (a FIFO, device or socket), so it cannot be a checkpoint")
        }
        size = Int(info.st_size)
        if size == 0 {
            // mmap refuses zero lengths; an empty file still deserves a parse error, not a crash.
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        // MAP_PRIVATE + PROT_READ: pages are shared with the page cache and never written.
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw GlimpseError.invalidFile(path: path, reason: "cannot map into memory")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if size > 0 { munmap(UnsafeMutableRawPointer(mutating: base), size) }
        else { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }

    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
