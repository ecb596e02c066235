// Endpointer and energy detector on constructed streams with known answers.
import CBoraAllocCount
import Foundation
import Testing
@testable import BoraAudio

private func run(_ probabilities: [Float], _ options: Endpointer.Options = Endpointer.Options()) throws -> (events: [EndpointEvent], segments: [SpeechSegment]) {
    var e = try Endpointer(options: options)
    var events: [EndpointEvent] = [], segments: [SpeechSegment] = []
    for p in probabilities {
        if let ev = e.push(probability: p) {
            events.append(ev)
            if case let .speechEnded(s) = ev { segments.append(s) }
        }
    }
    if let s = e.finish() { segments.append(s) }
    return (events, segments)
}

private func stream(_ parts: [(Float, Int)]) -> [Float] { parts.flatMap { Array(repeating: $0.0, count: $0.1) } }

@Test func speechSilenceSpeechGivesTwoSegments() throws {
    // Defaults: start after 2 frames (64 ms), end after 13 frames (400 ms), pre-roll 3072 samples
    // (192 ms), post-roll 1536 (96 ms); 512-sample frames.
    let probs = stream([(0.05, 10), (0.9, 20), (0.05, 20), (0.8, 15), (0.05, 10)])
    let (events, segs) = try run(probs)
    #expect(segs.count == 2)
    #expect(events.first == .speechStarted(startSample: 10 * 512 - 3072))
    #expect(segs[0].startSample == 10 * 512 - 3072)
    #expect(segs[0].endSample == 30 * 512 + 1536)
    #expect(abs(segs[0].meanProbability - 0.9) < 1e-6)
    #expect(segs[1].startSample == 50 * 512 - 3072)
    #expect(segs[1].endSample == 65 * 512 + 1536)   // closed by finish(): 10 silent frames < 13
    #expect(abs(segs[1].meanProbability - 0.8) < 1e-6)
    #expect(!segs[0].truncated && !segs[1].truncated)
    #expect(abs(segs[0].startMs - 128) < 1e-9 && abs(segs[0].endMs - 1056) < 1e-9)
}

@Test func preRollNeverReachesBeforeTheStreamOrThePreviousSegment() throws {
    var o = Endpointer.Options()
    o.endMs = 64; o.postRollMs = 0; o.preRollMs = 1000
    let (_, segs) = try run(stream([(0.9, 4), (0.0, 3), (0.9, 4), (0.0, 3)]), o)
    #expect(segs.count == 2)
    #expect(segs[0].startSample == 0)
    #expect(segs[0].endSample == 4 * 512)
    #expect(segs[1].startSample == 4 * 512)  // clamped to the previous end, not 7·512 − 16000
    #expect(segs[1].endSample == 11 * 512)
}

@Test func noiseOnlyGivesNoSegment() throws {
    // Probabilities below threshold with isolated one-frame spikes (shorter than startMs).
    var probs: [Float] = []
    var state: UInt64 = 12345
    for i in 0..<2000 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(state >> 40) / Float(1 << 24)
        probs.append(i % 97 == 0 ? 0.7 : 0.45 * u)
    }
    let (events, segs) = try run(probs)
    #expect(events.isEmpty && segs.isEmpty)
}

@Test func hysteresisBridgesShortDips() throws {
    // A dip to 0.4 (above 0.5 − 0.15) is not silence; 12 frames of 0.1 (< 13) do not end it either.
    let (_, segs) = try run(stream([(0.0, 10), (0.9, 10), (0.4, 20), (0.1, 12), (0.9, 5), (0.0, 20)]))
    #expect(segs.count == 1)
    #expect(segs[0].startSample == 10 * 512 - 3072)
    #expect(segs[0].endSample == 57 * 512 + 1536)
}

@Test func maximumUtteranceLengthCutsLongSpeech() throws {
    var o = Endpointer.Options()
    o.maxUtteranceMs = 1024; o.preRollMs = 0  // 32 frames
    let (_, segs) = try run(stream([(0.9, 100)]), o)
    #expect(segs.count == 4)
    #expect(segs[0].startSample == 0 && segs[0].endSample == 32 * 512 && segs[0].truncated)
    #expect(segs[1].startSample == 32 * 512 && segs[1].endSample == 64 * 512 && segs[1].truncated)
    #expect(segs[3].startSample == 96 * 512 && segs[3].endSample == 100 * 512 && !segs[3].truncated)
}

