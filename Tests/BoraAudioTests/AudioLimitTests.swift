import Foundation
import Testing
@testable import BoraAudio

/// Lengths are checked against the file and `AudioLimits` before samples are read (issue 29):
/// huge, non-audio and lying files end in a typed error at once, without reading them.
@Suite struct AudioLimitTests {
    /// A mono 16 kHz s16 WAV header declaring `dataBytes` (RIFF size `riffSize`, default consistent).
    static func wavHeader(dataBytes: UInt32, riffSize: UInt32? = nil) -> [UInt8] {
        var h = [UInt8]()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { h += $0 } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { h += $0 } }
        h += Array("RIFF".utf8); u32(riffSize ?? dataBytes &+ 36); h += Array("WAVEfmt ".utf8)
        u32(16); u16(1); u16(1); u32(16000); u32(32000); u16(2); u16(16)
        h += Array("data".utf8); u32(dataBytes)
        return h
    }

    /// Writes `header` and extends the file to `size` bytes with a hole (no disk used).
    static func sparseFile(_ path: String, header: [UInt8], size: Int) throws {
        try Data(header).write(to: URL(fileURLWithPath: path))
        #expect(truncate(path, off_t(size)) == 0)
    }

    /// The fuzz finding: a real 4 GiB WAV (37 hours at 16 kHz) aborted `vad`/`transcribe` after
    /// reading it whole ("failed to allocate 8589934592 bytes"). Now the header says it is too long.
    @Test func fourGiBWAVIsRefusedFromItsHeader() throws {
        let dir = TempDir()
        let path = dir.file("big.wav")
        let size = 4 << 30
        try Self.sparseFile(path, header: Self.wavHeader(dataBytes: UInt32(size - 44)), size: size)
        let t0 = Date()
        do {
            _ = try AudioDecoder.load(path: path)
            Issue.record("a 37-hour WAV was decoded")
        } catch {
            guard case let .tooLong(name, seconds, limit) = error else { Issue.record("got \(error)"); return }
            #expect(name == path && limit == 3600 && abs(seconds - Double(size - 44) / 32000) < 1)
            #expect(error.isInputError && error.description.contains("--max-audio-minutes"))
        }
        #expect(Date().timeIntervalSince(t0) < 1, "the limit must be checked before the samples are read")
    }

    /// A 4 GiB file that is not audio is recognized from its first bytes, not read whole.
    @Test func fourGiBNonAudioIsRefusedUnread() throws {
        let dir = TempDir()
        let path = dir.file("big.bin")
        try Self.sparseFile(path, header: Array("not audio at all".utf8), size: 4 << 30)
        let t0 = Date()
        #expect(throws: AudioError.unknownContainer(name: path)) { try AudioDecoder.load(path: path) }
        #expect(Date().timeIntervalSince(t0) < 1)
    }

    /// The fuzz finding: a data size of 0xFFFFFFFF with 1.5 s present was accepted as a streaming
    /// placeholder although the RIFF size is real; it is a length the file does not hold.
    @Test func placeholderDataSizeBesideARealRIFFSizeIsTruncatedData() throws {
        let dir = TempDir()
        let path = dir.file("ff.wav")
        let data = 48000   // 1.5 s
        try Data(Self.wavHeader(dataBytes: 0xFFFF_FFFF, riffSize: UInt32(data + 36)) + [UInt8](repeating: 0, count: data))
            .write(to: URL(fileURLWithPath: path))
        #expect(throws: AudioError.truncatedData(name: path, declaredBytes: 0xFFFF_FFFF, availableBytes: data)) {
            try AudioDecoder.load(path: path)
        }
        #expect(throws: AudioError.truncatedData(name: path, declaredBytes: 0xFFFF_FFFF, availableBytes: data)) {
            try WAVStream(path: path)
        }
    }

    /// What a recorder that cannot seek back writes — both sizes placeholders — still decodes to the end.
    @Test(arguments: [UInt32(0xFFFF_FFFF), 0])
    func streamingPlaceholdersRunToTheEnd(_ placeholder: UInt32) throws {
        let dir = TempDir()
        let path = dir.file("stream.wav")
        try Data(Self.wavHeader(dataBytes: placeholder, riffSize: placeholder) + [UInt8](repeating: 0, count: 48000))
            .write(to: URL(fileURLWithPath: path))
        #expect(try AudioDecoder.load(path: path).samples.count == 24000)
    }

    @Test func limitsAreAdjustable() throws {
        let dir = TempDir()
        let path = dir.file("3s.wav")
        try runTool(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", path, "synth", "3", "sine", "300"])
        #expect(try AudioDecoder.load(path: path, limits: AudioLimits(maxSeconds: 3)).samples.count == 48000)
        #expect(throws: AudioError.tooLong(name: path, seconds: 3, limitSeconds: 2)) {
            try AudioDecoder.load(path: path, limits: AudioLimits(maxSeconds: 2))
        }
        // raw s16le: the length comes from the file size
        let raw = dir.file("3s.raw")
        try runTool(["sox", path, "-t", "s16", raw])
        #expect(throws: AudioError.tooLong(name: raw, seconds: 3, limitSeconds: 2)) {
            try AudioDecoder.load(path: raw, rawSampleRate: 16000, limits: AudioLimits(maxSeconds: 2))
        }
        // Ogg Opus: refused by size before decoding, or by the decoded length while decoding
        let opus = dir.file("3s.opus")
        try runTool(["opusenc", "--quiet", path, opus])
        #expect(try AudioDecoder.load(path: opus, limits: AudioLimits(maxSeconds: 3)).samples.count == 48000)
        do {
            _ = try AudioDecoder.load(path: opus, limits: AudioLimits(maxSeconds: 1))
            Issue.record("a 3 s Opus file passed a 1 s limit")
        } catch {
            guard case .tooLong = error else { Issue.record("got \(error)"); return }
        }
        let fakeOgg = dir.file("big.opus")
        try Self.sparseFile(fakeOgg, header: Array("OggS".utf8) + [UInt8](repeating: 0, count: 60), size: 8 << 20)
        #expect(throws: AudioError.tooLarge(name: fakeOgg, bytes: 8 << 20, limitBytes: AudioLimits(maxSeconds: 60).maxOggBytes, limitSeconds: 60)) {
            try AudioDecoder.load(path: fakeOgg, limits: AudioLimits(maxSeconds: 60))
        }
    }

    /// A pipe has no size to check: at most `maxStreamBytes` are read from it.
    @Test func pipesAreReadUpToTheLimit() throws {
        let limits = AudioLimits(maxSeconds: 1)
        do {
            _ = try AudioDecoder.load(path: "/dev/zero", limits: limits)
            Issue.record("/dev/zero was decoded")
        } catch {
            guard case let .tooLarge(name, bytes, limitBytes, _) = error else { Issue.record("got \(error)"); return }
            #expect(name == "/dev/zero" && limitBytes == limits.maxStreamBytes && bytes > limitBytes && bytes <= limitBytes + 65536)
        }
    }
}
