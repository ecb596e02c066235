// libFuzzer harness: BoraCore's JSON reader and writer (audit records, the model catalog and
// manifests, bench output) on arbitrary bytes. What is checked beyond "no crash": a parsed value
// written out parses again, and writing is a fixed point after one round (write(parse(write(v)))
// == write(v); the first round may normalize, e.g. `1.0` → `1`, `-0` → `0`).
import BoraCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let value: JSONValue
    do { value = try JSONValue.parse(bytes) } catch {
        precondition(error.offset >= 0 && error.offset <= size, "JSONError offset \(error.offset) outside the input (\(size) bytes)")
        blackHole(error.description.utf8.count)
        return 0
    }
    let once = value.serializedBytes()
    let reparsed: JSONValue
    do { reparsed = try JSONValue.parse(once) } catch {
        preconditionFailure("JSONValue wrote what it cannot read back: \(error)")
    }
    let twice = reparsed.serializedBytes()
    let again: JSONValue
    do { again = try JSONValue.parse(twice) } catch { preconditionFailure("second round unreadable: \(error)") }
    precondition(again.serializedBytes() == twice, "JSON writing is not a fixed point after one round")
    blackHole(twice.count)
    return 0
}

@inline(never) func blackHole(_ x: Int) { if x == 0x5eed_f00d { print("") } }
