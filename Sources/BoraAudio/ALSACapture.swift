import BoraCore
import CALSA
import Synchronization
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Sample formats the capture path converts from (ALSA names in parentheses).
public enum CaptureSampleFormat: String, Sendable, CaseIterable {
    case s16 = "S16_LE", s32 = "S32_LE", s24 = "S24_LE" /* 24 bits in 32 */, s24packed = "S24_3LE", f32 = "FLOAT_LE"

    var alsa: snd_pcm_format_t {
        switch self {
        case .s16: return SND_PCM_FORMAT_S16_LE
        case .s32: return SND_PCM_FORMAT_S32_LE
        case .s24: return SND_PCM_FORMAT_S24_LE
        case .s24packed: return SND_PCM_FORMAT_S24_3LE
        case .f32: return SND_PCM_FORMAT_FLOAT_LE
        }
    }
    var bytesPerSample: Int {
        switch self { case .s16: return 2; case .s24packed: return 3; default: return 4 }
    }
}

/// How to open a capture device.
public struct CaptureOptions: Sendable {
    /// Period (ALSA's transfer unit, and the consumer's wake-up interval) in milliseconds.
    public var periodMs: Int = 20
    /// Ring size in seconds of 16 kHz audio; older audio is dropped (and counted) beyond it.
    public var ringSeconds: Double = 4
    /// Pace reads at `pace` × the nominal rate (1 = real time); nil reads as fast as the device
    /// delivers. File and null PCMs deliver as fast as they are read, so tests and the demo pace
    /// them; a sound card paces itself.
    public var pace: Double?
    /// `pace == 1`; setting it true sets `pace` to 1, false to nil.
    public var realtime: Bool {
        get { pace == 1 }
        set { pace = newValue ? 1 : nil }
    }
    /// Stop after this many device frames (a `type file` PCM returns stale data after its end);
    /// the resampler is then flushed, so N device frames give exactly ceil(N·16000/rate) samples.
    public var maxDeviceFrames: Int?
    /// Stop after this many seconds of device audio (used when `maxDeviceFrames` is nil).
    public var maxSeconds: Double?
    /// Force a device rate / channel count / format instead of negotiating (debugging and tests).
    public var deviceRate: Int?
    public var deviceChannels: Int?
    public var deviceFormat: CaptureSampleFormat?
    public init() {}
}

/// What the device agreed to. Audio is converted from this to 16 kHz mono Float32.
public struct CaptureFormat: Sendable, Equatable {
    public let device: String
    public let sampleFormat: CaptureSampleFormat
    public let sampleRate: Int
    public let channels: Int
    public let periodFrames: Int
    public let bufferFrames: Int
}

/// Counters, readable from any thread while capturing.
public struct CaptureStats: Sendable {
    /// Frames read from the device.
    public var deviceFrames: Int
    /// 16 kHz samples written to the ring.
    public var samples: Int
    /// ALSA overruns (-EPIPE) recovered with snd_pcm_prepare.
    public var overruns: Int
    /// 16 kHz samples dropped because the consumer fell behind.
    public var droppedSamples: Int
}

/// ALSA capture on a dedicated pthread into a `SampleRing` of 16 kHz mono Float32.
///
/// `init` opens the PCM by name (`default`, `hw:1,0`, `plughw:1,0`, any PCM of the ALSA
/// configuration) and negotiates: interleaved access; S16_LE, else S32_LE, S24_LE, S24_3LE,
/// FLOAT_LE; 1 channel, else the device's minimum (averaged to mono); 16 kHz, else the nearest
/// rate the hardware runs natively (ALSA's own resampler is disabled; Bora's `Resampler`
/// converts); periods of `periodMs`. `start` launches the capture thread, which only reads,
/// converts and writes into preallocated buffers and the ring: it never blocks on the consumer
/// and never allocates. Overruns (-EPIPE) are recovered with snd_pcm_prepare and counted; a
/// device that disappears ends capture with `AudioError.deviceGone`, thrown by `read` once the
/// audio before it has been consumed.
public final class AudioCapture: @unchecked Sendable {
    /// What the device agreed to (its own rate is `format.sampleRate`).
    public let format: CaptureFormat
    /// The rate of the samples `read` returns (`AudioClip.sampleRate`), whatever the device's.
    public let sampleRate = AudioClip.sampleRate
    public let ring: SampleRing
    private let options: CaptureOptions
    private let maxFrames: Int
    private var pcm: OpaquePointer?
    private let raw: UnsafeMutableRawPointer            // one period in the device format
    private let mono: UnsafeMutablePointer<Float>       // one period, mono, device rate
    private let converted: UnsafeMutablePointer<Float>  // one period at 16 kHz
    private let convertedCapacity: Int
    private let resampler: Resampler?
    private let wake: UnsafeMutablePointer<sem_t>
    private var thread: pthread_t?
    private let stopRequested = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let failureCode = Atomic<Int>(0)             // negative errno from the capture thread
    private let failureKind = Atomic<Int>(0)             // 1 = device gone, 2 = other ALSA error
    private let deviceFrames = Atomic<Int>(0)
    private let overrunCount = Atomic<Int>(0)
    /// CLOCK_MONOTONIC nanoseconds at which the newest block entered the ring.
    private let lastPushNanos = Atomic<Int>(0)

