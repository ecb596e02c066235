import BoraCore
import BoraGGUF

/// A chat message for `ChatTemplate`.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
}

/// Renders chat messages into the prompt text a model was trained on, for the template families
/// in use by Bora's catalog. Bora does not run Jinja: it recognizes the family from the model's
/// `tokenizer.chat_template` and renders it natively.
///
/// ChatML (`<|im_start|>role\ncontent<|im_end|>\n`, SmolLM2-Instruct, Qwen): a default system
/// message written into the template (as SmolLM2's is) is inserted when the conversation has none;
/// `addAssistantPrompt` appends `<|im_start|>assistant\n`.
public struct ChatTemplate: Sendable, Equatable {
    public enum Family: Sendable, Equatable { case chatML }
    public let family: Family
    /// The system message the template inserts when none is given, if any.
    public let defaultSystemMessage: String?

    /// The template of `gguf`, or nil when it has none Bora can render.
    public init?(gguf: GGUFFile) {
        guard let source = gguf.metadata["tokenizer.chat_template"]?.string else { return nil }
        self.init(templateSource: source)
    }

    /// Recognizes a Jinja chat template's family; nil when unsupported.
    public init?(templateSource source: String) {
        guard source.hasSubstring("<|im_start|>") else { return nil }
        family = .chatML
        // SmolLM2: {{ '<|im_start|>system\nYou are …<|im_end|>\n' }} when messages[0] is not system.
        let marker = "<|im_start|>system\n"
        if let start = source.utf8Offset(of: marker),
           let end = source.utf8Offset(of: "<|im_end|>", from: start + marker.utf8.count) {
            let text = String(decoding: Array(source.utf8)[(start + marker.utf8.count)..<end], as: UTF8.self)
            defaultSystemMessage = text.hasSubstring("{{") || text.hasSubstring("'") ? nil : text
        } else {
            defaultSystemMessage = nil
        }
    }

    /// The prompt text for `messages`.
    public func render(_ messages: [ChatMessage], addAssistantPrompt: Bool = true) -> String {
        var out = ""
        if let system = defaultSystemMessage, messages.first?.role != "system" {
            out += "<|im_start|>system\n\(system)<|im_end|>\n"
        }
        for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        if addAssistantPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}
