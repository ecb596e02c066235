import BoraCore
import BoraGGUF
import BoraText

// Host only: its initializer throws the errors of four libraries untyped, which Embedded Swift
// (tools/arm/build) does not allow; bora-lite loads with the typed initializers it calls.
#if !hasFeature(Embedded)
/// A llama-family model loaded the way `bora run` loads it (and `bora bench moe` measures it):
/// mapped and validated, the tensors it uses pre-faulted (never the rest of the file) unless an
/// expert store keeps the experts on storage so that only pages the forward pass touches enter RSS; the tokenizer, after which its build
/// temporaries and the parsed GGUF header pages are handed back to the OS; the expert store.
public struct LoadedLanguageModel {
    public let file: GGUFFile
    public let model: LlamaModel
    public let tokenizer: Tokenizer
    /// The expert store, when `experts` options were given (Mixture-of-Experts models only).
    public let store: ExpertStore?

    /// Maps, validates and prepares the model at `path` for `kernels`. `lap` is called after each
    /// phase with its name (for a debug log of times and RSS). `repack: false` leaves
    /// `model.repackWeights()` to the caller. Throws the GGUF's, the model's, the tokenizer's or
    /// the expert store's error (`GGUFError`, `LlamaError`, `TokenizerError`, `ExpertStoreError`).
    public init(path: String, kernels: KernelSet, experts: ExpertStoreOptions?, repack: Bool = true, lap: (String) -> Void = { _ in }) throws {
        file = try GGUFFile(path: path, hint: experts == nil ? .normal : .random)
        lap("map + parse GGUF")
        let model = try LlamaModel(file: file, kernels: kernels, repack: false)
        self.model = model
        // Only the tensors the model reads are faulted in (not the whole file: padding or unused
        // tensors never enter RSS); experts kept on storage are not.
        if experts == nil { model.prefaultWeights() }
        if repack { model.repackWeights() }
        lap("model views")
        tokenizer = try Tokenizer(gguf: file)
        releaseFreeHeap()
        file.mappedFile?.releasePages(upTo: file.dataOffset)
        lap("tokenizer")
        // After the tokenizer: the store's own small allocations would otherwise sit among the
        // tokenizer's temporaries and keep malloc_trim from returning them (≈ 1.4 MiB of RSS).
        store = try experts.map { try ExpertStore(model: model, path: path, options: $0) }
    }

    /// The prompt's token ids (special tokens added as the model asks); the encoder's scratch is
    /// handed back to the OS afterwards, as the tokenizer's build temporaries were.
    public func encodePrompt(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        let tokens = tokenizer.encode(text, addSpecial: true, parseSpecial: parseSpecial)
        releaseFreeHeap()
        return tokens
    }
}
#endif
