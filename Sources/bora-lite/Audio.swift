// bora-lite's capture commands (both builds; see BoraLite.swift), the same library calls and
// output as the host's `bora devices` and `bora record`:
//
//   bora-lite devices                     capture cards (like `arecord -l`) and ALSA PCM names
//   bora-lite record --seconds S [--device NAME] [--realtime] [--bitrate BPS] OUT.wav|OUT.opus|OUT.ogg
//
// `record` opens the ALSA PCM by name (default "default"; any PCM of the ALSA configuration,
// e.g. a `type file` capture PCM under ALSA_CONFIG_PATH), converts the device's rate, format and
// channels to 16 kHz mono and writes s16 WAV or Ogg Opus. Exit codes as the host's: 1 for a
// device or I/O failure (no such PCM, a format it refuses), 2 for usage.
import BoraAudio
import BoraCore

/// Device and I/O failures exit 1, bad audio data 3 (as `bora record`).
private func failure(_ error: AudioError) -> Failure {
    Failure(message: error.description, code: error.isInputError ? 3 : 1)
}

func devices() {
    let hardware = AudioDevices.captureHardware()
    var out = "Capture hardware:\n"
    if hardware.isEmpty { out += "  (none found)\n" }
    for h in hardware {
        out += "  card \(h.card): \(h.cardID) [\(h.cardName)], device \(h.device): \(h.deviceName)  →  --device \(h.plugName)  (raw: \(h.hwName))\n"
    }
    out += "PCM names (ALSA configuration):\n"
    let names = AudioDevices.capturePCMNames()
    if names.isEmpty { out += "  (none)\n" }
    for n in names { out += "  \(n.name)" + (n.description.isEmpty ? "" : "  — \(n.description)") + "\n" }
    emit(1, out)
}

/// Parses a decimal number of seconds such as "2", "0.5" or "12.25" (no exponent), without the
/// C library's locale-dependent strtod.
func decimal(_ text: String) -> Double? {
    var whole = 0.0, scale = 0.0, digits = 0
    for c in text.utf8 {
        if c == UInt8(ascii: ".") {
            guard scale == 0 else { return nil }
            scale = 1
        } else if c >= 48 && c <= 57 {
            if scale > 0 { scale /= 10; whole += Double(c - 48) * scale } else { whole = whole * 10 + Double(c - 48) }
            digits += 1
        } else {
            return nil
        }
    }
    return digits > 0 && digits <= 15 ? whole : nil
}

/// `x` with two decimals (Embedded Swift has no String(format:)).
func fixed2(_ x: Double) -> String {
    let hundredths = Int((x * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}

func record(_ args: Arguments) throws(Failure) {
    let usage = usageLine("record")
    guard args.positional.count == 1, let secondsText = args.values["--seconds"] else { throw Failure(message: usage, code: 2) }
    guard let seconds = decimal(secondsText), seconds > 0, seconds <= 86_400 else {
        throw Failure(message: "--seconds must be a number in (0, 86400]", code: 2)
    }
    let output = args.positional[0]
    let lower = output.lowercased()
    let wav = lower.hasSuffix(".wav")
    guard wav || lower.hasSuffix(".opus") || lower.hasSuffix(".ogg") else {
        throw Failure(message: "OUT must end in .wav, .opus or .ogg", code: 2)
    }
    let bitrate: Int
    do { bitrate = try args.int("--bitrate", default: 32000, range: 6000...510_000) } catch { throw Failure(message: error.message, code: 2) }
    let device = args.values["--device"] ?? "default"
    let realtime = args.flags.contains("--realtime")
    var options = CaptureOptions()
    options.maxSeconds = seconds
    options.realtime = realtime
    if !realtime { options.ringSeconds = seconds + 1 }   // file PCMs outrun any consumer: keep all
    let capture: AudioCapture
    do { capture = try AudioCapture(device: device, options: options) } catch { throw failure(error) }
    let f = capture.format
    var samples: [Float] = []
    samples.reserveCapacity(Int(seconds * Double(capture.sampleRate)) + 1024)
    var buffer = [Float](repeating: 0, count: 4096)
    do throws(AudioError) {
        try capture.start()
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { (b) throws(AudioError) -> Int in try capture.read(into: b, timeoutMs: 2000) }
            samples += buffer[0..<n]
            if n == 0 && capture.isFinished { break }
        }
        try samples.withUnsafeBufferPointer { (b) throws(AudioError) in
            if wav { try WAVWriter.write(b, sampleRate: capture.sampleRate, to: output, format: .s16) }
            else { try OpusFileWriter(bitrate: bitrate).write(b, to: output) }
        }
    } catch { throw failure(error) }
    let stats = capture.stats
    emit(2, "recorded \(samples.count) samples (\(fixed2(Double(samples.count) / Double(capture.sampleRate))) s) from \(f.device) "
         + "[\(f.sampleFormat.rawValue) \(f.sampleRate) Hz × \(f.channels)] to \(output); overruns \(stats.overruns), dropped \(stats.droppedSamples)\n")
}
