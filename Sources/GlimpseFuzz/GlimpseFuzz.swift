import Foundation
import GlimpseFuzzTargets

/// `glimpse-fuzz`: Glimpse's fuzz targets in one executable, the target chosen by the
/// `GLIMPSE_FUZZ_TARGET` environment variable (safetensors, torch, image, config, tokenizer).
///
/// Built with `-sanitize=fuzzer` and `-DGLIMPSE_FUZZ` (see `Tools/fuzz/run.sh`), it is a libFuzzer
/// binary taking libFuzzer's options and corpus folders. In an ordinary build it replays: every
/// file named, or found under a folder named, runs once through the target and its outcome is
/// printed, so a crasher can be reproduced and debugged without the fuzzing toolchain.
@main
enum GlimpseFuzz {
    static func main() {
        guard let name = ProcessInfo.processInfo.environment["GLIMPSE_FUZZ_TARGET"],
              let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("usage: GLIMPSE_FUZZ_TARGET=<\(names)> glimpse-fuzz FILE-OR-FOLDER...\n".utf8))
            exit(2)
        }
        selected = target
        defer { FuzzTarget.removeScratchFiles() }
        #if GLIMPSE_FUZZ
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { LLVMFuzzerTestOneInput($0, $1) })
        #else
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            let url = URL(fileURLWithPath: argument)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            for file in isDirectory.boolValue ? FuzzCorpus.files(under: url) : [url] {
                guard let data = FileManager.default.contents(atPath: file.path) else {
                    print("\(file.path): cannot be read")
                    continue
                }
                switch target.run([UInt8](data)) {
                case .accepted: print("\(file.path): accepted")
                case .refused(let error): print("\(file.path): refused: \(error)")
                }
                count += 1
            }
        }
        print("\(count) inputs replayed through \(target.rawValue)")
        #endif
    }
}

/// The target of this process (set once, before any input runs).
nonisolated(unsafe) var selected: FuzzTarget?

#if GLIMPSE_FUZZ
/// libFuzzer's entry point. libFuzzer's own `main` may be the one linked (it calls this
/// directly), so the target is read from the environment here too.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if selected == nil {
        guard let target = ProcessInfo.processInfo.environment["GLIMPSE_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:)) else {
            fatalError("set GLIMPSE_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        selected = target
    }
    let input = size == 0 || data == nil ? [] : [UInt8](UnsafeBufferPointer(start: data, count: size))
    _ = selected?.run(input)
    return 0
}

/// libFuzzer's driver, for when this program's `main` is the one linked.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif
