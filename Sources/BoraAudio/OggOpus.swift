import COpus
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Ogg Opus reading (RFC 7845) through libogg's framing and libopus decoding at
/// `AudioClip.sampleRate` (16 kHz, one of the rates libopus decodes to):
/// the first Opus logical stream is decoded, pre-skip is dropped and the end is trimmed by
/// the last page's granule position; channels are averaged to mono; output gain is applied.
enum OggOpusReader {
    static let rate = AudioClip.sampleRate
    /// The rate of Ogg Opus granule positions and pre-skip, fixed by RFC 7845 whatever the
    /// encoder's or decoder's rate.
    static let granuleRate = 48000
    /// Granule units per decoded sample (3 at 16 kHz).
    static let granuleRatio = granuleRate / rate

    struct Head {
        var channels: Int
        var preSkip: Int
        var inputRate: Int
        var gainQ8: Int
        var family: Int
        var streams: Int
        var coupled: Int
        var mapping: [UInt8]
    }

    /// Decodes the first Opus stream. The bytes go to libogg 64 KiB at a time (no second copy of the
    /// file); more than `maxSamples` decoded 16 kHz samples is `.tooLong` (`limitSeconds` for the message).
    static func decode(_ bytes: UnsafeRawBufferPointer, name: String, maxSamples: Int = Int.max,
                       limitSeconds: Double = 0) throws(AudioError) -> AudioClip {
        var sync = ogg_sync_state()
        ogg_sync_init(&sync)
        defer { ogg_sync_clear(&sync) }
        var fed = 0
        /// Hands libogg the next piece of the file; false at the end.
        func feed() throws(AudioError) -> Bool {
            guard fed < bytes.count else { return false }
            let n = min(1 << 16, bytes.count - fed)
            guard let buffer = ogg_sync_buffer(&sync, n) else { throw .oggCorrupt(name: name, detail: "ogg_sync_buffer failed") }
            memcpy(buffer, bytes.baseAddress! + fed, n)
            ogg_sync_wrote(&sync, n)
            fed += n
            return true
        }

        var stream = ogg_stream_state()
        var serial: Int32?
        defer { if serial != nil { ogg_stream_clear(&stream) } }
        var head: Head?
        var sawTags = false
        var otherCodec: String?
        var lastGranule: Int64 = -1
        var decoder = Decoder()
        defer { decoder.free() }
        var interleaved = [Float](repeating: 0, count: 5760 * 8)
        var mono = [Float]()
        var page = ogg_page()
        var packet = ogg_packet()
        var skipped = 0, damaged = 0  // unsynced stretches; those after the Opus stream began

        while true {
            let r = ogg_sync_pageout(&sync, &page)
            if r == 0 {
                if try feed() { continue }
                break
            }
            if r < 0 { skipped += 1; if serial != nil { damaged += 1 }; continue }
            if serial == nil {
                guard ogg_page_bos(&page) != 0 else { continue }
                let body = UnsafeRawBufferPointer(start: page.body, count: page.body_len)
                if AudioDecoder.startsWith(body, "OpusHead") {
                    serial = ogg_page_serialno(&page)
                    ogg_stream_init(&stream, serial!)
                } else {
                    if AudioDecoder.startsWith(body, "\u{01}vorbis") { otherCodec = "Ogg Vorbis" }
                    else if AudioDecoder.startsWith(body, "\u{7F}FLAC") { otherCodec = "Ogg FLAC" }
                    else if AudioDecoder.startsWith(body, "Speex") { otherCodec = "Ogg Speex" }
                    continue
                }
            }
            guard ogg_page_serialno(&page) == serial! else { continue }
            if ogg_stream_pagein(&stream, &page) != 0 { throw .oggCorrupt(name: name, detail: "page rejected by ogg_stream_pagein") }
            let granule = ogg_page_granulepos(&page)
            if granule >= 0 && head != nil { lastGranule = granule }
            while true {
                let p = ogg_stream_packetout(&stream, &packet)
                if p == 0 { break }
                if p < 0 { throw .oggCorrupt(name: name, detail: "missing data (a gap in page sequence numbers)") }
                let data = UnsafeRawBufferPointer(start: packet.packet, count: packet.bytes)
                if head == nil {
                    let h = try parseHead(data, name: name)
                    head = h
                    try decoder.create(h, name: name)
                    continue
                }
                if !sawTags {
                    guard AudioDecoder.startsWith(data, "OpusTags") else { throw .oggCorrupt(name: name, detail: "second packet is not OpusTags") }
                    sawTags = true
                    continue
                }
                let frames = try interleaved.withUnsafeMutableBufferPointer { out in
                    Result { () throws(AudioError) in try decoder.decode(data, into: out, maxFrames: 5760 / granuleRatio * 2, name: name) }
                }.get()
                let ch = head!.channels
                let inv = 1 / Float(ch)
                for i in 0..<frames {
                    var acc: Float = 0
                    for c in 0..<ch { acc += interleaved[i * ch + c] }
                    mono.append(acc * inv)
                }
                // Stop a runaway decode early; the pre-skip and the end trim (at most one packet,
                // 1920 samples) are dropped later, where the exact length is checked.
                if mono.count > maxSamples &+ (h0PreSkip(head) + 1921) {
                    throw .tooLong(name: name, seconds: Double(mono.count) / Double(rate), limitSeconds: limitSeconds)
                }
            }
            // A granule on the header pages is 0; only audio pages count.
            if granule >= 0 && head != nil && sawTags { lastGranule = granule }
        }
        guard let h = head else {
            if let codec = otherCodec { throw .unsupportedEncoding(name: name, found: codec) }
            throw .oggCorrupt(name: name, detail: skipped > 0 ? "no Ogg pages found" : "no Opus stream (no OpusHead packet)")
        }
        guard sawTags else { throw .oggCorrupt(name: name, detail: "stream ends before the OpusTags packet") }
        // A bad page checksum inside the stream means lost audio: report it rather than decode around it.
        if damaged > 0 { throw .oggCorrupt(name: name, detail: "\(damaged) damaged Ogg page(s) (bad checksum); the file is corrupt") }
        let preSkip = (h.preSkip + granuleRatio / 2) / granuleRatio
        var end = mono.count
        if lastGranule >= 0 {
            let valid = Int(lastGranule) - h.preSkip
            end = min(end, preSkip + max(0, (valid + granuleRatio / 2) / granuleRatio))
        }
        if end <= preSkip { throw .empty(name: name) }
        if end - preSkip > maxSamples {
            throw .tooLong(name: name, seconds: Double(end - preSkip) / Double(rate), limitSeconds: limitSeconds)
        }
        var samples = Array(mono[preSkip..<end])
        if h.gainQ8 != 0 {
            let g = Float(pow(10, Double(h.gainQ8) / (20 * 256)))
            for i in samples.indices { samples[i] *= g }
        }
        return AudioClip(samples: samples, sourceSampleRate: h.inputRate > 0 ? h.inputRate : granuleRate,
                         sourceChannels: h.channels, sourceFormat: "ogg opus")
    }