    /// Opens and configures `device`. Throws `deviceNotFound` (with how to list devices),
    /// `formatRefused` (suggesting plughw:), or `alsa` for any other failing call.
    public init(device: String, options: CaptureOptions = CaptureOptions()) throws(AudioError) {
        bora_alsa_silence_errors()
        self.options = options
        var handle: OpaquePointer?
        let rc = snd_pcm_open(&handle, device, SND_PCM_STREAM_CAPTURE, 0)
        if rc < 0 || handle == nil {
            if rc == -ENOENT || rc == -ENODEV || rc == -ENXIO || rc == -EINVAL {
                throw .deviceNotFound(device: device, message: alsaText(rc))
            }
            throw .alsa(call: "snd_pcm_open", device: device, code: rc, message: alsaText(rc))
        }
        var ok = false
        defer { if !ok { snd_pcm_close(handle) } }
        var hw: OpaquePointer?
        snd_pcm_hw_params_malloc(&hw)
        defer { snd_pcm_hw_params_free(hw) }
        func check(_ rc: Int32, _ call: String) throws(AudioError) {
            if rc < 0 { throw .alsa(call: call, device: device, code: rc, message: alsaText(rc)) }
        }
        try check(snd_pcm_hw_params_any(handle, hw), "snd_pcm_hw_params_any")
        try check(snd_pcm_hw_params_set_access(handle, hw, SND_PCM_ACCESS_RW_INTERLEAVED), "snd_pcm_hw_params_set_access(RW_INTERLEAVED)")
        _ = snd_pcm_hw_params_set_rate_resample(handle, hw, 0)   // native rates only: Bora resamples better

        let candidates = options.deviceFormat.map { [$0] } ?? CaptureSampleFormat.allCases
        guard let sampleFormat = candidates.first(where: { snd_pcm_hw_params_test_format(handle, hw, $0.alsa) == 0 }) else {
            throw .formatRefused(device: device, detail: "none of \(candidates.map { $0.rawValue }.joined(separator: ", "))")
        }
        try check(snd_pcm_hw_params_set_format(handle, hw, sampleFormat.alsa), "snd_pcm_hw_params_set_format(\(sampleFormat.rawValue))")

        var channels = UInt32(options.deviceChannels ?? 1)
        if snd_pcm_hw_params_test_channels(handle, hw, channels) != 0 {
            guard options.deviceChannels == nil else {
                throw .formatRefused(device: device, detail: "\(channels) channels")
            }
            snd_pcm_hw_params_get_channels_min(hw, &channels)
        }
        guard (1...64).contains(channels) else { throw .formatRefused(device: device, detail: "\(channels) channels") }
        try check(snd_pcm_hw_params_set_channels(handle, hw, channels), "snd_pcm_hw_params_set_channels(\(channels))")

        var rate = UInt32(options.deviceRate ?? AudioClip.sampleRate)
        var dir: Int32 = 0
        try check(snd_pcm_hw_params_set_rate_near(handle, hw, &rate, &dir), "snd_pcm_hw_params_set_rate_near(\(rate))")
        if let forced = options.deviceRate, Int(rate) != forced {
            throw .formatRefused(device: device, detail: "\(forced) Hz (nearest \(rate) Hz)")
        }
        guard (1000...768_000).contains(Int(rate)) else { throw .formatRefused(device: device, detail: "rate \(rate) Hz") }

        var period = snd_pcm_uframes_t(max(1, Int(rate) * options.periodMs / 1000))
        try check(snd_pcm_hw_params_set_period_size_near(handle, hw, &period, &dir), "snd_pcm_hw_params_set_period_size_near(\(period))")
        var bufferSize = period * 8
        try check(snd_pcm_hw_params_set_buffer_size_near(handle, hw, &bufferSize), "snd_pcm_hw_params_set_buffer_size_near(\(bufferSize))")
        try check(snd_pcm_hw_params(handle, hw), "snd_pcm_hw_params")
        snd_pcm_hw_params_get_period_size(hw, &period, &dir)
        snd_pcm_hw_params_get_buffer_size(hw, &bufferSize)
        try check(snd_pcm_prepare(handle), "snd_pcm_prepare")

        format = CaptureFormat(device: device, sampleFormat: sampleFormat, sampleRate: Int(rate), channels: Int(channels),
                               periodFrames: Int(period), bufferFrames: Int(bufferSize))
        pcm = handle
        maxFrames = options.maxDeviceFrames ?? options.maxSeconds.map { Int(($0 * Double(rate)).rounded()) } ?? Int.max
        let frames = format.periodFrames
        raw = .allocate(byteCount: frames * format.channels * sampleFormat.bytesPerSample, alignment: 16)
        mono = .allocate(capacity: frames)
        resampler = format.sampleRate == sampleRate ? nil
            : try Resampler(inputRate: format.sampleRate, outputRate: sampleRate, maxBlockFrames: frames)
        convertedCapacity = resampler.map { max($0.maxOutputFrames(forInput: frames), $0.maxOutputFrames(forInput: $0.halfTaps)) } ?? frames
        converted = .allocate(capacity: convertedCapacity)
        ring = SampleRing(capacity: Int(options.ringSeconds * Double(sampleRate)))
        wake = .allocate(capacity: 1)
        sem_init(wake, 0, 0)
        ok = true
    }

