import Testing
@testable import BoraLM

@Suite("Chat templates")
struct ChatTemplateTests {
    // SmolLM2-135M-Instruct's tokenizer.chat_template, verbatim from its GGUF.
    let smolLM2 = """
    {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
    You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
    ' }}{% endif %}{{'<|im_start|>' + message['role'] + '
    ' + message['content'] + '<|im_end|>' + '
    '}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
    ' }}{% endif %}
    """

    @Test func smolLM2InsertsItsDefaultSystemMessage() throws {
        let t = try #require(ChatTemplate(templateSource: smolLM2))
        #expect(t.defaultSystemMessage == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        #expect(t.render([ChatMessage(role: "user", content: "What is 2+2?")]) ==
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")
        #expect(t.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")], addAssistantPrompt: false) ==
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    @Test func unknownTemplatesAreNotGuessed() {
        #expect(ChatTemplate(templateSource: "{{ bos_token }}[INST] {{ message }} [/INST]") == nil)
    }
}
