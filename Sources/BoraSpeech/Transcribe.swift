#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BoraCore
import BoraText

/// The result of transcribing one signal.
public struct Transcript: Sendable, Equatable {
    /// Decoded text of every window, joined, without leading/trailing whitespace.
    public var text: String
    /// Generated text tokens of every window in order.
    public var tokens: [Int32]
    /// One entry per 30 s window.
    public var windows: [WindowResult]
    /// Wall time of the front end, the encoder and the decoder, milliseconds.
    public var melMilliseconds: Double
    public var encodeMilliseconds: Double
    public var decodeMilliseconds: Double

    /// An empty transcript (the accumulator `transcribeWindow` adds its timings to).
    public init(text: String = "", tokens: [Int32] = [], windows: [WindowResult] = [],
                melMilliseconds: Double = 0, encodeMilliseconds: Double = 0, decodeMilliseconds: Double = 0) {
        self.text = text; self.tokens = tokens; self.windows = windows
        self.melMilliseconds = melMilliseconds; self.encodeMilliseconds = encodeMilliseconds
        self.decodeMilliseconds = decodeMilliseconds
    }
}

/// `text` without leading and trailing spaces and newlines (Whisper text starts with a space).
public func trimmed(_ text: String) -> String {
    String(text.drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
}

extension WhisperSession {
    /// Transcribes mono samples at `model.config.sampleRate` (16 kHz) of any length: 30 s windows one after another, as
    /// faster-whisper does without timestamps (the log-mel floor uses the whole signal's maximum).
    /// Throws `SpeechError.audioTooShort` for fewer than one hop of samples and
    /// `.invalidSamples` for NaN/infinite samples.
    public func transcribe(_ samples: UnsafeBufferPointer<Float>, options: TranscribeOptions = TranscribeOptions()) throws(SpeechError) -> Transcript {
        try validate(samples, options: options)
        let content = frontEnd.contentFrames(sampleCount: samples.count)
        let window = model.config.windowFrames
        let globalMax: Float? = content + 1 > window ? frontEnd.maxLog(samples) : nil
        var transcript = Transcript()
        var first = 0
        repeat {
            var result = transcribeWindow(samples, firstFrame: first, options: options, globalMax: globalMax,
                                          timings: &transcript)
            result.tokens = result.skipped ? [] : Array(UnsafeBufferPointer(start: output, count: outputCount))
            transcript.tokens += result.tokens
            transcript.windows.append(result)
            first += window
        } while first < content
        let text = model.tokenizer.decode(transcript.tokens.filter { $0 < model.config.eot })
        transcript.text = trimmed(text)
        return transcript
    }

    /// Checks the preconditions of `transcribe` without running anything.
    public func validate(_ samples: UnsafeBufferPointer<Float>, options: TranscribeOptions) throws(SpeechError) {
        guard options.beam >= 1 && options.beam <= maxBeam else { throw .beamTooWide(requested: options.beam, maximum: maxBeam) }
        guard samples.count >= model.config.hopLength else { throw .audioTooShort(samples: samples.count) }
        for i in 0..<samples.count where !samples[i].isFinite { throw .invalidSamples(index: i) }
    }

    /// One window (≤ 30 s from content frame `firstFrame`): front end, encoder, decoder. The
    /// generated tokens are left in the session (`lastTokens`); the result's `tokens` is empty.
    /// Allocates nothing once the session has run a window of the same or greater length.
    public func transcribeWindow(_ samples: UnsafeBufferPointer<Float>, firstFrame: Int, options: TranscribeOptions,
                                 globalMax: Float?, timings: inout Transcript) -> WindowResult {
        let t0 = monotonicNanoseconds()
        let content = frontEnd.contentFrames(sampleCount: samples.count) - firstFrame
        let frames: Int
        if options.fullWindow {
            frames = model.config.windowFrames
        } else {
            let remaining = max(1, content) * model.config.hopLength
            frames = encodedFrames(sampleCount: min(remaining, model.config.windowSamples), options: options)
        }
        prepareMel(samples, firstFrame: firstFrame, frames: frames, globalMax: globalMax,
                   padWithSilence: options.padWithSilence && !options.fullWindow)
        let t1 = monotonicNanoseconds()
        encode(frames: frames)
        let t2 = monotonicNanoseconds()
        let result = decodeWindow(positions: frames / 2, options: options)
        let t3 = monotonicNanoseconds()
        timings.melMilliseconds += Double(t1 - t0) / 1e6
        timings.encodeMilliseconds += Double(t2 - t1) / 1e6
        timings.decodeMilliseconds += Double(t3 - t2) / 1e6
        return result
    }

    /// Tokens generated by the last window (valid until the next call).
    public var lastTokens: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: output, count: outputCount) }
}
