#!/usr/bin/env python3
"""Golden token ids for SmolLM2's tokenizer from an independent implementation.

Reference: Hugging Face `tokenizers` (Rust), given a tokenizer rebuilt from the GGUF's own vocab
and merges with SmolLM2's published pre-tokenizer (tokenizer.json of HuggingFaceTB/SmolLM2-*):

    pre_tokenizer: Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False)]
    model:         BPE (no unk, no byte fallback), decoder ByteLevel
    added_tokens:  every token_type == 3 (control) token, special=True

llama.cpp maps this to tokenizer.ggml.pre = "smollm" (regexes "\\p{N}" then GPT-2's), which is
what BoraText implements; this script shares no code with it.

Usage (needs `pip install tokenizers gguf` in a scratch venv):

    python make_goldens.py ~/.cache/bora/models/smollm2-135m-instruct/smollm2-135m-instruct.Q4_1.gguf \
        > smollm2_goldens.json

Output: {"model", "reference", "cases": [{"text", "ids", "ids_parse_special"}]} where `ids` treats
control-token text as plain text (llama.cpp parse_special=false; HF encode_special_tokens=True)
and `ids_parse_special` matches it as the special token (parse_special=true; HF default).
Neither adds BOS/EOS (SmolLM2's add_bos_token is false).
"""

import json
import os
import sys

import tokenizers
from gguf import GGUFReader
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

TEXTS = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n\n",
    "\t",
    "Hello world",
    " Hello world",
    "Hello World!",
    "Hello, world! How are you today?",
    "trailing spaces   ",
    "multiple   spaces   between",
    "line one\nline two\r\nline three\n\n",
    "\ttabbed\tline\n    indented code",
    "1234567890",
    "3.14159 and 2.71828",
    "$1,000,000.00 costs 12% more",
    "I'm sure they'll say we've done what you'd DON'T",
    "Äpfel über Straße, naïve café",
    "Привет, мир! Как дела?",
    "你好，世界！今天天气很好。",
    "こんにちは世界、カタカナ",
    "안녕하세요 세계",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "🦙🚀👍🏽 emoji ✨",
    "family: 👨\u200d👩\u200d👧 flag: 🇫🇷",
    "½ ² Ⅻ ٣ ௰ numbers",
    "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ １２３",
    "non\u00a0breaking\u2003spaces\u3000here",
    "def square(x):\n    return x ** 2  # comment\n",
    "x = [1, 2, 3]; y = {'a': 10}",
    "https://example.com/path?query=1&b=2",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
    "<|endoftext|>",
    "text<|im_end|>more text",
    "<|im_sta partial tokens <| |> <|im_end",
    "<repo_name>bora<file_sep>main.swift",
    "Turn on the lights in the kitchen, please.",
    "Set a timer for 15 minutes and 30 seconds.",
    "What's the weather like at 5pm?",
    "café\u0301 combining e\u0301",
    "\u200bzero\u200bwidth\u200b",
    "mixed123numbers456and789letters",
]


def main():
    path = sys.argv[1]
    reader = GGUFReader(path)

    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents()
    token_types = reader.fields["tokenizer.ggml.token_type"].contents()
    pre = reader.fields["tokenizer.ggml.pre"].contents()
    assert pre == "smollm", pre

    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, token_types) if ty == 3])

    cases = []
    for text in TEXTS:
        tok.encode_special_tokens = False
        parsed = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = True
        plain = tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(plain) == text, (text, tok.decode(plain))
        cases.append({"text": text, "ids": plain, "ids_parse_special": parsed})

    # One case per line keeps the file reviewable.
    out = sys.stdout
    out.write("{\n")
    out.write(f' "model": {json.dumps(os.path.basename(path))},\n')
    out.write(f' "reference": "huggingface tokenizers {tokenizers.__version__}, vocab+merges from the GGUF",\n')
    out.write(' "cases": [\n')
    out.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases))
    out.write("\n ]\n}\n")


if __name__ == "__main__":
    main()
