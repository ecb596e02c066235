import BoraCore
import BoraGGUF
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hyper-parameters of a Silero VAD v6 model, read from the `silero-vad.*` GGUF metadata written
/// by tools/vad/convert.py.
public struct SileroConfig: Sendable, Equatable {
    /// The rate, Hz, of the audio the model takes: `silero-vad.sample_rate`. A GGUF without the
    /// key (written before the converter recorded it) is taken as 16000 (`AudioClip.sampleRate`),
    /// the rate of the 16 kHz branch tools/vad/convert.py extracts. Any other declared rate is
    /// refused (`VADError.unsupportedSampleRate`): BoraAudio delivers `AudioClip.sampleRate` only.
    public let sampleRate: Int
    /// New samples per frame (512 = 32 ms at 16 kHz).
    public let frameSamples: Int
    /// Samples of the previous frame prepended to each frame (64).
    public let contextSamples: Int
    /// STFT window (conv kernel) length and hop (conv stride), in samples.
    public let filterLength: Int
    public let hopLength: Int
    /// Reflect padding appended after the last sample before the STFT.
    public let paddingRight: Int
    /// Frequency bins (filterLength / 2 + 1); the basis has 2·bins rows (real, imaginary).
    public let bins: Int
    public let kernelSize: Int
    public let padding: Int
    /// Output channels and stride of each encoder convolution.
    public let channels: [Int]
    public let strides: [Int]
    public let hiddenSize: Int

    /// STFT frames per model frame: (context + frame + padding − filter) / hop + 1.
    public var stftFrames: Int { (contextSamples + frameSamples + paddingRight - filterLength) / hopLength + 1 }

    public init(gguf: GGUFFile) throws(VADError) {
        let arch = gguf.architecture ?? ""
        guard arch == "silero-vad" else { throw .unsupportedArchitecture(arch) }
        func int(_ key: String) throws(VADError) -> Int {
            guard let v = gguf.metadata["silero-vad.\(key)"] else { throw .missingMetadata("silero-vad.\(key)") }
            guard let i = v.int, i > 0, i <= 1 << 20 else { throw .badMetadata(key: "silero-vad.\(key)", reason: "expected a positive integer, found \(v)") }
            return i
        }
        func ints(_ key: String) throws(VADError) -> [Int] {
            guard let v = gguf.metadata["silero-vad.\(key)"] else { throw .missingMetadata("silero-vad.\(key)") }
            guard let a = v.array?.integers, !a.isEmpty, a.allSatisfy({ $0 > 0 && $0 <= 4096 }) else {
                throw .badMetadata(key: "silero-vad.\(key)", reason: "expected a non-empty array of positive integers")
            }
            return a
        }
        sampleRate = gguf.metadata["silero-vad.sample_rate"] == nil ? AudioClip.sampleRate : try int("sample_rate")
        guard sampleRate == AudioClip.sampleRate else {
            throw .unsupportedSampleRate(declared: sampleRate, supported: AudioClip.sampleRate)
        }
        frameSamples = try int("frame_samples")
        contextSamples = try int("context_samples")
        filterLength = try int("stft.filter_length")
        hopLength = try int("stft.hop_length")
        paddingRight = try int("stft.padding_right")
        bins = try int("stft.bins")
        kernelSize = try int("encoder.kernel_size")
        padding = try int("encoder.padding")
        hiddenSize = try int("lstm.hidden_size")
        channels = try ints("encoder.channels")
        strides = try ints("encoder.strides")
        guard strides.count == channels.count else {
            throw .badMetadata(key: "silero-vad.encoder.strides", reason: "\(strides.count) strides for \(channels.count) layers")
        }
        guard bins == filterLength / 2 + 1 else {
            throw .badMetadata(key: "silero-vad.stft.bins", reason: "\(bins) != filter_length/2+1")
        }
        let padded = contextSamples + frameSamples + paddingRight
        guard paddingRight < contextSamples + frameSamples, padded >= filterLength else {
            throw .badMetadata(key: "silero-vad.stft.padding_right", reason: "frame too short for the STFT")
        }
        var t = stftFrames
        for s in strides { t = (t + 2 * padding - kernelSize) / s + 1; guard t >= 1 else {
            throw .badMetadata(key: "silero-vad.encoder.strides", reason: "the encoder reduces the frame to nothing") } }
        guard t == 1, channels.last == hiddenSize else {
            throw .badMetadata(key: "silero-vad.encoder.channels", reason: "the encoder must end in one step of lstm.hidden_size channels")
        }
    }
}

