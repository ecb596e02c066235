/// Elements a `PriorityHeap` orders: `comesBefore` is the strict "pop me first" relation.
protocol HeapOrdered {
    static func comesBefore(_ a: Self, _ b: Self) -> Bool
}

/// A binary heap popping the element that `comesBefore` all others (merge candidates of the
/// BPE and SentencePiece encoders). Specialized per element type, so comparisons inline.
struct PriorityHeap<Element: HeapOrdered> {
    private var items: [Element] = []

    /// Empties the heap, keeping its storage for reuse.
    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Element.comesBefore(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count && Element.comesBefore(items[left], items[best]) { best = left }
                if right < items.count && Element.comesBefore(items[right], items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
