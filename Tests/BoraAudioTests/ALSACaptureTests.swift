import Foundation
import Testing
@testable import BoraAudio

/// The real ALSA path without a sound card: ALSA_CONFIG_PATH points at a temp configuration
/// (never the user's files) whose capture PCMs are `type file` with a known `infile` and an inline
/// `type null` slave. Such a PCM delivers data as fast as it is read and stale data after the
/// end, so captures read exactly the file's length (`maxDeviceFrames`).
enum ALSAFixture {
    static let dir: TempDir = {
        let d = TempDir()
        let speech = try! speechWAV(d)
        try! runTool(["sox", speech, "-t", "s16", "-r", "16000", d.file("mono16k.raw"), "rate", "-v"])
        // 48 kHz stereo s32, low-passed to 6.5 kHz (see AudioFileTests.resample48kStereoS24MatchesSox).
        try! runTool(["sox", speech, "-t", "s32", "-r", "48000", "-c", "2", d.file("stereo48k.raw"), "remix", "1", "1v0.3", "rate", "-v", "sinc", "-6500"])
        try! runTool(["sox", "-t", "s32", "-r", "48000", "-c", "2", d.file("stereo48k.raw"), "-t", "f32", "-r", "16000", "-c", "1",
                      d.file("stereo48k-ref.f32"), "remix", "1v0.5,2v0.5", "rate", "-v", "-b", "90"])
        var conf = ""
        for name in ["mono16k", "stereo48k"] {
            conf += """
            pcm.\(name) {
                type file
                slave.pcm { type null }
                file "/dev/null"
                infile "\(d.file(name + ".raw"))"
                format "raw"
            }

            """
        }
        try! conf.write(toFile: d.file("asound.conf"), atomically: true, encoding: .utf8)
        setenv("ALSA_CONFIG_PATH", d.file("asound.conf"), 1)
        // a static is never deinitialized: remove the directory when the test process exits
        atexit { try? FileManager.default.removeItem(atPath: ALSAFixture.dir.path) }
        return d
    }()
}

@Suite(.serialized) struct ALSACaptureTests {
    func captureAll(_ capture: AudioCapture) throws -> [Float] {
        try capture.start()
        var all: [Float] = []
        var buffer = [Float](repeating: 0, count: 4096)
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try capture.read(into: $0, timeoutMs: 2000) }
            all += buffer[0..<n]
            if n == 0 && capture.isFinished { break }
        }
        return all
    }

    @Test func recordsFileExactly() throws {
        let dir = ALSAFixture.dir
        let ints = try readS16(dir.file("mono16k.raw"))
        var options = CaptureOptions()
        options.maxDeviceFrames = ints.count
        options.ringSeconds = 10            // the file PCM delivers faster than real time: hold it all
        let capture = try AudioCapture(device: "mono16k", options: options)
        #expect(capture.format.sampleFormat == .s16 && capture.format.sampleRate == 16000 && capture.format.channels == 1)
        #expect(capture.format.periodFrames == 320)
        let samples = try captureAll(capture)
        #expect(samples.count == ints.count)
        #expect(zip(samples, ints).allSatisfy { $0 * 32768 == Float($1) }, "captured samples differ from the file")
        #expect(capture.stats.overruns == 0 && capture.stats.droppedSamples == 0 && capture.stats.deviceFrames == ints.count)
    }

    /// A device that only offers 48 kHz stereo s32: converted by the streaming resampler and
    /// the downmix; compared with sox on the same data.
    @Test func convertsDeviceFormat() throws {
        let dir = ALSAFixture.dir
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("stereo48k.raw"))).count
        let reference = try readF32(dir.file("stereo48k-ref.f32"))
        var options = CaptureOptions()
        options.maxDeviceFrames = bytes / 8
        options.ringSeconds = 10
        options.deviceRate = 48000
        options.deviceChannels = 2
        options.deviceFormat = .s32
        let capture = try AudioCapture(device: "stereo48k", options: options)
        #expect(capture.format.periodFrames == 960 && capture.format.channels == 2)
        let samples = try captureAll(capture)
        // A bounded capture flushes the resampler at the end: exactly ceil(N/3) samples, as sox.
        #expect(samples.count == reference.count, "\(samples.count) vs \(reference.count)")
        let snr = snrDb(samples, reference, 160..<samples.count - 160)
        print("ALSA 48 kHz stereo s32 → 16 kHz mono vs sox: SNR \(snr) dB")
        #expect(snr >= 60)
    }

    @Test func missingDeviceIsTypedError() throws {
        _ = ALSAFixture.dir
        #expect { try AudioCapture(device: "no-such-device") } throws: { e in
            guard let a = e as? AudioError, case .deviceNotFound(let device, _) = a else { return false }
            return device == "no-such-device" && a.description.contains("bora devices") && a.description.contains("plughw:")
        }
        #expect { try AudioCapture(device: "hw:37,0") } throws: { e in
            guard let a = e as? AudioError, case .deviceNotFound = a else { return false }
            return true
        }
    }

    /// Real-time pacing: 1 s of audio takes ≈ 1 s; the consumer wakes within a period of each block.
    @Test func realtimePacingAndLatency() throws {
        let dir = ALSAFixture.dir
        var options = CaptureOptions()
        options.maxDeviceFrames = 16000
        options.realtime = true
        let capture = try AudioCapture(device: "mono16k", options: options)
        let started = Date()
        try capture.start()
        var buffer = [Float](repeating: 0, count: 4096)
        var latencies: [Double] = []
        var total = 0
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try capture.read(into: $0, timeoutMs: 2000) }
            if n > 0 { latencies.append(Double(capture.nanosSinceLastBlock) / 1e6) }
            total += n
            if n == 0 && capture.isFinished { break }
        }
        let elapsed = Date().timeIntervalSince(started)
        latencies.sort()
        let median = latencies[latencies.count / 2], worst = latencies.last ?? 0
        print("capture-to-consumer latency over \(latencies.count) blocks: median \(median) ms, max \(worst) ms (period 20 ms); 1 s took \(elapsed) s")
        #expect(total == 16000)
        #expect(elapsed >= 0.95 && elapsed < 2)
        #expect(median < 20)
        _ = dir
    }
}
