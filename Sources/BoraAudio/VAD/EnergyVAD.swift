#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cheap fallback detector (`--vad energy`): frame RMS level in dBFS against an adaptive
/// noise floor. The floor follows quiet frames down at once and rises slowly
/// (`floorRiseDbPerSecond`), so steady noise is learned within seconds while speech is not.
/// probability = sigmoid((level − floor − marginDb) / slopeDb), 0 below `silenceDbfs`.
/// Allocates nothing per frame.
public final class EnergyVAD: VoiceActivityDetector, @unchecked Sendable {
    public struct Options: Sendable, Equatable {
        /// Samples per frame (512 = 32 ms at 16 kHz, the same grid as Silero).
        public var frameSamples = 512
        /// The audio's rate (sets the floor's rise per frame); defaults to `AudioClip.sampleRate`.
        public var sampleRate = AudioClip.sampleRate
        /// Level above the noise floor that gives probability 0.5.
        public var marginDb: Float = 10
        /// Width of the transition: +slopeDb gives 0.73, +2·slopeDb 0.88.
        public var slopeDb: Float = 2
        /// Frames quieter than this are silence whatever the floor (digital silence, a muted mic).
        public var silenceDbfs: Float = -60
        public var floorRiseDbPerSecond: Float = 3
        /// Initial noise floor; nil starts at the first frame's level (a stream that opens in
        /// speech is then missed until a pause lowers the floor, which takes one quiet frame).
        public var initialFloorDbfs: Float? = nil
        public init() {}
    }

    public let options: Options
    public var frameSamples: Int { options.frameSamples }
    public var sampleRate: Int { options.sampleRate }
    /// The current noise-floor estimate, dBFS.
    public private(set) var noiseFloorDbfs: Float?
    private let risePerFrame: Float

    public init(options: Options = Options()) throws(VADError) {
        guard options.frameSamples > 0 else { throw .badSetting(name: "frameSamples", reason: "must be positive") }
        guard options.sampleRate > 0 else { throw .badSetting(name: "sampleRate", reason: "must be positive") }
        guard options.slopeDb > 0 else { throw .badSetting(name: "slopeDb", reason: "must be positive") }
        self.options = options
        noiseFloorDbfs = options.initialFloorDbfs
        risePerFrame = options.floorRiseDbPerSecond * Float(options.frameSamples) / Float(options.sampleRate)
    }

    public func reset() { noiseFloorDbfs = options.initialFloorDbfs }

    /// RMS level of a frame in dBFS (full-scale sine = −3 dBFS), floored at −120.
    public static func levelDbfs(_ frame: UnsafeBufferPointer<Float>) -> Float {
        var sum: Float = 0
        for x in frame { sum += x * x }
        let meanSquare = frame.isEmpty ? 0 : sum / Float(frame.count)
        return 10 * log10f(max(meanSquare, 1e-12))
    }

    public func probability(frame: UnsafeBufferPointer<Float>) throws(VADError) -> Float {
        guard frame.count == options.frameSamples else {
            throw .wrongFrameLength(expected: options.frameSamples, found: frame.count)
        }
        let level = Self.levelDbfs(frame)
        let floor = noiseFloorDbfs ?? level
        let p: Float = level < options.silenceDbfs
            ? 0 : 1 / (1 + expf(-(level - floor - options.marginDb) / options.slopeDb))
        noiseFloorDbfs = level < floor ? level : min(floor + risePerFrame, level)
        return p
    }
}
