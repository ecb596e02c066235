// BoraGGUF: GGUF reader (zero-copy over mmap) and writer.
//
// GGUFFile.swift    parsed file, GGUFTensor views
// GGUFCursor.swift  bounds-checked byte reader, metadata value parsing, UTF-8 check
// GGUFValue.swift   GGUFValueType, GGUFValue
// GGUFArray.swift   GGUFArray (lazy over file bytes), GGUFStorage
// GGUFError.swift   GGUFError
// GGUFWriter.swift  GGUFWriter (v3, in memory or to a file)
//
// Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
