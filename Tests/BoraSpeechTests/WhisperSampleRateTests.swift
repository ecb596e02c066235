import BoraAudio
import BoraCore
import BoraGGUF
import Testing
@testable import BoraSpeech

/// The rate a Whisper GGUF declares (`whisper.sample_rate`) is the model's: the metadata of
/// tiny.en loads at 16 kHz, without the key (an older converter's) it is taken as 16 kHz, and a
/// file declaring another rate is refused by the loader with a one-line error.
@Test func whisperConfigChecksItsDeclaredSampleRate() throws {
    guard let path = whisperModelPath("whisper-tiny.en") else { return }
    let file = try GGUFFile(path: path)
    #expect(try WhisperConfig(gguf: file).sampleRate == AudioClip.sampleRate)
    func withRate(_ rate: GGUFValue?) throws -> GGUFFile {
        var w = GGUFWriter()
        for key in file.metadataKeys where !key.hasPrefix("GGUF.") && key != "whisper.sample_rate" { w.set(key, file.metadata[key]!) }
        if let rate { w.set("whisper.sample_rate", rate) }
        return try GGUFFile(bytes: w.serialize())
    }
    #expect(try WhisperConfig(gguf: try withRate(nil)).sampleRate == 16000)
    #expect(try WhisperConfig(gguf: try withRate(.uint32(16000))).windowSamples == 480_000)
    #expect(throws: SpeechError.unsupportedSampleRate(declared: 8000, supported: 16000)) {
        _ = try WhisperConfig(gguf: try withRate(.uint32(8000)))
    }
    // The model loader refuses it too, before any tensor is read.
    #expect(throws: SpeechError.unsupportedSampleRate(declared: 22050, supported: 16000)) {
        _ = try WhisperModel(file: try withRate(.uint32(22050)), kernels: try KernelSet.named(nil))
    }
    let message = SpeechError.unsupportedSampleRate(declared: 8000, supported: 16000).description
    #expect(!message.contains("\n") && message.contains("8000") && message.contains("16000"))
}
