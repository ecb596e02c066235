// libFuzzer harness: the actions file parser (BoraAction/ActionsFile.swift): parse, check against
// a context (Models/contexts/smart_lights.yaml, as `bora actions check` does), and look up entries.
import BoraAction
import BoraIntent

let contextPath: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)   // tools/fuzz/harness/actions.swift
    return parts.joined(separator: "/") + "/Models/contexts/smart_lights.yaml"
}()
let context: Context? = try? Context.load(path: contextPath)

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInit(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    if context == nil { print("actions harness: cannot load \(contextPath); fuzzing the parser alone") }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let file = try? ActionsFile.parse(yaml: yaml, file: "fuzz.yaml") else { return 0 }
    var sink = file.entries.count
    if let context {
        sink &+= file.problems(against: context).count
        _ = try? file.validate(against: context)
    }
    for entry in file.entries.prefix(8) {
        if let hit = file.firstMatch(intent: entry.intent, slots: entry.when) { sink &+= hit.intent.utf8.count }
    }
    _ = file.firstMatch(intent: "changeColor", slots: ["color": "blue", "location": "kitchen"])
    blackHole(sink)
    return 0
}

@inline(never) func blackHole(_ x: Int) { if x == 0x5eed_f00d { print("") } }