/// One encoder convolution (kernel k, padding p, stride s) + bias + ReLU, run as a GEMM over
/// time-major activations: the weights are reordered at load from (out, in, k) to (out, k·in) so
/// the input of output step t is `k·in` contiguous floats of the zero-padded input.
struct SileroConv {
    let inChannels: Int, outChannels: Int, stride: Int, inSteps: Int, outSteps: Int
    let weight: UnsafePointer<Float>  // (outChannels rows of kernel·inChannels), owned by SileroVAD
    let bias: UnsafePointer<Float>    // (outChannels)
}

/// Silero VAD v6 (at the rate its GGUF declares: 16 kHz) on the tensor core. Frames are 512 new samples; the model sees them
/// with the previous frame's last 64 samples prepended and carries an LSTM state across frames,
/// as the package's `OnnxWrapper` does. One instance is one audio stream (not thread-safe).
///
/// Weights: the STFT basis, biases and decoder are views into the mapped GGUF; the encoder and
/// LSTM matrices are reordered once at load into one owned buffer. Every activation buffer is
/// allocated at init: `probability(frame:)` performs no heap allocation.
public final class SileroVAD: VoiceActivityDetector, @unchecked Sendable {
    public let config: SileroConfig
    public let file: GGUFFile
    public var frameSamples: Int { config.frameSamples }
    /// The rate its GGUF declares (`config.sampleRate`).
    public var sampleRate: Int { config.sampleRate }
    let kernels: KernelSet

    private let stftBasis: UnsafePointer<Float>  // (2·bins rows of filterLength)
    private let convs: [SileroConv]
    private let lstmWeight: UnsafePointer<Float>  // (4·hidden rows of 2·hidden): [W_ih | W_hh], gates i, f, g, o
    private let lstmBias: UnsafePointer<Float>    // (4·hidden) = b_ih + b_hh
    private let decoderWeight: UnsafePointer<Float>  // (hidden)
    private let decoderBias: Float

    // Buffers (one allocation, `owned`): weights reordered at load, then per-frame activations.
    private let owned: UnsafeMutableRawPointer
    private let input: UnsafeMutablePointer<Float>     // context + frame + reflect padding
    private let spectrum: UnsafeMutablePointer<Float>  // (stftFrames rows of 2·bins)
    private let layerIn: [UnsafeMutablePointer<Float>] // per conv: (inSteps + 2) zero-padded rows of inChannels
    private let lstmInput: UnsafeMutablePointer<Float> // [x (hidden) | h (hidden)]
    private let gates: UnsafeMutablePointer<Float>     // (4·hidden)
    private let cell: UnsafeMutablePointer<Float>      // (hidden)