    static func h0PreSkip(_ head: Head?) -> Int { (head?.preSkip ?? 0) / granuleRatio }

    static func parseHead(_ d: UnsafeRawBufferPointer, name: String) throws(AudioError) -> Head {
        guard d.count >= 19, AudioDecoder.startsWith(d, "OpusHead") else {
            throw .oggCorrupt(name: name, detail: "OpusHead packet is \(d.count) bytes, needs 19")
        }
        let version = d[8]
        guard version >> 4 == 0 else { throw .unsupportedEncoding(name: name, found: "Ogg Opus version \(version)") }
        var h = Head(channels: Int(d[9]), preSkip: Int(WAVReader.u16(d, 10)), inputRate: Int(WAVReader.u32(d, 12)),
                     gainQ8: Int(Int16(bitPattern: WAVReader.u16(d, 16))), family: Int(d[18]), streams: 1,
                     coupled: d[9] > 1 ? 1 : 0, mapping: [0, 1])
        guard h.channels >= 1 else { throw .badChannelCount(name: name, channels: 0) }
        if h.family == 0 {
            guard h.channels <= 2 else { throw .oggCorrupt(name: name, detail: "mapping family 0 with \(h.channels) channels") }
        } else {
            guard d.count >= 21 + h.channels else { throw .oggCorrupt(name: name, detail: "OpusHead channel mapping table is cut off") }
            h.streams = Int(d[19])
            h.coupled = Int(d[20])
            h.mapping = Array(d[21..<21 + h.channels])
        }
        return h
    }

