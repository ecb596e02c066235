// libFuzzer harness: BoraCore's YAML-subset reader (the parser behind every context and actions
// file) on arbitrary bytes, without the context or actions checks on top, so inputs that are not
// contexts still reach every corner of the parser. A parsed document is walked whole (scalars,
// marks, `bool`/`isNull`), and parsing is checked to be deterministic: the same text twice gives
// the same tree or the same error.
import BoraCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let first: Result<YAMLNode?, YAMLError> = Result { () throws(YAMLError) in try YAML.parse(text) }
    let second: Result<YAMLNode?, YAMLError> = Result { () throws(YAMLError) in try YAML.parse(text) }
    switch (first, second) {
    case let (.success(a), .success(b)):
        precondition(a == b, "YAML.parse is not deterministic")
        if let a { blackHole(walk(a)) }
    case let (.failure(a), .failure(b)):
        precondition(a == b, "YAML.parse is not deterministic")
        precondition(a.line >= 1 && a.column >= 1, "YAMLError without a 1-based place: \(a)")
        blackHole(a.description.utf8.count)
    default:
        preconditionFailure("YAML.parse accepted and refused the same text")
    }
    return 0
}

/// Visits every node iteratively (the tree can be `YAML.maximumDepth` deep).
func walk(_ root: YAMLNode) -> Int {
    var stack = [root], sink = 0
    while let node = stack.popLast() {
        precondition(node.line >= 1 && node.column >= 1, "a node without a 1-based place")
        switch node.content {
        case let .scalar(text, _): sink &+= text.utf8.count &+ (node.bool == true ? 1 : 0) &+ (node.isNull ? 2 : 0)
        case let .sequence(items): stack += items
        case let .mapping(pairs): for p in pairs { stack.append(p.key); stack.append(p.value) }
        }
    }
    return sink
}

@inline(never) func blackHole(_ x: Int) { if x == 0x5eed_f00d { print("") } }
