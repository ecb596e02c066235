// libFuzzer harness: the GGUF reader (BoraGGUF) and the tokenizer built from its metadata (BoraText).
// A malformed file must throw GGUFError / TokenizerError, never crash or read outside the buffer
// (AddressSanitizer watches every access to the heap copy the reader parses).
import BoraCore
import BoraGGUF
import BoraText

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let file = try? GGUFFile(copying: bytes) else { return 0 }
    // Touch what the reader promised to be in bounds: every metadata value and each tensor's
    // first and last byte (the views point into the reader's copy).
    var sink: UInt64 = 0
    for key in file.metadataKeys {
        if let value = file.metadata[key] { sink &+= UInt64(truncatingIfNeeded: String(describing: value).utf8.count) }
    }
    for tensor in file.tensors {
        sink &+= UInt64(tensor.shape.count) &+ UInt64(truncatingIfNeeded: tensor.rowCount)
        if tensor.byteCount > 0 {
            sink &+= UInt64(tensor.data.load(as: UInt8.self))
            sink &+= UInt64(tensor.data.load(fromByteOffset: tensor.byteCount - 1, as: UInt8.self))
            if tensor.rowCount > 0 { sink &+= UInt64(tensor.row(tensor.rowCount - 1).load(as: UInt8.self)) }
        }
    }
    _ = file.architecture
    if let tokenizer = try? Tokenizer(gguf: file) {
        let ids = tokenizer.encode("Hello world, 12 o'clock!", addSpecial: true)
        sink &+= UInt64(tokenizer.decode(ids).utf8.count)
    }
    blackHole(sink)
    return 0
}

@inline(never) func blackHole(_ x: UInt64) { if x == 0x5eed_f00d_dead_beef { print("") } }
