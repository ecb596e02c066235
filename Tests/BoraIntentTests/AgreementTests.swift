import Testing
@testable import BoraIntent

/// The agreement weighting of the confidence (issue 23): cases taken from real recordings of
/// people (`../shared/data/keywords`, whisper-tiny.en's free transcripts and readings).
struct AgreementTests {
    @Test func wordsHeardInTheFreeTranscript() {
        // A false accept before: the command shares nothing with what was said.
        #expect(IntentRecognizer.agreement(reading: "Come here.", transcript: "computer") == 0)
        #expect(IntentRecognizer.agreement(reading: "stop", transcript: "Still Boy") == 0)
        // A true command Whisper stutters: every word heard.
        #expect(IntentRecognizer.agreement(reading: "computer.", transcript: "Computer Computer") == 1)
        #expect(IntentRecognizer.agreement(reading: "Smart Mirror.", transcript: "smart mirrors") == 1)
        // turn, on, in, kitchen heard; the, lights, the not ("life's" is 3 edits from "lights").
        #expect(IntentRecognizer.agreement(reading: "Turn on the lights in the kitchen", transcript: "Turn on my life's in my kitchen") == Float(4) / Float(7))
        #expect(IntentRecognizer.agreement(reading: "", transcript: "anything") == 0)
        #expect(IntentRecognizer.agreement(reading: "go", transcript: "") == 0)
    }

    @Test func similarMeansAtMostFortyPercentEdits() {
        func s(_ a: String, _ b: String) -> Bool { IntentRecognizer.similar(Array(a.unicodeScalars), Array(b.unicodeScalars)) }
        #expect(s("mirror", "mirrors"))      // 1 edit of 7
        #expect(s("value", "volume"))        // 2 of 6
        #expect(!s("kitten", "sitting"))     // 3 of 7 (the textbook distance)
        #expect(!s("here", "computer"))
        #expect(s("a", "a") && !s("a", "b"))
    }

    @Test func confidenceWeighting() {
        #expect(IntentRecognizer.confidence(ratio: 0.15, agreement: 1) == 0.3)
        #expect(abs(IntentRecognizer.confidence(ratio: 0.27, agreement: 0) - 0.18) < 1e-6)
        #expect(IntentRecognizer.confidence(ratio: 0.25, agreement: 0.5) == 0.25)
        #expect(IntentRecognizer.confidence(ratio: 0.7, agreement: 1) == 1)
        #expect(IntentRecognizer.confidence(ratio: 0, agreement: 1) == 0)
        #expect(IntentRecognizer.confidence(ratio: 0.27, agreement: 0, penalizesDisagreement: false) == 0.27)
    }
}
