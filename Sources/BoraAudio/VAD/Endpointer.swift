/// A detected stretch of speech in a stream, in samples from the start of the stream
/// (at `sampleRate`, the endpointer's: the detector's rate under a `SpeechSegmenter`).
public struct SpeechSegment: Sendable, Equatable, CustomStringConvertible {
    /// First sample, including the pre-roll before the frames that triggered the start.
    public var startSample: Int
    /// One past the last sample (the end of the last speech frame plus the post-roll).
    public var endSample: Int
    /// Mean frame probability from the first triggering frame to the last speech frame.
    public var meanProbability: Float
    /// True when the segment was cut at `maxUtteranceMs` rather than ended by silence.
    public var truncated: Bool
    public var sampleRate: Int

    public var startMs: Double { Double(startSample) * 1000 / Double(sampleRate) }
    public var endMs: Double { Double(endSample) * 1000 / Double(sampleRate) }
    public var description: String {
        "\(Int(startMs.rounded())) ms – \(Int(endMs.rounded())) ms p=\(meanProbability)\(truncated ? " (truncated)" : "")"
    }
}

/// What one frame did to the endpointer.
public enum EndpointEvent: Sendable, Equatable {
    /// Speech began; audio from `startSample` (pre-roll included) belongs to the utterance.
    case speechStarted(startSample: Int)
    /// The utterance ended (silence, end of stream or the maximum length).
    case speechEnded(SpeechSegment)
}

/// Turns a per-frame speech probability stream into utterances. Speech starts after
/// `startMs` of consecutive frames at or above `threshold`; it ends after `endMs` of
/// consecutive frames below `threshold − hysteresis`; the start is moved back by `preRollMs`
/// (never before the stream or the previous segment) so the first syllable is kept, the end
/// forward by `postRollMs`; an utterance longer than `maxUtteranceMs` is cut there.
///
/// A value type with no heap storage: `push` allocates nothing, so a voice loop can call it per
/// frame. Positions are sample counts; the loop keeps at least `preRollMs + startMs` of audio
/// history to recover the pre-roll when `.speechStarted` arrives.
public struct Endpointer: Sendable {
    public struct Options: Sendable, Equatable {
        /// The audio's rate, Hz (times in ms are converted with it). `SpeechSegmenter` replaces
        /// it, like `frameSamples`, with its detector's.
        public var sampleRate = AudioClip.sampleRate
        public var frameSamples = 512
        /// Probability at or above which a frame counts as speech.
        public var threshold: Float = 0.5
        /// Frames below `threshold − hysteresis` count as silence (Silero's recommended 0.15).
        public var hysteresis: Float = 0.15
        /// Speech must last this long (rounded up to whole frames) to start an utterance.
        public var startMs = 64
        /// Silence must last this long to end it.
        public var endMs = 400
        public var preRollMs = 192
        public var postRollMs = 96
        /// Longest utterance; a longer one is emitted as `truncated` and a new one may start.
        public var maxUtteranceMs = 30_000
        public init() {}
    }

    public let options: Options
    private let startFrames: Int, endFrames: Int, preRollSamples: Int, postRollSamples: Int, maxSamples: Int
    private var position = 0          // samples consumed
    private var inSpeech = false
    private var runStart = 0          // first sample of the current above-threshold run
    private var runFrames = 0
    private var runSum: Float = 0
    private var segmentStart = 0
    private var speechSum: Float = 0, speechFrames = 0  // up to the last speech frame
    private var pendingSum: Float = 0, pendingFrames = 0  // frames since then
    private var lastSpeechEnd = 0
    private var silenceFrames = 0
    private var previousEnd = 0

