// BoraGGUF: GGUF reader (zero-copy over mmap) and writer.
