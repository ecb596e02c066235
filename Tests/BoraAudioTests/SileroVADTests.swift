// Silero VAD against onnxruntime: Tests/Fixtures/vad/silero_reference.json holds one probability
// per 512-sample frame of each recording, computed by tools/vad/reference.py (onnxruntime running
// the package's stock silero_vad.onnx, unchanged — the file the catalog converts for Bora).
import BoraCore
import BoraGGUF
import CBoraAllocCount
import Foundation
import Testing
@testable import BoraAudio

let vadFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/vad")

/// The converted model in the cache (`tools/models fetch silero-vad`), or nil with a note.
func sileroModelPath() -> String? {
    let env = ProcessInfo.processInfo.environment
    let root = env["BORA_MODELS"] ?? ((env["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora") + "/models")
    let path = "\(root)/silero-vad/silero-vad-v6-16k.f32.gguf"
    if FileManager.default.fileExists(atPath: path) { return path }
    print("skipped: \(path) not fetched (run `bora models fetch silero-vad`)")
    return nil
}

struct SileroReference: Decodable {
    struct Recording: Decodable { let file: String; let frames: Int; let probabilities: [Float] }
    let frame_samples: Int
    let recordings: [Recording]
    static func load() throws -> SileroReference {
        try JSONDecoder().decode(SileroReference.self, from: Data(contentsOf: vadFixtures.appendingPathComponent("silero_reference.json")))
    }
}

@Test func sileroMatchesOnnxruntimeOnEveryFrame() throws {
    guard let path = sileroModelPath() else { return }
    let vad = try SileroVAD(path: path, kernels: try KernelSet.named(nil))
    let reference = try SileroReference.load()
    #expect(reference.recordings.count >= 3)
    // The reference is the stock silero_vad.onnx; a cache converted from another checkpoint is stale.
    let source = vad.file.metadata["general.source.file"]?.string ?? "?"
    #expect(source.hasPrefix("silero_vad.onnx"), "\(path) was converted from \(source); run `tools/models fetch silero-vad`")
    for rec in reference.recordings {
        let clip = try AudioDecoder.load(path: vadFixtures.appendingPathComponent(rec.file).path, rawSampleRate: nil)
        #expect(clip.samples.count / 512 == rec.frames)
        vad.reset()
        var worst: Float = 0, worstFrame = -1
        try clip.samples.withUnsafeBufferPointer { all in
            for k in 0..<rec.frames {
                let p = try vad.probability(frame: UnsafeBufferPointer(rebasing: all[k * 512..<(k + 1) * 512]))
                let d = abs(p - rec.probabilities[k])
                if d > worst { worst = d; worstFrame = k }
            }
        }
        print("\(rec.file): \(rec.frames) frames, max |bora - onnxruntime| = \(worst) at frame \(worstFrame)")
        #expect(worst <= 1e-3, "\(rec.file) frame \(worstFrame)")
        // The recordings exercise both classes (otherwise the comparison proves little).
        #expect(rec.probabilities.contains { $0 > 0.9 } && rec.probabilities.contains { $0 < 0.1 })
    }
}

@Test func sileroResetRestartsTheStream() throws {
    guard let path = sileroModelPath() else { return }
    let vad = try SileroVAD(path: path, kernels: try KernelSet.named(nil))
    let clip = try AudioDecoder.load(path: vadFixtures.appendingPathComponent("speech_silence.wav").path, rawSampleRate: nil)
    let frames = (0..<40).map { Array(clip.samples[$0 * 512..<($0 + 1) * 512]) }
    let first = try frames.map { try vad.probability(frame: $0) }
    vad.reset()
    let second = try frames.map { try vad.probability(frame: $0) }
    #expect(first == second)
    // Without reset the recurrent state carries over: the same frame gives another value.
    #expect(try vad.probability(frame: frames[20]) != first[20])
}

@Test func sileroRejectsWrongFrameLength() throws {
    guard let path = sileroModelPath() else { return }
    let vad = try SileroVAD(path: path, kernels: try KernelSet.named(nil))
    #expect(throws: VADError.wrongFrameLength(expected: 512, found: 480)) {
        _ = try vad.probability(frame: [Float](repeating: 0, count: 480))
    }
}