@Test func badSettingsAreTypedErrors() {
    var o = Endpointer.Options(); o.threshold = 1.5
    #expect(throws: VADError.self) { _ = try Endpointer(options: o) }
    o = Endpointer.Options(); o.maxUtteranceMs = 10
    #expect(throws: VADError.self) { _ = try Endpointer(options: o) }
    o = Endpointer.Options(); o.hysteresis = 0.6
    #expect(throws: VADError.self) { _ = try Endpointer(options: o) }
}

/// Seeded noise at `rms` plus a hard-clipped 200 Hz tone burst.
private func clippedBurst(noiseRms: Float, burst: Range<Int>, total: Int, gain: Float) -> [Float] {
    var state: UInt64 = 99
    return (0..<total).map { i in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(state >> 40) / Float(1 << 24) - 0.5  // uniform, rms 0.2887
        var x = u * noiseRms / 0.2887
        if burst.contains(i) { x += gain * sinf(2 * Float.pi * 200 * Float(i) / 16000) }
        return min(max(x, -1), 1)
    }
}

@Test func energyDetectorFindsClippedSpeechInNoise() throws {
    // 1 s noise (−50 dBFS), 0.6 s full-scale clipped burst, 1 s noise.
    let audio = clippedBurst(noiseRms: 0.00316, burst: 16000..<25600, total: 41600, gain: 4)
    let seg = try SpeechSegmenter(detector: EnergyVAD())
    let segs = try seg.segments(samples: audio)
    #expect(segs.count == 1)
    guard let s = segs.first else { return }
    // Onset frame 31 (15872..16384) holds 384 burst samples; 2 frames to start, 192 ms pre-roll.
    #expect(s.startSample == 31 * 512 - 3072)
    #expect(s.endSample == 50 * 512 + 1536)  // burst ends inside frame 49 (25088..25600)
    #expect(s.meanProbability > 0.99)
}

@Test func energyDetectorLearnsSteadyNoise() throws {
    // Loud steady noise (−20 dBFS) only: after the floor adapts, nothing is speech.
    let audio = clippedBurst(noiseRms: 0.1, burst: 0..<0, total: 16000 * 20, gain: 0)
    let seg = try SpeechSegmenter(detector: EnergyVAD())
    var probs: [Float] = []
    let segs = try seg.segments(samples: audio) { probs.append($0) }
    #expect(segs.isEmpty)
    #expect(probs.allSatisfy { $0 < 0.1 })
    // Started below the noise, the floor rises at 3 dB/s: the first seconds are speech, then none.
    var o = EnergyVAD.Options(); o.initialFloorDbfs = -50
    let late = try SpeechSegmenter(detector: try EnergyVAD(options: o))
    let segsLate = try late.segments(samples: audio)
    #expect(segsLate.count == 1)
    #expect(segsLate.allSatisfy { $0.startSample == 0 && $0.endMs < 12_000 })
}

@Test func endpointerAndEnergyAllocateNothingPerFrame() throws {
    let audio = clippedBurst(noiseRms: 0.003, burst: 8000..<16000, total: 32768, gain: 0.5)
    let seg = try SpeechSegmenter(detector: EnergyVAD())
    var events = 0
    try audio.withUnsafeBufferPointer { all in
        _ = try seg.process(frame: UnsafeBufferPointer(rebasing: all[0..<512]))
        bora_alloc_count_reset()
        bora_alloc_count_enable_thread(1)
        for k in 1..<all.count / 512 {
            if try seg.process(frame: UnsafeBufferPointer(rebasing: all[k * 512..<(k + 1) * 512])).event != nil { events += 1 }
        }
        bora_alloc_count_enable_thread(0)
    }
    #expect(events == 2)  // started, then ended after 400 ms of silence
    #expect(bora_alloc_count_allocations() == 0)
}