    public init(options: Options = Options()) throws(VADError) {
        func positive(_ v: Int, _ name: String) throws(VADError) {
            guard v > 0 else { throw .badSetting(name: name, reason: "must be positive, got \(v)") }
        }
        func nonNegative(_ v: Int, _ name: String) throws(VADError) {
            guard v >= 0 else { throw .badSetting(name: name, reason: "must not be negative, got \(v)") }
        }
        try positive(options.sampleRate, "sampleRate"); try positive(options.frameSamples, "frameSamples")
        try positive(options.startMs, "startMs"); try positive(options.endMs, "endMs")
        try nonNegative(options.preRollMs, "preRollMs"); try nonNegative(options.postRollMs, "postRollMs")
        guard options.threshold > 0, options.threshold <= 1 else {
            throw .badSetting(name: "threshold", reason: "must be in (0, 1], got \(options.threshold)")
        }
        guard options.hysteresis >= 0, options.hysteresis < options.threshold else {
            throw .badSetting(name: "hysteresis", reason: "must be in [0, threshold), got \(options.hysteresis)")
        }
        self.options = options
        let frameMs = Double(options.frameSamples) * 1000 / Double(options.sampleRate)
        startFrames = max(1, Int((Double(options.startMs) / frameMs).rounded(.up)))
        endFrames = max(1, Int((Double(options.endMs) / frameMs).rounded(.up)))
        preRollSamples = options.preRollMs * options.sampleRate / 1000
        postRollSamples = options.postRollMs * options.sampleRate / 1000
        maxSamples = options.maxUtteranceMs * options.sampleRate / 1000
        guard maxSamples >= (startFrames + 1) * options.frameSamples else {
            throw .badSetting(name: "maxUtteranceMs", reason: "must exceed startMs by at least one frame")
        }
    }

    /// Samples consumed so far (frames pushed × frameSamples).
    public var samplesConsumed: Int { position }
    /// True between `.speechStarted` and `.speechEnded`.
    public var isSpeaking: Bool { inSpeech }

    /// Forgets the stream.
    public mutating func reset() {
        position = 0; inSpeech = false; runStart = 0; runFrames = 0; runSum = 0; segmentStart = 0
        speechSum = 0; speechFrames = 0; pendingSum = 0; pendingFrames = 0
        lastSpeechEnd = 0; silenceFrames = 0; previousEnd = 0
    }

    /// Consumes the probability of the next frame; returns the event it caused, if any.
    public mutating func push(probability p: Float) -> EndpointEvent? {
        let frameStart = position
        position += options.frameSamples
        if !inSpeech {
            if p >= options.threshold {
                if runFrames == 0 { runStart = frameStart; runSum = 0 }
                runFrames += 1; runSum += p
                if runFrames >= startFrames {
                    inSpeech = true
                    segmentStart = max(runStart - preRollSamples, previousEnd, 0)
                    speechSum = runSum; speechFrames = runFrames
                    pendingSum = 0; pendingFrames = 0; silenceFrames = 0
                    lastSpeechEnd = position
                    runFrames = 0
                    return .speechStarted(startSample: segmentStart)
                }
            } else {
                runFrames = 0
            }
            return nil
        }
        if p < options.threshold - options.hysteresis {
            silenceFrames += 1
            pendingSum += p; pendingFrames += 1
            if silenceFrames >= endFrames { return .speechEnded(close(truncated: false)) }
        } else {
            silenceFrames = 0
            speechSum += pendingSum + p; speechFrames += pendingFrames + 1
            pendingSum = 0; pendingFrames = 0
            lastSpeechEnd = position
        }
        if position - segmentStart >= maxSamples {
            lastSpeechEnd = position
            speechSum += pendingSum; speechFrames += pendingFrames
            return .speechEnded(close(truncated: true))
        }
        return nil
    }

    /// Ends the stream: closes an open utterance (at the end of its last speech frame).
    public mutating func finish() -> SpeechSegment? {
        inSpeech ? close(truncated: false) : nil
    }

    private mutating func close(truncated: Bool) -> SpeechSegment {
        let end = truncated ? position : min(lastSpeechEnd + postRollSamples, position)
        let segment = SpeechSegment(startSample: segmentStart, endSample: end,
                                    meanProbability: speechFrames > 0 ? speechSum / Float(speechFrames) : 0,
                                    truncated: truncated, sampleRate: options.sampleRate)
        previousEnd = end
        inSpeech = false
        runFrames = 0; silenceFrames = 0
        return segment
    }
}

