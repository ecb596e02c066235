// libFuzzer harness: the audio decoders (BoraAudio). Inputs starting with a zero byte are raw
// s16le at a rate picked by the second byte (then resampled to 16 kHz); everything else goes
// through AudioDecoder.decode (WAV by RIFF/RIFX/RF64 magic, Ogg Opus by OggS, else an error), and
// RIFF inputs also through WAVStream (the progressive reader of `bora listen`) from a file.
import BoraAudio
import Glibc

let rates = [8000, 11025, 16000, 22050, 44100, 48000, 1000, 768_000, 999, 96000, 32000, 12345]
let streamPath = "/dev/shm/bora-fuzz-audio-\(getpid()).wav"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var sink: Float = 0
    if size >= 2, data[0] == 0 {
        let rate = rates[Int(data[1]) % rates.count]
        if let clip = try? AudioDecoder.decode(bytes: UnsafeRawBufferPointer(rebasing: bytes[2...]), name: "fuzz.raw", rawSampleRate: rate) {
            sink += clip.samples.last ?? 0
        }
        blackHole(sink)
        return 0
    }
    if let clip = try? AudioDecoder.decode(bytes: bytes, name: "fuzz") {
        sink += clip.samples.reduce(0, +)
    }
    if size >= 4, data[0] == 0x52, data[1] == 0x49 {  // "RI": RIFF for the streaming reader
        let fd = open(streamPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if fd >= 0 {
            _ = write(fd, data, size)
            close(fd)
            if let stream = try? WAVStream(path: streamPath) {
                var buffer = [Float](repeating: 0, count: 1024)
                var rounds = 0
                while rounds < 10_000, let n = try? buffer.withUnsafeMutableBufferPointer({ try stream.read(into: $0) }), n > 0 {
                    sink += buffer[n - 1]; rounds += 1
                }
            }
        }
    }
    blackHole(sink)
    return 0
}

@inline(never) func blackHole(_ x: Float) { if x.bitPattern == 0x7fc0_dead { print("") } }
