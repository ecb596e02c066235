/// RIFF/WAVE reading: PCM u8/s16/s24/s32 and IEEE float32/64, plain or WAVE_FORMAT_EXTENSIBLE.
enum WAVReader {
    struct Format {
        var tag: UInt16
        var channels: Int
        var sampleRate: Int
        var blockAlign: Int
        var bitsPerSample: Int
    }

    /// Where the samples are and how they are stored.
    struct Layout {
        var format: Format
        var encoding: String
        var dataOffset: Int
        var frames: Int
    }

    /// Decodes the whole file: the length is checked against `limits` from the header, then the
    /// frames are converted in chunks straight into the 16 kHz result (no source-rate copy of the
    /// signal); `release(n)` is told when the first n bytes are consumed. Same samples as `WAVStream`.
    static func decode(_ b: UnsafeRawBufferPointer, name: String, limits: AudioLimits = .default,
                       release: (Int) -> Void = { _ in }) throws(AudioError) -> AudioClip {
        let layout = try parse(b, name: name)
        let f = layout.format
        try limits.check(frames: layout.frames, rate: f.sampleRate, name: name)
        let chunkFrames = 4096
        let resampler = f.sampleRate == AudioClip.sampleRate ? nil
            : try Resampler(inputRate: f.sampleRate, outputRate: AudioClip.sampleRate, maxBlockFrames: chunkFrames)
        let total = resampler.map { (layout.frames * $0.upFactor + $0.downFactor - 1) / $0.downFactor } ?? layout.frames
        let room = total + (resampler.map { $0.maxOutputFrames(forInput: chunkFrames) + $0.maxOutputFrames(forInput: $0.halfTaps) } ?? 0)
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: chunkFrames)
        defer { scratch.deallocate() }
        var failure: AudioError?
        // Written in place: peak memory is the 16 kHz result plus one chunk.
        let out = [Float](unsafeUninitializedCapacity: room) { o, initialized in
            var written = 0, frame = 0
            defer { initialized = written }
            while frame < layout.frames {
                let n = min(chunkFrames, layout.frames - frame)
                let chunk = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
                do throws(AudioError) {
                    try downmix(b, dataOffset: layout.dataOffset + frame * f.blockAlign, frames: n, format: f, name: name, into: chunk)
                } catch {
                    failure = error
                    return
                }
                frame += n
                release(layout.dataOffset + frame * f.blockAlign)
                if let r = resampler {
                    written += r.process(UnsafeBufferPointer(chunk), into: UnsafeMutableBufferPointer(rebasing: o[written...]))
                } else {
                    (o.baseAddress! + written).initialize(from: scratch.baseAddress!, count: n)
                    written += n
                }
            }
            if let r = resampler {
                written += r.flush(into: UnsafeMutableBufferPointer(rebasing: o[written...]))
            }
            precondition(written == total, "WAV decode produced \(written) samples, expected \(total)")
        }
        if let failure { throw failure }
        return AudioClip(samples: out, sourceSampleRate: f.sampleRate,
                         sourceChannels: f.channels, sourceFormat: "wav \(layout.encoding)")
    }

    /// Validates the RIFF/WAVE header and finds the data chunk.
    static func parse(_ b: UnsafeRawBufferPointer, name: String) throws(AudioError) -> Layout {
        if AudioDecoder.startsWith(b, "RIFX") { throw .unsupportedEncoding(name: name, found: "big-endian RIFX WAV") }
        guard AudioDecoder.startsWith(b, "WAVE", at: 8) else { throw .unknownContainer(name: name) }
        var format: Format?
        var data: (offset: Int, count: Int)?
        let isRF64 = AudioDecoder.startsWith(b, "RF64")
        let riffSize = u32(b, 4)
        let riffUnknown = riffSize == 0 || riffSize == 0xFFFF_FFFF
        var rf64DataSize: UInt64?
        var offset = 12
        while offset + 8 <= b.count {
            let id = String(decoding: UnsafeRawBufferPointer(rebasing: b[offset..<offset + 4]), as: UTF8.self)
            let size = Int(u32(b, offset + 4))
            let body = offset + 8
            if id == "fmt " {
                guard size >= 16, body + 16 <= b.count else {
                    throw .truncatedHeader(name: name, neededBytes: body + max(16, size), fileBytes: b.count)
                }
                var f = Format(tag: u16(b, body), channels: Int(u16(b, body + 2)), sampleRate: Int(u32(b, body + 4)),
                               blockAlign: Int(u16(b, body + 12)), bitsPerSample: Int(u16(b, body + 14)))
                if f.tag == 0xFFFE {
                    guard size >= 40, body + 40 <= b.count else {
                        throw .truncatedHeader(name: name, neededBytes: body + 40, fileBytes: b.count)
                    }
                    f.tag = u16(b, body + 24)               // first two bytes of the SubFormat GUID
                }
                format = f
            } else if id == "ds64", isRF64, size >= 24, body + 24 <= b.count {
                // RF64 (EBU Tech 3306): 64-bit RIFF size, then the 64-bit data size.
                rf64DataSize = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: body + 8, as: UInt64.self))
            } else if id == "data" {
                let available = b.count - body
                if isRF64, size == 0xFFFF_FFFF, let big = rf64DataSize {
                    guard big <= UInt64(available) else {
                        throw .truncatedData(name: name, declaredBytes: Int(clamping: big), availableBytes: available)
                    }
                    data = (body, Int(big))
                } else if size == 0xFFFF_FFFF || size == 0, riffUnknown {
                    // A streaming recorder could not seek back to fill in the sizes: it left both the
                    // RIFF and the data size as placeholders (0 or 0xFFFFFFFF), so the data runs to
                    // the end of the file. A placeholder beside a real RIFF size is not that case.
                    data = (body, available)
                } else if size > available {
                    throw .truncatedData(name: name, declaredBytes: size, availableBytes: available)
                } else {
                    data = (body, size)
                }
                break
            }
            offset = body + size + (size & 1)
        }
        guard let f = format else {
            throw .truncatedHeader(name: name, neededBytes: max(offset + 8, 36), fileBytes: b.count)
        }
        let encoding = try encodingName(f, name: name)
        guard (1...255).contains(f.channels) else { throw .badChannelCount(name: name, channels: f.channels) }
        guard (1000...768_000).contains(f.sampleRate) else { throw .badSampleRate(name: name, rate: f.sampleRate) }
        let bytesPerSample = f.bitsPerSample / 8
        guard f.blockAlign == bytesPerSample * f.channels else {
            throw .unsupportedEncoding(name: name, found: "block align \(f.blockAlign) for \(f.channels) × \(f.bitsPerSample)-bit samples")
        }
        guard let d = data else {
            throw .truncatedHeader(name: name, neededBytes: offset + 8, fileBytes: b.count)
        }
        if d.count < f.blockAlign { throw .empty(name: name) }
        let frames = d.count / f.blockAlign
        return Layout(format: f, encoding: encoding, dataOffset: d.offset, frames: frames)
    }

    static func encodingName(_ f: Format, name: String) throws(AudioError) -> String {
        switch (f.tag, f.bitsPerSample) {
        case (1, 8): return "u8"
        case (1, 16): return "s16"
        case (1, 24): return "s24"
        case (1, 32): return "s32"
        case (3, 32): return "f32"
        case (3, 64): return "f64"
        case (1, let bits), (3, let bits):
            throw .unsupportedEncoding(name: name, found: "\(f.tag == 1 ? "PCM" : "float") with \(bits) bits per sample")
        case (2, _): throw .unsupportedEncoding(name: name, found: "Microsoft ADPCM (format 0x0002)")
        case (6, _): throw .unsupportedEncoding(name: name, found: "A-law (format 0x0006)")
        case (7, _): throw .unsupportedEncoding(name: name, found: "mu-law (format 0x0007)")
        case (0x11, _): throw .unsupportedEncoding(name: name, found: "IMA ADPCM (format 0x0011)")
        case (0x55, _): throw .unsupportedEncoding(name: name, found: "MP3 in WAV (format 0x0055)")
        default:
            let hex = String(f.tag, radix: 16)
            throw .unsupportedEncoding(name: name, found: "WAV format tag 0x\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex)")
        }
    }

    /// Converts interleaved frames to mono (mean of the channels), scaled to [-1, 1].
    static func downmix(_ b: UnsafeRawBufferPointer, dataOffset: Int, frames: Int, format f: Format, name: String,
                        into out: UnsafeMutableBufferPointer<Float>) throws(AudioError) {
        let ch = f.channels
        let inv = 1 / Float(ch)
        let base = b.baseAddress! + dataOffset
        for i in 0..<frames {
            let frame = base + i * f.blockAlign
            var acc: Float = 0
            for c in 0..<ch {
                let v: Float
                switch (f.tag, f.bitsPerSample) {
                case (1, 8): v = (Float(frame.load(fromByteOffset: c, as: UInt8.self)) - 128) * (1.0 / 128)
                case (1, 16): v = Float(Int16(littleEndian: frame.loadUnaligned(fromByteOffset: 2 * c, as: Int16.self))) * (1.0 / 32768)
                case (1, 24):
                    let p = frame + 3 * c
                    let u = Int32(p.load(as: UInt8.self)) << 8 | Int32(p.load(fromByteOffset: 1, as: UInt8.self)) << 16
                        | Int32(p.load(fromByteOffset: 2, as: UInt8.self)) << 24
                    v = Float(u >> 8) * (1.0 / 8_388_608)
                case (1, _): v = Float(Int32(littleEndian: frame.loadUnaligned(fromByteOffset: 4 * c, as: Int32.self))) * (1.0 / 2_147_483_648)
                case (3, 32):
                    v = Float(bitPattern: UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: 4 * c, as: UInt32.self)))
                    guard v.isFinite else { throw .nonFinite(name: name, frameIndex: i, channel: c) }
                default:
                    let d = Double(bitPattern: UInt64(littleEndian: frame.loadUnaligned(fromByteOffset: 8 * c, as: UInt64.self)))
                    guard d.isFinite else { throw .nonFinite(name: name, frameIndex: i, channel: c) }
                    v = Float(d)
                }
                acc += v
            }
            out[i] = ch == 1 ? acc : acc * inv
        }
    }

    @inline(__always) static func u16(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
        UInt16(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self))
    }
    @inline(__always) static func u32(_ b: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self))
    }
}