@Test func sileroRejectsOtherModels() throws {
    let kernels = try KernelSet.named(nil)
    #expect(throws: VADError.self) { _ = try SileroVAD(path: "/nonexistent/silero.gguf", kernels: kernels) }
    let llama = vadFixtures.deletingLastPathComponent().appendingPathComponent("llama-tiny/tiny-f32.gguf").path
    #expect(throws: VADError.unsupportedArchitecture("llama")) { _ = try SileroVAD(path: llama, kernels: kernels) }
    guard let path = sileroModelPath() else { return }
    // The real model with one tensor dropped, then with one tensor of the wrong shape.
    let file = try GGUFFile(path: path)
    func rewritten(_ change: (inout GGUFWriter, GGUFTensor) -> Void) throws -> GGUFFile {
        var w = GGUFWriter()
        for key in file.metadataKeys where !key.hasPrefix("GGUF.") { w.set(key, file.metadata[key]!) }
        for t in file.tensors { change(&w, t) }
        return try GGUFFile(bytes: w.serialize())
    }
    let noLSTM = try rewritten { w, t in if t.name != "lstm.weight_hh" { w.addTensor(t) } }
    #expect(throws: VADError.missingTensor("lstm.weight_hh")) { _ = try SileroVAD(file: noLSTM, kernels: kernels) }
    let shortBias = try rewritten { w, t in
        if t.name == "encoder.2.bias" {
            w.addTensor(name: t.name, shape: [32], type: .f32, copying: UnsafeRawBufferPointer(start: t.data, count: 128))
        } else { w.addTensor(t) }
    }
    #expect(throws: VADError.wrongShape(tensor: "encoder.2.bias", expected: [64], found: [32])) {
        _ = try SileroVAD(file: shortBias, kernels: kernels)
    }
}

@Test func sileroFrameAllocatesNothing() throws {
    guard let path = sileroModelPath() else { return }
    let vad = try SileroVAD(path: path, kernels: try KernelSet.named(nil))
    let clip = try AudioDecoder.load(path: vadFixtures.appendingPathComponent("speech_noise.wav").path, rawSampleRate: nil)
    var sum: Float = 0
    try clip.samples.withUnsafeBufferPointer { all in
        sum += try vad.probability(frame: UnsafeBufferPointer(rebasing: all[0..<512]))  // warm-up
        bora_alloc_count_reset()
        bora_alloc_count_enable_thread(1)
        for k in 1..<all.count / 512 {
            sum += try vad.probability(frame: UnsafeBufferPointer(rebasing: all[k * 512..<(k + 1) * 512]))
        }
        bora_alloc_count_enable_thread(0)
    }
    #expect(sum > 0)
    #expect(bora_alloc_count_supported() != 0)
    #expect(bora_alloc_count_allocations() == 0)
}

/// The rate a Silero GGUF declares is the model's: a 16 kHz file loads, a file without the key
/// (an older converter's) is taken as 16 kHz, any other rate is refused with a one-line error.
@Test func sileroChecksItsDeclaredSampleRate() throws {
    guard let path = sileroModelPath() else { return }
    let kernels = try KernelSet.named(nil)
    let file = try GGUFFile(path: path)
    #expect(try SileroVAD(file: file, kernels: kernels).sampleRate == AudioClip.sampleRate)
    func withRate(_ rate: GGUFValue?) throws -> GGUFFile {
        var w = GGUFWriter()
        for key in file.metadataKeys where !key.hasPrefix("GGUF.") && key != "silero-vad.sample_rate" { w.set(key, file.metadata[key]!) }
        if let rate { w.set("silero-vad.sample_rate", rate) }
        for t in file.tensors { w.addTensor(t) }
        return try GGUFFile(bytes: w.serialize())
    }
    let legacy = try SileroVAD(file: try withRate(nil), kernels: kernels)
    #expect(legacy.sampleRate == 16000 && legacy.config.sampleRate == 16000)
    #expect(throws: VADError.unsupportedSampleRate(declared: 8000, supported: 16000)) {
        _ = try SileroVAD(file: try withRate(.uint32(8000)), kernels: kernels)
    }
    let message = VADError.unsupportedSampleRate(declared: 8000, supported: 16000).description
    #expect(!message.contains("\n") && message.contains("8000") && message.contains("16000"))
}

/// The segmenter runs at its detector's rate and refuses audio or a model at another.
@Test func segmenterTakesTheDetectorsSampleRate() throws {
    var energy = EnergyVAD.Options()
    energy.sampleRate = 8000
    var options = Endpointer.Options()
    options.sampleRate = 16000
    let segmenter = try SpeechSegmenter(detector: try EnergyVAD(options: energy), options: options)
    #expect(segmenter.sampleRate == 8000 && segmenter.endpointer.options.sampleRate == 8000)
    try segmenter.check(sampleRate: 8000)
    #expect(throws: VADError.wrongSampleRate(expected: 8000, found: 16000, what: "the audio")) {
        try segmenter.check(sampleRate: 16000)
    }
}
