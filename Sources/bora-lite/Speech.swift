// bora-lite's speech commands (both builds; see BoraLite.swift):
//
//   bora-lite transcribe [--model whisper-tiny.en] AUDIO... [-t THREADS] [--beam N] [--full-window] [--json] [--margins]
//
// The same library calls as `bora transcribe` (AudioDecoder.load, WhisperSession.transcribe with
// variable-length encoding unless --full-window). One line per file ("FILE: text" when several),
// or with --json one object per file: {"file", "kernel_set", "text", "token_ids",
// "encoder_positions"} — the token ids make x86 and ARM comparable exactly; --margins adds
// "margins", each greedy step's top-1 − top-2 logit of the last 30 s window (the end-of-text step
// included), to tell a near-tie from a real difference. A file that cannot be
// read is reported on stderr (and as {"file", "error"} with --json), the others still run; the
// exit code is then 3, as on the host.
import BoraAudio
import BoraCore
import BoraSpeech

func transcribe(_ args: Arguments) throws(Failure) {
    guard !args.positional.isEmpty else {
        throw Failure(message: usageLine("transcribe"), code: 2)
    }
    let beam: Int, threads: Int
    do {
        beam = try args.int("--beam", default: 1, range: 1...16)
        threads = try args.int("-t", default: ThreadPool.defaultThreadCount, range: 1...256)
    } catch { throw Failure(message: error.message, code: 2) }
    let kernels = try kernelSet()
    let model = try modelPath(args.values["--model"] ?? "whisper-tiny.en")
    let session: WhisperSession
    do { session = try WhisperSession(path: model, kernels: kernels, threads: threads, maxBeam: beam) } catch {
        throw Failure(message: error.description, code: 3)
    }
    let margins = args.flags.contains("--margins")
    session.recordsMargins = margins
    var options = TranscribeOptions()
    options.beam = beam
    options.fullWindow = args.flags.contains("--full-window")
    let json = args.flags.contains("--json")
    let files = args.positional
    var failed = false
    for file in files {
        do throws(Failure) {
            let clip: AudioClip
            do { clip = try AudioDecoder.load(path: file) } catch { throw Failure(message: error.description, code: 3) }
            let transcript: Transcript
            do {
                transcript = try clip.samples.withUnsafeBufferPointer { buffer throws(SpeechError) in
                    try session.transcribe(buffer, options: options)
                }
            } catch { throw Failure(message: error.description, code: 3) }
            if json {
                let ids = transcript.tokens.map { String($0) }.joined(separator: ",")
                var positions = 0
                for w in transcript.windows { positions += w.encoderPositions }
                let marginList = margins ? ",\"margins\":[" + session.lastGreedyMargins.map { "\($0)" }.joined(separator: ",") + "]" : ""
                emit(1, "{\"encoder_positions\":\(positions),\"file\":\(file.jsonQuoted),\"kernel_set\":\(kernels.name.jsonQuoted)\(marginList),"
                     + "\"text\":\(transcript.text.jsonQuoted),\"token_ids\":[\(ids)]}\n")
            } else {
                emit(1, files.count > 1 ? "\(file): \(transcript.text)\n" : transcript.text + "\n")
            }
        } catch {
            failed = true
            if json { emit(1, "{\"error\":\(error.message.jsonQuoted),\"file\":\(file.jsonQuoted)}\n") }
            emit(2, "\(programName): \(file): \(error.message)\n")
        }
    }
    if failed { throw Failure(message: "some files could not be transcribed (above)", code: 3) }
}

/// `bora-lite vad [--model silero-vad] AUDIO... [--json]`: the speech segments of each file, as `bora vad`
/// finds them (Silero VAD, default endpointer). --json: one object per file, {"file",
/// "duration_ms", "segments": [{"start_ms", "end_ms", "mean_probability"}]}.
func vad(_ args: Arguments) throws(Failure) {
    guard !args.positional.isEmpty else { throw Failure(message: usageLine("vad"), code: 2) }
    let kernels = try kernelSet()
    let model = try modelPath(args.values["--model"] ?? "silero-vad")
    let segmenter: SpeechSegmenter
    do { segmenter = try SpeechSegmenter(detector: try SileroVAD(path: model, kernels: kernels)) } catch {
        throw Failure(message: error.description, code: 3)
    }
    let json = args.flags.contains("--json")
    var failed = false
    for file in args.positional {
        do throws(Failure) {
            let clip: AudioClip
            do { clip = try AudioDecoder.load(path: file) } catch { throw Failure(message: error.description, code: 3) }
            let segments: [SpeechSegment]
            do { segments = try segmenter.segments(samples: clip.samples) } catch { throw Failure(message: error.description, code: 1) }
            let durationMs = Double(clip.samples.count) * 1000 / Double(AudioClip.sampleRate)
            if json {
                let list = segments.map { s in
                    "{\"end_ms\":\(s.endMs),\"mean_probability\":\(Double(s.meanProbability)),\"start_ms\":\(s.startMs)}"
                }.joined(separator: ",")
                emit(1, "{\"duration_ms\":\(durationMs),\"file\":\(file.jsonQuoted),\"kernel_set\":\(kernels.name.jsonQuoted),\"segments\":[\(list)]}\n")
            } else {
                emit(1, "\(file): \(segments.count) segment\(segments.count == 1 ? "" : "s")\n")
                for s in segments { emit(1, "  \(Int(s.startMs)) \(Int(s.endMs)) p=\(s.meanProbability)\n") }
            }
        } catch {
            failed = true
            if json { emit(1, "{\"error\":\(error.message.jsonQuoted),\"file\":\(file.jsonQuoted)}\n") }
            emit(2, "\(programName): \(file): \(error.message)\n")
        }
    }
    if failed { throw Failure(message: "some files could not be read (above)", code: 3) }
}