/// Writes mono WAV files atomically (temp file + rename).
public enum WAVWriter {
    public enum Format: Sendable { case s16, f32 }

    /// Writes `samples` (mono, nominal [-1, 1]) at `sampleRate` to `path`. s16 rounds to nearest and
    /// clips to [-32768, 32767] (so x·32768 of any s16 input round-trips exactly); f32 writes
    /// IEEE float (format tag 3). The file appears complete or not at all.
    public static func write(_ samples: UnsafeBufferPointer<Float>, sampleRate: Int, to path: String, format: Format) throws(AudioError) {
        guard (1000...768_000).contains(sampleRate) else { throw .badSampleRate(name: path, rate: sampleRate) }
        let bytesPerSample = format == .s16 ? 2 : 4
        let dataBytes = samples.count * bytesPerSample
        var header = [UInt8]()
        header.reserveCapacity(44)
        func put32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { header += $0 } }
        func put16(_ v: Int) { withUnsafeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian) { header += $0 } }
        header += Array("RIFF".utf8); put32(36 + dataBytes); header += Array("WAVEfmt ".utf8)
        put32(16); put16(format == .s16 ? 1 : 3); put16(1); put32(sampleRate); put32(sampleRate * bytesPerSample)
        put16(bytesPerSample); put16(8 * bytesPerSample)
        header += Array("data".utf8); put32(dataBytes)
        try FileIO.writeAtomically(path) { (w) throws(AudioError) in
            try w.write(header)
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let perChunk = chunk.count / bytesPerSample
            var i = 0
            while i < samples.count {
                let n = min(perChunk, samples.count - i)
                try chunk.withUnsafeMutableBytes { c in Result { () throws(AudioError) in
                    for j in 0..<n {
                        let x = samples[i + j]
                        if format == .s16 {
                            let q = x.isNaN ? 0 : Int16(clamping: Int((min(max(x, -2), 2) * 32768).rounded()))
                            c.storeBytes(of: q.littleEndian, toByteOffset: 2 * j, as: Int16.self)
                        } else {
                            c.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * j, as: UInt32.self)
                        }
                    }
                    try w.write(UnsafeRawBufferPointer(rebasing: c[0..<n * bytesPerSample]))
                } }.get()
                i += n
            }
        }
    }
}