    deinit {
        stop()
        if let p = pcm { snd_pcm_close(p) }
        raw.deallocate()
        mono.deallocate()
        converted.deallocate()
        sem_destroy(wake)
        wake.deallocate()
    }

    /// Starts the capture thread (once).
    public func start() throws(AudioError) {
        guard thread == nil else { return }
        var t = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&t, nil, { arg in
            let capture = Unmanaged<AudioCapture>.fromOpaque(arg!).takeRetainedValue()
            capture.captureLoop()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<AudioCapture>.fromOpaque(context).release()
            throw .alsa(call: "pthread_create", device: format.device, code: -rc, message: errorText(rc))
        }
        thread = t
    }

    /// Stops the capture thread and waits for it (at most about one period). Called on the
    /// capture thread itself (its reference was the last one, so `deinit` runs there), the thread
    /// is detached instead: joining itself would fail and leak it.
    public func stop() {
        stopRequested.store(true, ordering: .relaxed)
        if let t = thread {
            if pthread_equal(t, pthread_self()) != 0 { pthread_detach(t) } else { pthread_join(t, nil) }
            thread = nil
        }
    }

    /// True once the capture thread has ended (maxDeviceFrames reached, stop, or an error).
    public var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Consumer: waits up to `timeoutMs` for audio and copies what is there (16 kHz mono).
    /// Returns 0 on timeout, or when capture has finished and everything was read
    /// (check `isFinished`). Throws the capture thread's error after the audio before it.
    public func read(into output: UnsafeMutableBufferPointer<Float>, timeoutMs: Int = 1000) throws(AudioError) -> Int {
        guard thread != nil || isFinished else { throw .captureNotRunning }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let ns = deadline.tv_nsec + timeoutMs % 1000 * 1_000_000
        deadline.tv_sec += timeoutMs / 1000 + ns / 1_000_000_000
        deadline.tv_nsec = ns % 1_000_000_000
        while true {
            let done = isFinished                            // read before draining: no audio can follow
            let n = ring.read(into: output)
            if n > 0 { return n }
            if done {
                let code = Int32(failureCode.load(ordering: .relaxed))
                switch failureKind.load(ordering: .relaxed) {
                case 1: throw .deviceGone(device: format.device, code: code, message: alsaText(code))
                case 2: throw .alsa(call: "snd_pcm_readi", device: format.device, code: code, message: alsaText(code))
                default: return 0
                }
            }
            if sem_timedwait(wake, &deadline) != 0 && errno == ETIMEDOUT { return 0 }
        }
    }

    public var stats: CaptureStats {
        CaptureStats(deviceFrames: deviceFrames.load(ordering: .relaxed), samples: ring.totalWritten,
                     overruns: overrunCount.load(ordering: .relaxed), droppedSamples: ring.dropped)
    }

    /// Nanoseconds (CLOCK_MONOTONIC) since the newest block entered the ring.
    public var nanosSinceLastBlock: Int { monotonicNanos() - lastPushNanos.load(ordering: .relaxed) }

