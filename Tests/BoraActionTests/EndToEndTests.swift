import BoraAudio
import BoraCore
import BoraIntent
import BoraSpeech
import Foundation
import Testing
@testable import BoraAction

/// whisper-tiny.en from the model cache, or nil (test skipped) when absent.
func whisperPath() -> String? {
    let env = ProcessInfo.processInfo.environment
    let cache = env["BORA_CACHE"] ?? NSHomeDirectory() + "/.cache/bora"
    let dir = (env["BORA_MODELS"] ?? cache + "/models") + "/whisper-tiny.en"
    guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir),
          let gguf = files.sorted().first(where: { $0.hasSuffix(".gguf") }) else { return nil }
    return dir + "/" + gguf
}

/// Runs a tool by name (Dispatcher takes absolute paths only: /usr/bin/env does the PATH search).
func tool(_ argv: [String]) -> Bool {
    guard let r = try? Dispatcher.run(["/usr/bin/env"] + argv, timeoutSeconds: 30) else { return false }
    return r.exitCode == 0
}

@Suite struct EndToEndTests {
    /// espeak-ng speech (two commands separated by silence, then an out-of-context sentence),
    /// streamed through the Silero-free energy VAD, whisper-tiny.en and the smart_lights context:
    /// two exec actions with the right argv, one refusal, three audit records.
    @Test func spokenCommandsRunActions() throws {
        guard let model = whisperPath(), tool(["sh", "-c", "command -v espeak-ng && command -v sox"]) else {
            print("skipped: whisper-tiny.en, espeak-ng or sox missing"); return
        }
        let dir = tempDir()
        #expect(tool(["espeak-ng", "-w", dir + "/a.wav", "turn on the lights in the kitchen"]))
        #expect(tool(["espeak-ng", "-w", dir + "/b.wav", "turn off the lights in the garage"]))
        #expect(tool(["espeak-ng", "-w", dir + "/c.wav", "what is the weather like today"]))
        #expect(tool(["sox", "-n", "-r", "22050", "-c", "1", dir + "/s.wav", "trim", "0", "1.0"]))
        #expect(tool(["sox", dir + "/s.wav", dir + "/a.wav", dir + "/s.wav", dir + "/b.wav", dir + "/s.wav", dir + "/c.wav",
                      dir + "/s.wav", "-r", "16000", dir + "/stream.wav"]))
        let out = dir + "/argv.txt"
        let script = try argvScript(in: dir, out: out)
        let actions = try ActionsFile.parse(yaml: """
        actions:
          - intent: changeLightState
            exec: ["/bin/sh", "\(script)", "{state}", "{location}"]
            min_confidence: 0.5
        """)
        let contexts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Models/contexts/smart_lights.yaml").path
        let context = try Context.load(path: contexts)
        try actions.validate(against: context)
        let kernels = try KernelSet.fromEnvironment()
        let whisper = try WhisperModel(path: model, kernels: kernels)
        let session = WhisperSession(model: whisper, matmul: Matmul(kernels: kernels, pool: ThreadPool(threads: 2)), maxBeam: 3)
        let recognizer = try CommandRecognizer(session: session, context: context)
        let audit = try AuditLog(directory: dir + "/audit")
        let loop = ListenLoop(segmenter: try SpeechSegmenter(detector: try EnergyVAD()), recognizer: recognizer,
                              actions: actions, audit: audit, stdoutLine: { _ in }, statusLine: { _ in })
        let clip = try AudioDecoder.load(path: dir + "/stream.wav")
        let summary = try loop.run(source: FileSource(samples: clip.samples, realtime: false))
        #expect(summary.utterances == 3 && summary.actionsRun == 2)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "on\nkitchen\noff\ngarage\n")
        let lines = try String(contentsOfFile: dir + "/audit/audit.jsonl", encoding: .utf8).split(separator: "\n")
        // Each action: its write-ahead `executing` record, then the outcome; plus the not-understood one.
        #expect(lines.count == 5)
        #expect(lines.filter { $0.contains("\"decision\":\"executing\"") }.count == 2)
        #expect(lines.filter { $0.contains("\"reason\":\"not-understood\"") }.count == 1)
    }
}