    /// One libopus decoder (single or multistream) at 16 kHz.
    struct Decoder {
        var single: OpaquePointer?
        var multi: OpaquePointer?
        var channels = 1

        mutating func create(_ h: Head, name: String) throws(AudioError) {
            var err: Int32 = 0
            channels = h.channels
            if h.family == 0 {
                single = opus_decoder_create(Int32(OggOpusReader.rate), Int32(h.channels), &err)
                if single == nil || err != OPUS_OK { throw .opusCorrupt(name: name, call: "opus_decoder_create", code: err) }
            } else {
                multi = h.mapping.withUnsafeBufferPointer {
                    opus_multistream_decoder_create(Int32(OggOpusReader.rate), Int32(h.channels), Int32(h.streams),
                                                    Int32(h.coupled), $0.baseAddress!, &err)
                }
                if multi == nil || err != OPUS_OK { throw .opusCorrupt(name: name, call: "opus_multistream_decoder_create", code: err) }
            }
        }

        func decode(_ data: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>, maxFrames: Int, name: String) throws(AudioError) -> Int {
            guard let base = data.baseAddress, data.count > 0 else { return 0 }   // empty packet: nothing to decode
            let ptr = base.assumingMemoryBound(to: UInt8.self)
            let n: Int32
            if let s = single {
                n = opus_decode_float(s, ptr, Int32(data.count), out.baseAddress!, Int32(maxFrames), 0)
            } else {
                n = opus_multistream_decode_float(multi!, ptr, Int32(data.count), out.baseAddress!, Int32(maxFrames), 0)
            }
            if n < 0 { throw .opusCorrupt(name: name, call: "opus_decode_float", code: n) }
            return Int(n)
        }

        mutating func free() {
            if let s = single { opus_decoder_destroy(s); single = nil }
            if let m = multi { opus_multistream_decoder_destroy(m); multi = nil }
        }
    }
}

/// Writes mono Float32 at `AudioClip.sampleRate` (16 kHz) to an Ogg Opus file (RFC 7845) that `opusdec` and other players
/// read: 20 ms frames, pre-skip = the encoder's lookahead, the end trimmed by the final granule
/// position so the decoded length equals the input length. Written atomically (temp + rename).
public struct OpusFileWriter: Sendable {
    /// Target bitrate in bits per second (libopus accepts 500…512000).
    public var bitrate: Int
    /// Encoder complexity 0…10 (10 is best and slowest).
    public var complexity: Int

    public init(bitrate: Int = 32000, complexity: Int = 10) {
        self.bitrate = bitrate
        self.complexity = complexity
    }

    /// The encoder's rate: the rate of the samples it is given.
    static let rate = AudioClip.sampleRate
    /// RFC 7845 granule units (48 kHz) per input sample.
    static let granuleRatio = OggOpusReader.granuleRate / rate
    static let frameSamples = rate / 50   // 20 ms

    /// Encodes `samples` (mono at `AudioClip.sampleRate`, nominal [-1, 1]) into `path` (mode 0644, atomically).
    public func write(_ samples: UnsafeBufferPointer<Float>, to path: String) throws(AudioError) {
        let bytes = try encode(samples)
        try FileIO.writeAtomically(path) { (w) throws(AudioError) in try w.write(bytes) }
    }

