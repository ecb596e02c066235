// BoraText: tokenizers built from GGUF metadata.
