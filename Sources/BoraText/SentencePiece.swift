/// SentencePiece BPE as llama.cpp's `llm_tokenizer_spm_session`: start from one symbol per UTF-8
/// character, repeatedly merge the adjacent pair whose concatenation is the token with the highest
/// score (leftmost first on ties), then emit each symbol's token, or its bytes as `<0xXX>` tokens.
///
/// The caller has already replaced spaces with U+2581 and added the space prefix.
struct SentencePieceEncoder: Sendable {
    let strings: ByteStringTable
    let tokenCount: Int
    let scores: [Float]
    /// Token for each byte: `<0xXX>`, else the one-byte text, else the unknown token, else -1.
    let byteToken: [Int32]

    /// A merge candidate; highest score first, then leftmost.
    struct Pair: HeapOrdered {
        var score: Float
        var left: Int32
        var right: Int32
        var byteCount: Int32
        static func comesBefore(_ a: Pair, _ b: Pair) -> Bool { a.score > b.score || (a.score == b.score && a.left < b.left) }
    }

    func encode(_ text: UnsafeBufferPointer<UInt8>, output: inout [Int32]) {
        guard !text.isEmpty else { return }
        // Symbols: start offset, byte length (0 once merged away), neighbours.
        var start = [Int32](), length = [Int32](), previous = [Int32](), next = [Int32]()
        var offset = 0
        while offset < text.count {
            let lead = text[offset]
            let charLength = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4  // llama.cpp unicode_len_utf8
            let n = min(charLength, text.count - offset)
            previous.append(Int32(start.count - 1))
            start.append(Int32(offset))
            length.append(Int32(n))
            offset += n
            next.append(offset == text.count ? -1 : Int32(start.count))
        }

        var heap = PriorityHeap<Pair>()
        func addPair(_ left: Int32, _ right: Int32) {
            guard left >= 0 && right >= 0 else { return }
            let from = Int(start[Int(left)])
            let byteCount = Int(length[Int(left)] + length[Int(right)])
            guard let id = strings.find(UnsafeBufferPointer(rebasing: text[from ..< from + byteCount])),
                  Int(id) < tokenCount else { return }
            heap.push(Pair(score: scores[Int(id)], left: left, right: right, byteCount: Int32(byteCount)))
        }
        for i in 1 ..< start.count { addPair(Int32(i - 1), Int32(i)) }

        while let pair = heap.pop() {
            let left = Int(pair.left), right = Int(pair.right)
            if length[left] == 0 || length[right] == 0 || length[left] + length[right] != pair.byteCount { continue }
            length[left] += length[right]
            length[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = pair.left }
            addPair(previous[left], pair.left)
            addPair(pair.left, next[left])
        }

        var i = 0
        while i >= 0 {
            let from = Int(start[i]), n = Int(length[i])
            if let id = strings.find(UnsafeBufferPointer(rebasing: text[from ..< from + n])), Int(id) < tokenCount {
                output.append(id)
            } else {
                for j in from ..< from + n where byteToken[Int(text[j])] >= 0 {
                    output.append(byteToken[Int(text[j])])
                }
            }
            i = Int(next[i])
        }
    }
}
