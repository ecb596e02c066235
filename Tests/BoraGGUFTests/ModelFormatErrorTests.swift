import Testing
import BoraGGUF

@Suite struct ModelFormatErrorTests {
    /// The wording per family is part of the CLI's contract (tools/cli-test, tools/limits-test).
    @Test func describesEachFamilyInItsOwnWords() {
        #expect(ModelFormatError(.llama, .missingTensor("t")).description
                == "model lacks tensor 't'; the GGUF is incomplete or not a llama model")
        #expect(ModelFormatError(.whisper, .missingMetadata("k")).description
                == "Whisper model metadata lacks 'k'; re-convert it with tools/whisper/convert.py")
        #expect(ModelFormatError(.sileroVAD, .wrongShape(tensor: "b", expected: [64], found: [32])).description
                == "VAD tensor 'b' has shape [32], expected [64]; re-convert the model with tools/vad/convert.py")
    }

    @Test func wrapperMembersMakeTheFamilysError() {
        enum Wrapper: Error, Equatable, ModelFormatReporting {
            case format(ModelFormatError)
            static var modelFamily: ModelFormatError.Family { .whisper }
        }
        #expect(Wrapper.unsupportedArchitecture("llama") == .format(ModelFormatError(.whisper, .unsupportedArchitecture("llama"))))
    }
}
