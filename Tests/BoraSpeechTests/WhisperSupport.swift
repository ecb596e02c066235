import BoraCore
import BoraGGUF
import Foundation
@testable import BoraSpeech

let whisperFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/whisper")

var boraCache: String {
    let env = ProcessInfo.processInfo.environment
    return env["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora"
}

/// The GGUF of catalog model `name` (the first .gguf in its cache directory), or nil with a
/// printed reason when it has not been fetched.
func whisperModelPath(_ name: String) -> String? {
    let env = ProcessInfo.processInfo.environment
    let dir = (env["BORA_MODELS"] ?? boraCache + "/models") + "/" + name
    if let files = try? FileManager.default.contentsOfDirectory(atPath: dir),
       let gguf = files.sorted().first(where: { $0.hasSuffix(".gguf") }) {
        return dir + "/" + gguf
    }
    print("skipped: \(dir)/*.gguf not fetched (run `tools/models fetch`)")
    return nil
}

/// Reads a 16 kHz mono s16 PCM WAV (the corpus format) into floats /32768; nil if absent.
func readCorpusWAV(_ path: String) -> [Float]? {
    guard let data = FileManager.default.contents(atPath: path) else {
        print("skipped: \(path) missing (run `tools/speech/fetch`)")
        return nil
    }
    let bytes = [UInt8](data)
    var i = 12
    while i + 8 <= bytes.count {
        let id = String(decoding: bytes[i..<i + 4], as: UTF8.self)
        let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
        if id == "data" {
            let n = min(size, bytes.count - i - 8) / 2
            return (0..<n).map { k in
                let lo = UInt16(bytes[i + 8 + 2 * k]), hi = UInt16(bytes[i + 9 + 2 * k])
                return Float(Int16(bitPattern: lo | hi << 8)) / 32768
            }
        }
        i += 8 + size + (size & 1)
    }
    return nil
}

func readFloats(_ url: URL) -> [Float] {
    let data = try! Data(contentsOf: url)
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

func readHalfs(_ url: URL) -> [Float] {
    let data = try! Data(contentsOf: url)
    return data.withUnsafeBytes { raw in raw.bindMemory(to: UInt16.self).map { FloatBits.f16ToF32($0) } }
}

func makeSession(_ path: String, threads: Int = 2, maxBeam: Int = 5) throws -> WhisperSession {
    let kernels = try KernelSet.fromEnvironment()
    let model = try WhisperModel(path: path, kernels: kernels)
    return WhisperSession(model: model, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: threads)), maxBeam: maxBeam)
}