/// A detector plus an endpointer over one stream, frame by frame (`process`, no allocation) or
/// for a whole file (`segments(samples:)`). The endpointer runs at the detector's frame length
/// and sample rate (`options.frameSamples` and `options.sampleRate` are replaced by them), so
/// audio given to it must be at `sampleRate`.
public final class SpeechSegmenter: @unchecked Sendable {
    public let detector: any VoiceActivityDetector
    public private(set) var endpointer: Endpointer
    private let tail: UnsafeMutableBufferPointer<Float>  // the zero-padded last partial frame

    public init(detector: any VoiceActivityDetector, options: Endpointer.Options = Endpointer.Options()) throws(VADError) {
        var o = options
        o.frameSamples = detector.frameSamples
        o.sampleRate = detector.sampleRate
        self.detector = detector
        endpointer = try Endpointer(options: o)
        tail = .allocate(capacity: detector.frameSamples)
    }

    deinit { tail.deallocate() }

    /// The rate, Hz, of the audio the segmenter takes: its detector's.
    public var sampleRate: Int { detector.sampleRate }

    /// Throws `VADError.wrongSampleRate` unless `rate` is this segmenter's `sampleRate`: the rate
    /// of audio about to be given to it, or of a model its segments will be given to (`what`
    /// names it in the message).
    public func check(sampleRate rate: Int, of what: String = "the audio") throws(VADError) {
        guard rate == sampleRate else { throw .wrongSampleRate(expected: sampleRate, found: rate, what: what) }
    }

    /// Starts a new stream (detector state and endpointer).
    public func reset() { detector.reset(); endpointer.reset() }

    /// Runs one frame through the detector and the endpointer. Allocates nothing.
    public func process(frame: UnsafeBufferPointer<Float>) throws(VADError) -> (probability: Float, event: EndpointEvent?) {
        let p = try detector.probability(frame: frame)
        return (p, endpointer.push(probability: p))
    }

    /// Where the speech of a recording is: from the start of its first segment to the end of its
    /// last, widened by `beforeMs` and `afterMs` (within the recording), or nil when it holds no
    /// speech. One command per file (`bora intent`) is recognized in this span only. The margins
    /// matter to Whisper: cut at the endpointer's own 96 ms post-roll, commands whose last sound
    /// is soft ("return home", "unmute") were misheard and clean accuracy on tools/eval-intent's
    /// corpus fell from 88.5 % (whole files) to 82.5 %; with 200/400 ms it is 90.0 %.
    public func speechSpan(samples: [Float], beforeMs: Int = 200, afterMs: Int = 400) throws(VADError) -> Range<Int>? {
        let found = try segments(samples: samples)
        guard let first = found.first, let last = found.last else { return nil }
        let rate = endpointer.options.sampleRate
        return max(0, first.startSample - beforeMs * rate / 1000)..<min(samples.count, last.endSample + afterMs * rate / 1000)
    }

    /// Every speech segment of `samples` (mono at `sampleRate`) from a fresh stream; the last partial
    /// frame is zero-padded. `probabilities`, when given, receives one value per frame.
    public func segments(samples: [Float], probabilities: ((Float) -> Void)? = nil) throws(VADError) -> [SpeechSegment] {
        reset()
        var out: [SpeechSegment] = []
        let n = detector.frameSamples
        try samples.withUnsafeBufferPointer { (all) throws(VADError) in
            var i = 0
            while i < all.count {
                let frame: UnsafeBufferPointer<Float>
                if i + n <= all.count {
                    frame = UnsafeBufferPointer(rebasing: all[i..<i + n])
                } else {
                    _ = tail.initialize(from: all[i...])
                    tail.baseAddress!.advanced(by: all.count - i).update(repeating: 0, count: n - (all.count - i))
                    frame = UnsafeBufferPointer(tail)
                }
                let (p, event) = try process(frame: frame)
                probabilities?(p)
                if case let .speechEnded(s) = event { out.append(s) }
                i += n
            }
        }
        if let s = endpointer.finish() { out.append(s) }
        // Clamp to the real length (the padded tail is not audio).
        for j in out.indices { out[j].endSample = min(out[j].endSample, samples.count) }
        return out
    }
}