    /// Opens `path` (GGUF, architecture `silero-vad`) and validates every tensor.
    public convenience init(path: String, kernels: KernelSet) throws(VADError) {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw .unreadableModel(path: path, reason: error.description) }
        try self.init(file: file, kernels: kernels)
    }

    /// Validates every tensor (presence, F32, shape from the metadata) and allocates all buffers.
    public init(file: GGUFFile, kernels: KernelSet) throws(VADError) {
        let c = try SileroConfig(gguf: file)
        config = c; self.file = file; self.kernels = kernels

        func tensor(_ name: String, _ shape: [Int]) throws(VADError) -> UnsafePointer<Float> {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.type == .f32 else { throw .wrongTensorType(tensor: name, type: t.type.description) }
            guard t.shape == shape else { throw .wrongShape(tensor: name, expected: shape, found: t.shape) }
            return t.data.assumingMemoryBound(to: Float.self)
        }
        let h = c.hiddenSize, k = c.kernelSize
        stftBasis = try tensor("stft.basis", [c.filterLength, 1, 2 * c.bins])  // ggml order (reverse of NumPy)

        // Layout of the owned buffer, in floats.
        var steps = [c.stftFrames], inChannels = [c.bins]
        for (i, s) in c.strides.enumerated() {
            steps.append((steps[i] + 2 * c.padding - k) / s + 1)
            inChannels.append(c.channels[i])
        }
        var convOffsets: [Int] = [], layerOffsets: [Int] = [], total = 0
        for i in 0..<c.channels.count { convOffsets.append(total); total += c.channels[i] * k * inChannels[i] }
        let lstmOffset = total; total += 4 * h * 2 * h
        let biasOffset = total; total += 4 * h
        let inputOffset = total; total += c.contextSamples + c.frameSamples + c.paddingRight
        let spectrumOffset = total; total += c.stftFrames * 2 * c.bins
        for i in 0..<c.channels.count { layerOffsets.append(total); total += (steps[i] + 2 * c.padding) * inChannels[i] }
        let lstmInputOffset = total; total += 2 * h
        let gatesOffset = total; total += 4 * h
        let cellOffset = total; total += h
        owned = UnsafeMutableRawPointer.allocate(byteCount: total * 4, alignment: 64)
        owned.initializeMemory(as: Float.self, repeating: 0, count: total)
        let f = owned.assumingMemoryBound(to: Float.self)

        var convs: [SileroConv] = []
        for i in 0..<c.channels.count {
            let cin = inChannels[i], cout = c.channels[i]
            let w = try tensor("encoder.\(i).weight", [k, cin, cout])
            let b = try tensor("encoder.\(i).bias", [cout])
            let dst = f + convOffsets[i]
            for o in 0..<cout { for ci in 0..<cin { for j in 0..<k {
                dst[o * k * cin + j * cin + ci] = w[(o * cin + ci) * k + j]
            } } }
            convs.append(SileroConv(inChannels: cin, outChannels: cout, stride: c.strides[i],
                                    inSteps: steps[i], outSteps: steps[i + 1], weight: UnsafePointer(dst), bias: b))
        }
        self.convs = convs
        let wih = try tensor("lstm.weight_ih", [h, 4 * h]), whh = try tensor("lstm.weight_hh", [h, 4 * h])
        let bih = try tensor("lstm.bias_ih", [4 * h]), bhh = try tensor("lstm.bias_hh", [4 * h])
        for r in 0..<4 * h {
            (f + lstmOffset + r * 2 * h).update(from: wih + r * h, count: h)
            (f + lstmOffset + r * 2 * h + h).update(from: whh + r * h, count: h)
            f[biasOffset + r] = bih[r] + bhh[r]
        }
        lstmWeight = UnsafePointer(f + lstmOffset)
        lstmBias = UnsafePointer(f + biasOffset)
        decoderWeight = try tensor("decoder.weight", [1, h, 1])
        decoderBias = try tensor("decoder.bias", [1])[0]

        input = f + inputOffset
        spectrum = f + spectrumOffset
        layerIn = layerOffsets.map { f + $0 }
        lstmInput = f + lstmInputOffset
        gates = f + gatesOffset
        cell = f + cellOffset
        guard kernels.supports(.f32) else { throw .wrongTensorType(tensor: "(kernel set \(kernels.name))", type: "F32 unsupported") }
    }

    deinit { owned.deallocate() }

    /// Starts a new stream: zero context samples, LSTM hidden and cell state.
    public func reset() {
        input.update(repeating: 0, count: config.contextSamples)
        lstmInput.update(repeating: 0, count: 2 * config.hiddenSize)
        cell.update(repeating: 0, count: config.hiddenSize)
    }

    /// Speech probability of the next `frameSamples` (512) samples of the stream. Allocates nothing.
    public func probability(frame: UnsafeBufferPointer<Float>) throws(VADError) -> Float {
        let c = config
        guard frame.count == c.frameSamples, let src = frame.baseAddress else {
            throw .wrongFrameLength(expected: c.frameSamples, found: frame.count)
        }
        let n = c.contextSamples + c.frameSamples, h = c.hiddenSize
        // [context | frame | reflect padding]; then the context for the next frame.
        (input + c.contextSamples).update(from: src, count: c.frameSamples)
        for i in 0..<c.paddingRight { input[n + i] = input[n - 2 - i] }

        // STFT as a strided conv: spectrum[t] = basis · input[t·hop ..< t·hop + filter].
        kernels.gemm(.f32, n: c.filterLength, w: stftBasis, wRowBytes: c.filterLength * 4, rows: 0..<2 * c.bins,
                     a: input, aRowBytes: c.hopLength * 4, vectors: c.stftFrames, y: spectrum, ldy: 2 * c.bins)
        input.update(from: input + n - c.contextSamples, count: c.contextSamples)
        // Magnitude into the first layer's input rows 1...steps (rows 0 and steps+1 stay zero).
        let mag = layerIn[0] + c.bins
        for t in 0..<c.stftFrames {
            let re = spectrum + t * 2 * c.bins, im = re + c.bins, out = mag + t * c.bins
            for b in 0..<c.bins { out[b] = (re[b] * re[b] + im[b] * im[b]).squareRoot() }
        }

        for i in 0..<convs.count {
            let conv = convs[i]
            // The last layer writes straight into the LSTM input; the others into the next padded buffer.
            let y = i + 1 < convs.count ? layerIn[i + 1] + conv.outChannels : lstmInput
            kernels.gemm(.f32, n: c.kernelSize * conv.inChannels, w: conv.weight, wRowBytes: c.kernelSize * conv.inChannels * 4,
                         rows: 0..<conv.outChannels, a: layerIn[i], aRowBytes: conv.stride * conv.inChannels * 4,
                         vectors: conv.outSteps, y: y, ldy: conv.outChannels)
            for t in 0..<conv.outSteps {
                let row = y + t * conv.outChannels
                for o in 0..<conv.outChannels { row[o] = max(row[o] + conv.bias[o], 0) }
            }
        }

        // LSTM cell: gates = [W_ih | W_hh] · [x | h] + b; c = f·c + i·g; h = o·tanh(c).
        kernels.gemm(.f32, n: 2 * h, w: lstmWeight, wRowBytes: 2 * h * 4, rows: 0..<4 * h,
                     a: lstmInput, aRowBytes: 2 * h * 4, vectors: 1, y: gates, ldy: 4 * h)
        var logit = decoderBias
        for j in 0..<h {
            let ig = sigmoid(gates[j] + lstmBias[j]), fg = sigmoid(gates[h + j] + lstmBias[h + j])
            let gg = tanhf(gates[2 * h + j] + lstmBias[2 * h + j]), og = sigmoid(gates[3 * h + j] + lstmBias[3 * h + j])
            let cj = fg * cell[j] + ig * gg
            cell[j] = cj
            let hj = og * tanhf(cj)
            lstmInput[h + j] = hj
            logit += decoderWeight[j] * max(hj, 0)
        }
        return sigmoid(logit)
    }

    /// Convenience for arrays; see `probability(frame:)`.
    public func probability(frame: [Float]) throws(VADError) -> Float {
        try frame.withUnsafeBufferPointer { (p) throws(VADError) -> Float in try probability(frame: p) }
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