    // MARK: capture thread: no allocation, no locks, no waiting on the consumer.

    private func captureLoop() {
        defer {
            finished.store(true, ordering: .releasing)
            sem_post(wake)
        }
        guard let pcm else { return }
        let channels = format.channels
        let rate = format.sampleRate
        var remaining = maxFrames
        var nextDeadline = monotonicNanos()
        while remaining > 0 && !stopRequested.load(ordering: .relaxed) {
            let want = min(format.periodFrames, remaining)
            let got = snd_pcm_readi(pcm, raw, snd_pcm_uframes_t(want))
            if got < 0 {
                let e = Int32(got)
                if e == -EPIPE {
                    overrunCount.add(1, ordering: .relaxed)
                    if snd_pcm_prepare(pcm) == 0 { continue }
                } else if e == -EINTR || e == -EAGAIN {
                    continue
                } else if e == -ESTRPIPE {
                    while snd_pcm_resume(pcm) == -EAGAIN { usleep(10_000) }
                    if snd_pcm_prepare(pcm) == 0 { continue }
                }
                failureCode.store(Int(e), ordering: .relaxed)
                failureKind.store(e == -ENODEV || e == -EBADFD || e == -EIO || e == -ENXIO ? 1 : 2, ordering: .relaxed)
                return
            }
            let frames = Int(got)
            if frames == 0 { continue }
            toMono(frames: frames, channels: channels)
            var out = converted
            var count = frames
            if let r = resampler {
                count = r.process(UnsafeBufferPointer(start: mono, count: frames),
                                  into: UnsafeMutableBufferPointer(start: converted, count: convertedCapacity))
            } else {
                out = mono
            }
            ring.write(UnsafeBufferPointer(start: out, count: count))
            deviceFrames.add(frames, ordering: .relaxed)
            lastPushNanos.store(monotonicNanos(), ordering: .relaxed)
            sem_post(wake)
            remaining -= frames
            if remaining == 0, let r = resampler {    // a bounded recording ends: flush the filter tail
                let tail = r.flush(into: UnsafeMutableBufferPointer(start: converted, count: convertedCapacity))
                ring.write(UnsafeBufferPointer(start: converted, count: tail))
                sem_post(wake)
            }
            if let pace = options.pace {
                nextDeadline += Int(Double(frames) * 1e9 / (Double(rate) * pace))
                var ts = timespec(tv_sec: nextDeadline / 1_000_000_000, tv_nsec: nextDeadline % 1_000_000_000)
                while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
            }
        }
    }

    /// Device format → mono Float32 (mean of channels), into `mono`.
    private func toMono(frames: Int, channels: Int) {
        let inv = 1 / Float(channels)
        switch format.sampleFormat {
        case .s16:
            let p = raw.assumingMemoryBound(to: Int16.self)
            for i in 0..<frames {
                var acc: Float = 0
                for c in 0..<channels { acc += Float(Int16(littleEndian: p[i * channels + c])) }
                mono[i] = acc * inv * (1.0 / 32768)
            }
        case .s32:
            let p = raw.assumingMemoryBound(to: Int32.self)
            for i in 0..<frames {
                var acc: Float = 0
                for c in 0..<channels { acc += Float(Int32(littleEndian: p[i * channels + c])) }
                mono[i] = acc * inv * (1.0 / 2_147_483_648)
            }
        case .s24:
            let p = raw.assumingMemoryBound(to: Int32.self)
            for i in 0..<frames {
                var acc: Float = 0
                for c in 0..<channels { acc += Float((Int32(littleEndian: p[i * channels + c]) << 8) >> 8) }
                mono[i] = acc * inv * (1.0 / 8_388_608)
            }
        case .s24packed:
            let p = raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<frames {
                var acc: Float = 0
                for c in 0..<channels {
                    let b = p + 3 * (i * channels + c)
                    acc += Float((Int32(b[0]) << 8 | Int32(b[1]) << 16 | Int32(b[2]) << 24) >> 8)
                }
                mono[i] = acc * inv * (1.0 / 8_388_608)
            }
        case .f32:
            let p = raw.assumingMemoryBound(to: Float.self)
            for i in 0..<frames {
                var acc: Float = 0
                for c in 0..<channels { let v = p[i * channels + c]; acc += v.isFinite ? v : 0 }
                mono[i] = acc * inv
            }
        }
    }
}

func alsaText(_ code: Int32) -> String { String(cString: snd_strerror(code)) }

func monotonicNanos() -> Int { Int(monotonicNanoseconds()) }
