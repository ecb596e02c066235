import ArgumentParser
import BoraAudio
import Foundation

/// Maps device and I/O failures (not bad audio data) to the runtime exit code 1.
private func runtimeIfDevice<T>(_ body: () throws(AudioError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        if error.isInputError { throw error }
        throw BoraRuntimeError(error.description)
    }
}

/// `bora devices`: capture hardware (like `arecord -l`) and capture PCM names from the ALSA configuration.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List audio capture devices (cards like `arecord -l`, plus ALSA PCM names).",
        discussion: "Pass a name to `bora record --device`. plughw:CARD,DEV lets ALSA convert formats the hardware refuses."
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        _ = global.bootstrapLogging()
        let hardware = AudioDevices.captureHardware()
        print("Capture hardware:")
        if hardware.isEmpty { print("  (none found)") }
        for h in hardware {
            print("  card \(h.card): \(h.cardID) [\(h.cardName)], device \(h.device): \(h.deviceName)  →  --device \(h.plugName)  (raw: \(h.hwName))")
        }
        print("PCM names (ALSA configuration):")
        let names = AudioDevices.capturePCMNames()
        if names.isEmpty { print("  (none)") }
        for n in names { print("  \(n.name)" + (n.description.isEmpty ? "" : "  — \(n.description)")) }
    }
}

/// `bora record`: captures from an ALSA device to a 16 kHz mono WAV (s16) or Ogg Opus file.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record 16 kHz mono audio from an ALSA capture device to OUT.wav or OUT.opus.",
        discussion: "List devices with `bora devices`. The device's own rate/format/channels are converted to 16 kHz mono."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "ALSA PCM name: default, hw:1,0, plughw:1,0, or any PCM from the ALSA configuration.") var device = "default"
    @Option(help: "Seconds to record.") var seconds: Double
    @Flag(help: "Pace reads to real time (for file/null PCMs, which deliver instantly); reports capture-to-consumer latency.") var realtime = false
    @Option(help: "Opus bitrate in bits per second (OUT.opus only).") var bitrate = 32000
    @Argument(help: "Output file: .wav (s16) or .opus/.ogg (Ogg Opus).") var output: String

    func validate() throws {
        guard seconds > 0 && seconds <= 86_400 else { throw ValidationError("--seconds must be in (0, 86400]") }
        let lower = output.lowercased()
        guard lower.hasSuffix(".wav") || lower.hasSuffix(".opus") || lower.hasSuffix(".ogg") else {
            throw ValidationError("OUT must end in .wav, .opus or .ogg")
        }
    }

    func run() throws {
        let log = global.bootstrapLogging()
        var options = CaptureOptions()
        options.maxSeconds = seconds
        options.realtime = realtime
        if !realtime { options.ringSeconds = seconds + 1 }    // file PCMs outrun any consumer: keep all
        let capture = try runtimeIfDevice { () throws(AudioError) in try AudioCapture(device: device, options: options) }
        let f = capture.format
        log.info("capture: \(f.device) \(f.sampleFormat.rawValue) \(f.sampleRate) Hz × \(f.channels), period \(f.periodFrames) frames, buffer \(f.bufferFrames)")
        var samples: [Float] = []
        samples.reserveCapacity(Int(seconds * Double(capture.sampleRate)) + 1024)
        var buffer = [Float](repeating: 0, count: 4096)
        var latenciesMs: [Double] = []
        try runtimeIfDevice { () throws(AudioError) in
            try capture.start()
            while true {
                let n = try buffer.withUnsafeMutableBufferPointer { b in
                    Result { () throws(AudioError) in try capture.read(into: b, timeoutMs: 2000) }
                }.get()
                if n > 0 && realtime { latenciesMs.append(Double(capture.nanosSinceLastBlock) / 1e6) }
                samples += buffer[0..<n]
                if n == 0 && capture.isFinished { break }
            }
        }
        let stats = capture.stats
        if output.lowercased().hasSuffix(".wav") {
            try runtimeIfDevice { () throws(AudioError) in
                try samples.withUnsafeBufferPointer { b in
                    Result { () throws(AudioError) in try WAVWriter.write(b, sampleRate: capture.sampleRate, to: output, format: .s16) }
                }.get()
            }
        } else {
            try runtimeIfDevice { () throws(AudioError) in
                try samples.withUnsafeBufferPointer { b in
                    Result { () throws(AudioError) in try OpusFileWriter(bitrate: bitrate).write(b, to: output) }
                }.get()
            }
        }
        var line = "recorded \(samples.count) samples (\(String(format: "%.2f", Double(samples.count) / Double(capture.sampleRate))) s) from \(f.device) "
            + "[\(f.sampleFormat.rawValue) \(f.sampleRate) Hz × \(f.channels)] to \(output); overruns \(stats.overruns), dropped \(stats.droppedSamples)"
        if !latenciesMs.isEmpty {
            latenciesMs.sort()
            line += String(format: "; capture-to-consumer latency median %.3f ms, max %.3f ms (period %.1f ms)",
                           latenciesMs[latenciesMs.count / 2], latenciesMs.last!, Double(f.periodFrames) * 1000 / Double(f.sampleRate))
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
