/// Byte-level BPE over one pre-tokenized word, as llama.cpp's `llm_tokenizer_bpe_session`:
/// start from one symbol per byte (its GPT-2 alphabet character), repeatedly merge the adjacent
/// pair with the lowest merge rank (leftmost first on ties), then emit each symbol's token id, or
/// — for a symbol that is not a token — the ids of its ASCII characters.
///
/// Symbols are indices into the vocabulary's string table (token texts first, then merge pieces
/// and results that are not tokens), so pairs are found with an integer key and no text is built.
struct BytePairEncoder: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    let strings: ByteStringTable
    let tokenCount: Int
    /// (left string << 32 | right string) → rank and merged string.
    let merges: [UInt64: Merge]
    /// String index of each byte's alphabet character.
    let symbolOfByte: [Int32]
    /// Token of the one-character text of byte b (only ASCII can be one), or -1.
    let singleByteToken: [Int32]

    /// Reusable per-call buffers; each word resets them.
    struct Scratch {
        var symbol: [Int32] = []
        var length: [Int32] = []
        var previous: [Int32] = []
        var next: [Int32] = []
        var heap = PriorityHeap<Pair>()
        var encoded: [UInt8] = []
    }

    /// A merge candidate; lowest rank first, then leftmost.
    struct Pair: HeapOrdered {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32
        var result: Int32
        static func comesBefore(_ a: Pair, _ b: Pair) -> Bool { a.rank < b.rank || (a.rank == b.rank && a.left < b.left) }
    }

    /// Appends the tokens of `word` (raw UTF-8 bytes of one pre-tokenizer piece) to `output`.
    func encode(word: UnsafeBufferPointer<UInt8>, ignoreMerges: Bool, scratch: inout Scratch, output: inout [Int32]) {
        let count = word.count
        guard count > 0 else { return }
        if ignoreMerges {
            scratch.encoded.removeAll(keepingCapacity: true)
            for byte in word { scratch.encoded.append(contentsOf: ByteLevel.utf8OfByte[Int(byte)]) }
            if let id = scratch.encoded.withUnsafeBufferPointer({ strings.find($0) }), Int(id) < tokenCount {
                output.append(id)
                return
            }
        }
        scratch.symbol.removeAll(keepingCapacity: true)
        scratch.length.removeAll(keepingCapacity: true)
        scratch.previous.removeAll(keepingCapacity: true)
        scratch.next.removeAll(keepingCapacity: true)
        scratch.heap.removeAll()
        for i in 0 ..< count {
            scratch.symbol.append(symbolOfByte[Int(word[i])])
            scratch.length.append(1)
            scratch.previous.append(Int32(i - 1))
            scratch.next.append(i + 1 == count ? -1 : Int32(i + 1))
        }
        for i in 1 ..< max(count, 1) { addPair(Int32(i - 1), Int32(i), &scratch) }

        while let pair = scratch.heap.pop() {
            let left = Int(pair.left), right = Int(pair.right)
            // Stale: one side was merged away or grew since the pair was queued.
            if scratch.length[left] == 0 || scratch.length[right] == 0 { continue }
            if scratch.symbol[left] != pair.leftSymbol || scratch.symbol[right] != pair.rightSymbol { continue }
            scratch.symbol[left] = pair.result
            scratch.length[left] += scratch.length[right]
            scratch.length[right] = 0
            let after = scratch.next[right]
            scratch.next[left] = after
            if after >= 0 { scratch.previous[Int(after)] = pair.left }
            addPair(scratch.previous[left], pair.left, &scratch)
            addPair(pair.left, after, &scratch)
        }

        var i = 0
        while i >= 0 && i < count {
            let symbol = scratch.symbol[i]
            if Int(symbol) < tokenCount {
                output.append(symbol)
            } else {
                for j in i ..< i + Int(scratch.length[i]) where singleByteToken[Int(word[j])] >= 0 {
                    output.append(singleByteToken[Int(word[j])])
                }
            }
            i = Int(scratch.next[i])
        }
    }

    @inline(__always) private func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always) private func addPair(_ left: Int32, _ right: Int32, _ scratch: inout Scratch) {
        guard left >= 0 && right >= 0 else { return }
        let leftSymbol = scratch.symbol[Int(left)], rightSymbol = scratch.symbol[Int(right)]
        guard let merge = merges[key(leftSymbol, rightSymbol)] else { return }
        scratch.heap.push(Pair(rank: merge.rank, left: left, right: right, leftSymbol: leftSymbol, rightSymbol: rightSymbol,
                                 result: merge.result))
    }
}
