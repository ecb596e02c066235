import Foundation
import Testing
@testable import BoraAudio

/// `WAVStream` must give exactly what `AudioDecoder.load` gives (same conversion, same resampler),
/// whatever sizes it is read in, for 16 kHz mono s16, 48 kHz stereo s24 and 44.1 kHz f32 files.
@Suite struct WAVStreamTests {
    @Test(arguments: [["-r", "16000", "-c", "1", "-b", "16"], ["-r", "48000", "-c", "2", "-b", "24"],
                      ["-r", "44100", "-c", "1", "-e", "floating-point", "-b", "32"]])
    func streamEqualsWholeFileDecode(_ options: [String]) throws {
        let dir = TempDir()
        let speech = try speechWAV(dir)
        let input = dir.file("in.wav")
        try runTool(["sox", speech] + options + [input])
        let whole = try AudioDecoder.load(path: input).samples
        let stream = try WAVStream(path: input)
        #expect(stream.totalSamples == whole.count)
        var got: [Float] = []
        var buffer = [Float](repeating: 0, count: 1000)
        var sizes = [1, 7, 333, 1000, 512]
        while !stream.isFinished {
            let size = sizes.removeFirst(); sizes.append(size)
            let n = try buffer.withUnsafeMutableBufferPointer { b in try stream.read(into: UnsafeMutableBufferPointer(rebasing: b[0..<size])) }
            got += buffer[0..<n]
            if n == 0 { break }
        }
        #expect(got.count == whole.count)
        #expect(zip(got, whole).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(options): streamed samples differ")
    }

    @Test func notAWAVIsATypedError() throws {
        let dir = TempDir()
        let path = dir.file("x.wav")
        try Data("not a wav file at all".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: AudioError.self) { try WAVStream(path: path) }
        #expect(throws: AudioError.fileNotFound(path: dir.file("missing.wav"))) { try WAVStream(path: dir.file("missing.wav")) }
    }
}