    /// Encodes `samples` (mono at `AudioClip.sampleRate`, nominal [-1, 1]) into the bytes of an Ogg Opus file.
    public func encode(_ samples: UnsafeBufferPointer<Float>) throws(AudioError) -> [UInt8] {
        var err: Int32 = 0
        guard let enc = opus_encoder_create(Int32(Self.rate), 1, OPUS_APPLICATION_AUDIO, &err), err == OPUS_OK else {
            throw .opusEncoder(call: "opus_encoder_create", code: err)
        }
        defer { opus_encoder_destroy(enc) }
        var rc = bora_opus_set_bitrate(enc, Int32(bitrate))
        if rc != OPUS_OK { throw .opusEncoder(call: "OPUS_SET_BITRATE(\(bitrate))", code: rc) }
        rc = bora_opus_set_complexity(enc, Int32(complexity))
        if rc != OPUS_OK { throw .opusEncoder(call: "OPUS_SET_COMPLEXITY(\(complexity))", code: rc) }
        var lookahead: Int32 = 0
        rc = bora_opus_get_lookahead(enc, &lookahead)
        if rc != OPUS_OK { throw .opusEncoder(call: "OPUS_GET_LOOKAHEAD", code: rc) }
        let preSkip = Int(lookahead) * Self.granuleRatio

        var os = ogg_stream_state()
        ogg_stream_init(&os, Int32.random(in: 1...Int32.max))
        defer { ogg_stream_clear(&os) }

        var head = Array("OpusHead".utf8) + [1, 1]
        withUnsafeBytes(of: UInt16(preSkip).littleEndian) { head += $0 }
        withUnsafeBytes(of: UInt32(Self.rate).littleEndian) { head += $0 }
        head += [0, 0, 0]                                   // output gain 0, mapping family 0
        let vendor = Array("Bora (\(String(cString: opus_get_version_string())))".utf8)
        var tags = Array("OpusTags".utf8)
        withUnsafeBytes(of: UInt32(vendor.count).littleEndian) { tags += $0 }
        tags += vendor
        tags += [0, 0, 0, 0]                                // no user comments

        var out = [UInt8]()
        do {
            func submit(_ bytes: UnsafeMutableRawBufferPointer, bos: Bool, eos: Bool, granule: Int64, number: Int64, flush: Bool) throws(AudioError) {
                var p = ogg_packet(packet: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes: bytes.count,
                                   b_o_s: bos ? 1 : 0, e_o_s: eos ? 1 : 0, granulepos: granule, packetno: number)
                ogg_stream_packetin(&os, &p)
                var page = ogg_page()
                while (flush ? ogg_stream_flush(&os, &page) : ogg_stream_pageout(&os, &page)) != 0 {
                    out.append(contentsOf: UnsafeRawBufferPointer(start: page.header, count: page.header_len))
                    out.append(contentsOf: UnsafeRawBufferPointer(start: page.body, count: page.body_len))
                }
            }
            try head.withUnsafeMutableBytes { b in Result { () throws(AudioError) in try submit(b, bos: true, eos: false, granule: 0, number: 0, flush: true) } }.get()
            try tags.withUnsafeMutableBytes { b in Result { () throws(AudioError) in try submit(b, bos: false, eos: false, granule: 0, number: 1, flush: true) } }.get()

            // Encode input + lookahead samples (zero padded to whole frames) so every input sample is out.
            let total = samples.count + Int(lookahead)
            let frameCount = max(1, (total + Self.frameSamples - 1) / Self.frameSamples)
            var frame = [Float](repeating: 0, count: Self.frameSamples)
            var packet = [UInt8](repeating: 0, count: 4000)
            for k in 0..<frameCount {
                for i in 0..<Self.frameSamples {
                    let j = k * Self.frameSamples + i
                    frame[i] = j < samples.count ? samples[j] : 0
                }
                let n = opus_encode_float(enc, frame, Int32(Self.frameSamples), &packet, Int32(packet.count))
                if n < 0 { throw .opusEncoder(call: "opus_encode_float", code: n) }
                let last = k == frameCount - 1
                let granule = last ? Int64(preSkip + samples.count * Self.granuleRatio) : Int64((k + 1) * Self.frameSamples * Self.granuleRatio)
                try packet.withUnsafeMutableBytes { b in
                    Result { () throws(AudioError) in
                        try submit(UnsafeMutableRawBufferPointer(rebasing: b[0..<Int(n)]), bos: false, eos: last,
                                   granule: granule, number: Int64(k + 2), flush: last)
                    }
                }.get()
            }
        }
        return out
    }
}
