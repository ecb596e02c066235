// Every native C kernel set this CPU supports against the Swift reference (the ground truth),
// through the same KernelSet entry points Bora uses: gemm over awkward lengths, unaligned
// pointers, several vector counts and row ranges; activation quantizers byte for byte.
// Tolerance: 1e-5 relative to Σ|terms| for every type — the per-block integer dots are exact,
// only the float summation order differs between sets.

import CBoraAllocCount
import Testing
@testable import BoraCore

private let weightTypes: [QuantType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K]

private func nativeSets() -> [KernelSet] {
    KernelSet.availableNames.dropFirst().compactMap { try? KernelSet.named($0) }
}

@Suite("Native kernel sets vs the Swift reference")
struct KernelSetTests {
    @Test func bestSetIsNativeAndReferenceIsSelectable() throws {
        let best = try KernelSet.named(nil)
        #expect(best.name != "reference")
        #expect(KernelSet.availableNames.contains(best.name))
        #expect(try KernelSet.named("reference").name == "reference")
        #expect(try KernelSet.named("scalar").name == "scalar")
        #expect(throws: KernelSetError.self) { try KernelSet.named("no-such-set") }
        #if arch(x86_64)
        // ARM sets are not compiled into an x86 binary; AVX-512 VNNI exists but may be unsupported.
        #expect(throws: KernelSetError.self) { try KernelSet.named("neon") }
        do { _ = try KernelSet.named("avx512vnni") } catch {
            #expect(error == .unsupportedCPU("avx512vnni"))   // typed throws: `error` is a KernelSetError
        }
        #endif
    }

    @Test("gemm of every native set matches the reference", arguments: weightTypes)
    func gemmMatchesReference(type: QuantType) throws {
        let act = try #require(type.activationType)
        let sets = nativeSets()
        #expect(sets.count >= 2, "expected scalar plus at least one SIMD set, got \(sets.map(\.name))")
        var rng = QuantTestRNG(seed: 7 &+ UInt64(type.rawValue))
        let blockCounts = type.blockSize == 256 ? [1, 2, 3, 5] : [1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 255, 257]
        for blocks in blockCounts {
            let n = blocks * max(type.blockSize, 32)
            let rowCount = 5, vectors = blocks > 100 ? 2 : 9
            let rowBytes = type.byteCount(elements: n)!, actBytes = act.byteCount(elements: n)!
            // +1: every row and vector starts at an odd address.
            var w = [UInt8](repeating: 0, count: 1 + rowCount * rowBytes)
            var a = [UInt8](repeating: 0, count: 1 + vectors * actBytes)
            for r in 0..<rowCount { w.replaceSubrange(1 + r * rowBytes..<1 + (r + 1) * rowBytes, with: quantMakeWeights(type, n: n, rng: &rng)) }
            for v in 0..<vectors { a.replaceSubrange(1 + v * actBytes..<1 + (v + 1) * actBytes, with: quantMakeActivations(act, n: n, rng: &rng)) }
            let wf = quantDequantized(type, Array(w[1...]), n: n * rowCount)
            let af = quantDequantized(act, Array(a[1...]), n: n * vectors)
            let reference = try KernelSet.named("reference")
            for rows in [0..<rowCount, 1..<4] {
                for nv in Set([1, 2, 3, 4, 5, vectors]) where nv <= vectors {
                    var want = [Float](repeating: .nan, count: nv * rowCount)
                    run(reference, type, n, w, rowBytes, rows, a, actBytes, nv, &want, rowCount)
                    for set in sets {
                        var got = [Float](repeating: -7777, count: nv * rowCount)
                        run(set, type, n, w, rowBytes, rows, a, actBytes, nv, &got, rowCount)
                        for v in 0..<nv {
                            for r in 0..<rowCount {
                                let g = got[v * rowCount + r]
                                guard rows.contains(r) else {
                                    #expect(g == -7777, "\(set.name) \(type) wrote outside rows")
                                    continue
                                }
                                var magnitude = 0.0
                                for i in 0..<n { magnitude += abs(Double(wf[r * n + i]) * Double(af[v * n + i])) }
                                let tol = 1e-5 * magnitude + 1e-30
                                let e = want[v * rowCount + r]
                                #expect(abs(Double(g) - Double(e)) <= tol,
                                        "\(set.name) \(type) n=\(n) nv=\(nv) r=\(r) v=\(v): \(g) vs reference \(e)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("activation quantizers of every native set are byte-identical to the reference",
          arguments: [QuantType.q8_0, .q8_1, .q8_K])
    func quantizersMatchReference(type: QuantType) throws {
        var rng = QuantTestRNG(seed: 42 &+ UInt64(type.rawValue))
        for blocks in [1, 2, 3, 7, 17] {
            let n = blocks * type.blockSize
            let x = (0..<n).map { i in Float.random(in: -4...4, using: &rng) * (i % 11 == 0 ? 10 : 1) }
            var want = [UInt8](repeating: 0, count: type.byteCount(elements: n)!)
            x.withUnsafeBufferPointer { src in want.withUnsafeMutableBytes {
                ReferenceKernels.quantizeActivation(type, src.baseAddress!, $0.baseAddress!, count: n) } }
            for set in nativeSets() {
                var got = [UInt8](repeating: 0xAB, count: want.count + 1)
                x.withUnsafeBufferPointer { src in got.withUnsafeMutableBytes {
                    set.quantize(type, src.baseAddress!, $0.baseAddress! + 1, count: n) } }
                #expect(Array(got[1...]) == want, "\(set.name) \(type) with \(blocks) blocks")
            }
        }
    }

    @Test("the x8 kernel gives the same bits with and without the repacked copy (rows, row ranges, 1–9 vectors); Q4_0: those of the plain kernel, Q8_0: within 1e-5 of them",
          arguments: [QuantType.q4_0, .q8_0])
    func repackedIsBitIdentical(type: QuantType) throws {
        let sets = nativeSets().filter { $0.prefersRepacked(type) }
        #if arch(x86_64)
        #expect(sets.contains { $0.name == "avx2" }, "the avx2 set should multiply \(type) from the x8 repack")
        #endif
        var rng = QuantTestRNG(seed: 99 &+ UInt64(type.rawValue))
        for (blocks, rowCount) in [(1, 8), (3, 19), (18, 16), (33, 27), (256, 9), (257, 8), (18, 3301)] {  // 3301 rows: two 1 MiB repack chunks
            let n = blocks * 32, rowBytes = type.byteCount(elements: n)!, actBytes = QuantType.q8_0.byteCount(elements: n)!
            var w = [UInt8](repeating: 0, count: 1 + rowCount * rowBytes)
            for r in 0..<rowCount { w.replaceSubrange(1 + r * rowBytes..<1 + (r + 1) * rowBytes, with: quantMakeWeights(type, n: n, rng: &rng)) }
            var a = [UInt8](repeating: 0, count: 1 + 9 * actBytes)
            for v in 0..<9 { a.replaceSubrange(1 + v * actBytes..<1 + (v + 1) * actBytes, with: quantMakeActivations(.q8_0, n: n, rng: &rng)) }
            for set in sets {
                let repacked = RepackedWeights(kernels: set, enabled: true)
                try w.withUnsafeBytes { wp in
                    let plain = TensorView(type: type, data: wp.baseAddress! + 1, cols: n, rows: rowCount)
                    let packed = repacked.repack(plain)
                    let p = try #require(packed.packed)
                    for rows in [0..<rowCount, 3..<rowCount, 8..<16, 1..<7, 5..<17] where rows.upperBound <= rowCount {
                        for nv in [1, 2, 3, 4, 5, 9] {
                            var want = [Float](repeating: -7777, count: nv * rowCount), got = want, plainOut = want
                            a.withUnsafeBytes { ap in
                                plainOut.withUnsafeMutableBufferPointer { yp in
                                    set.gemm(type, n: n, w: plain.data, wRowBytes: rowBytes, rows: rows, a: ap.baseAddress! + 1,
                                             aRowBytes: actBytes, vectors: nv, y: yp.baseAddress!, ldy: rowCount)
                                }
                                want.withUnsafeMutableBufferPointer { yp in
                                    set.gemm(type, n: n, w: plain.data, wRowBytes: rowBytes, packedOrder: true, rows: rows,
                                             a: ap.baseAddress! + 1, aRowBytes: actBytes, vectors: nv, y: yp.baseAddress!, ldy: rowCount)
                                }
                                got.withUnsafeMutableBufferPointer { yp in
                                    set.gemm(type, n: n, w: plain.data, wRowBytes: rowBytes, packed: p, rows: rows, a: ap.baseAddress! + 1,
                                             aRowBytes: actBytes, vectors: nv, y: yp.baseAddress!, ldy: rowCount)
                                }
                            }
                            #expect(got.map(\.bitPattern) == want.map(\.bitPattern),
                                    "\(set.name) \(type) blocks=\(blocks) rows=\(rows) nv=\(nv)")
                            if set.repackKeepsOrder(type) {
                                #expect(want.map(\.bitPattern) == plainOut.map(\.bitPattern), "\(set.name) \(type): x8 order ≠ plain kernel")
                            } else {
                                // another float order over the same exact block integers: a few ulps of the largest output
                                let scale = plainOut.map { abs($0) }.max()! + 1
                                let worst = zip(want, plainOut).map { abs($0 - $1) }.max()!
                                #expect(worst <= 1e-5 * scale, "\(set.name) \(type) blocks=\(blocks) rows=\(rows) nv=\(nv): max |Δ| \(worst)")
                            }
                        }
                    }
                }
                #expect(repacked.count == 1 && repacked.bytes == rowCount / 8 * blocks * (type == .q4_0 ? 144 : 272))
            }
        }
    }

    @Test("GEMV over a row range gives each row the bits of that row alone (rows computed in pairs)",
          arguments: weightTypes)
    func gemvRowsAreIndependent(type: QuantType) throws {
        let act = try #require(type.activationType)
        var rng = QuantTestRNG(seed: 313 &+ UInt64(type.rawValue))
        for blocks in type.blockSize == 256 ? [1, 3] : [1, 2, 18, 48] {
            let n = blocks * max(type.blockSize, 32), rowCount = 11
            let rowBytes = type.byteCount(elements: n)!, actBytes = act.byteCount(elements: n)!
            var w = [UInt8](repeating: 0, count: 1 + rowCount * rowBytes)
            for r in 0..<rowCount { w.replaceSubrange(1 + r * rowBytes..<1 + (r + 1) * rowBytes, with: quantMakeWeights(type, n: n, rng: &rng)) }
            var a = [UInt8](repeating: 0, count: 1 + actBytes)
            a.replaceSubrange(1..., with: quantMakeActivations(act, n: n, rng: &rng))
            for set in nativeSets() {
                var alone = [Float](repeating: -7777, count: rowCount)
                for r in 0..<rowCount { run(set, type, n, w, rowBytes, r..<r + 1, a, actBytes, 1, &alone, rowCount) }
                for rows in [0..<rowCount, 1..<rowCount, 3..<8, 2..<4] {
                    var together = [Float](repeating: -7777, count: rowCount)
                    run(set, type, n, w, rowBytes, rows, a, actBytes, 1, &together, rowCount)
                    for r in rows {
                        #expect(together[r].bitPattern == alone[r].bitPattern,
                                "\(set.name) \(type) n=\(n) rows=\(rows) r=\(r): \(together[r]) vs \(alone[r]) alone")
                    }
                }
            }
        }
    }

    @Test("GEMM gives each (row, vector) the bits of that row and vector alone, 2–19 vectors (llama.cpp's order per output)",
          arguments: [QuantType.q4_0, .q4_1, .q8_0])
    func gemmOutputsAreIndependent(type: QuantType) throws {
        let act = try #require(type.activationType)
        var rng = QuantTestRNG(seed: 5150 &+ UInt64(type.rawValue))
        for blocks in [1, 18, 48] {
            let n = blocks * 32, rowCount = 13, vectors = 19
            let rowBytes = type.byteCount(elements: n)!, actBytes = act.byteCount(elements: n)!
            var w = [UInt8](repeating: 0, count: 1 + rowCount * rowBytes)
            for r in 0..<rowCount { w.replaceSubrange(1 + r * rowBytes..<1 + (r + 1) * rowBytes, with: quantMakeWeights(type, n: n, rng: &rng)) }
            var a = [UInt8](repeating: 0, count: 1 + vectors * actBytes)
            for v in 0..<vectors { a.replaceSubrange(1 + v * actBytes..<1 + (v + 1) * actBytes, with: quantMakeActivations(act, n: n, rng: &rng)) }
            for set in nativeSets() {
                // vector v alone: a GEMV over its own activation row
                var alone = [Float](repeating: -7777, count: vectors * rowCount)
                for v in 0..<vectors {
                    var one = [Float](repeating: -7777, count: rowCount)
                    let av = [UInt8](repeating: 0, count: 1) + Array(a[(1 + v * actBytes)..<(1 + (v + 1) * actBytes)])
                    run(set, type, n, w, rowBytes, 0..<rowCount, av, actBytes, 1, &one, rowCount)
                    alone.replaceSubrange(v * rowCount..<(v + 1) * rowCount, with: one)
                }
                for nv in [2, 3, 5, 8, 9, 12, 19] {
                    var together = [Float](repeating: -7777, count: nv * rowCount)
                    run(set, type, n, w, rowBytes, 2..<rowCount, a, actBytes, nv, &together, rowCount)
                    for v in 0..<nv {
                        for r in 2..<rowCount {
                            #expect(together[v * rowCount + r].bitPattern == alone[v * rowCount + r].bitPattern,
                                    "\(set.name) \(type) n=\(n) nv=\(nv) v=\(v) r=\(r)")
                        }
                    }
                }
            }
        }
    }

    private func run(_ set: KernelSet, _ type: QuantType, _ n: Int, _ w: [UInt8], _ rowBytes: Int, _ rows: Range<Int>,
                     _ a: [UInt8], _ actBytes: Int, _ nv: Int, _ y: inout [Float], _ ldy: Int) {
        w.withUnsafeBytes { wp in a.withUnsafeBytes { ap in y.withUnsafeMutableBufferPointer { yp in
            set.gemm(type, n: n, w: wp.baseAddress! + 1, wRowBytes: rowBytes, rows: rows,
                     a: ap.baseAddress! + 1, aRowBytes: actBytes, vectors: nv, y: yp.baseAddress!, ldy: ldy)
        } } }
    }
}

@Suite("Matmul on the thread pool")
struct MatmulTests {
    @Test("multiply = dequantized float matmul, for 1 and many vectors and 1–3 threads",
          arguments: [QuantType.q4_0, .q4_1, .q8_0, .q4_K, .f16])
    func multiplyMatchesFloatMath(type: QuantType) throws {
        var rng = QuantTestRNG(seed: 1234 &+ UInt64(type.rawValue))
        let cols = type.blockSize == 256 ? 512 : 96, rows = 37
        let w = quantMakeWeights(type, n: cols * rows, rng: &rng)
        let wf = quantDequantized(type, w, n: cols * rows)
        for threads in [1, 2, 3] {
            let matmul = Matmul(kernels: try KernelSet.named(nil), pool: ThreadPool(threads: threads))
            for vectors in [1, 4, 9] {
                let x = (0..<(cols * vectors)).map { _ in Float.random(in: -1...1, using: &rng) }
                var y = [Float](repeating: .nan, count: rows * vectors)
                let arena = Arena(capacity: Matmul.scratchBytes(type: type, cols: cols, vectors: vectors))
                let scratch = arena.allocateBytes(Matmul.scratchBytes(type: type, cols: cols, vectors: vectors))
                w.withUnsafeBytes { wp in x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                    let view = TensorView(type: type, data: wp.baseAddress!, cols: cols, rows: rows)
                    matmul.multiply(yp.baseAddress!, weight: view, x: xp.baseAddress!, vectors: vectors, scratch: scratch)
                } } }
                for v in 0..<vectors {
                    for r in 0..<rows {
                        var exact = 0.0, magnitude = 0.0
                        for c in 0..<cols {
                            let t = Double(wf[r * cols + c]) * Double(x[v * cols + c])
                            exact += t; magnitude += abs(t)
                        }
                        // Activation quantization to 8 bits costs up to ~1/127 per element.
                        let tol = type == .f16 ? 1e-5 * magnitude : 0.01 * magnitude + 1e-6
                        #expect(abs(Double(y[v * rows + r]) - exact) <= tol, "\(type) \(threads)T v\(v) r\(r)")
                    }
                }
            }
        }
    }

    @Test("multiply performs no heap allocation after warm-up")
    func multiplyDoesNotAllocate() throws {
        let type = QuantType.q4_0, cols = 576, rows = 1536, vectors = 4
        var rng = QuantTestRNG(seed: 77)
        let w = quantMakeWeights(type, n: cols * rows, rng: &rng)
        let x = (0..<(cols * vectors)).map { _ in Float.random(in: -1...1, using: &rng) }
        var y = [Float](repeating: 0, count: rows * vectors)
        let matmul = Matmul(kernels: try KernelSet.named(nil), pool: ThreadPool(threads: 2))
        let arena = Arena(capacity: Matmul.scratchBytes(type: type, cols: cols, vectors: vectors))
        let scratch = arena.allocateBytes(Matmul.scratchBytes(type: type, cols: cols, vectors: vectors))
        var allocations: UInt64 = 0
        w.withUnsafeBytes { wp in x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            let view = TensorView(type: type, data: wp.baseAddress!, cols: cols, rows: rows)
            matmul.multiply(yp.baseAddress!, weight: view, x: xp.baseAddress!, vectors: vectors, scratch: scratch)
            // Count on this pool's threads only (the caller is thread 0): other tests run in parallel.
            let setCounting: ParallelBody = { ctx, _, _ in bora_alloc_count_enable_thread(ctx == nil ? 0 : 1) }
            bora_alloc_count_reset()
            matmul.pool.run(setCounting, context: UnsafeMutableRawPointer(bitPattern: 1))
            for _ in 0..<50 {
                matmul.multiply(yp.baseAddress!, weight: view, x: xp.baseAddress!, vectors: 1, scratch: scratch)
                matmul.multiply(yp.baseAddress!, weight: view, x: xp.baseAddress!, vectors: vectors, scratch: scratch)
            }
            matmul.pool.run(setCounting, context: nil)
            allocations = bora_alloc_count_allocations()
        } } }
        #expect(bora_alloc_count_supported() != 0, "the allocation counter is not interposing malloc")
        #expect(allocations == 0)
        // The counter itself works: an allocation inside the window is seen.
        bora_alloc_count_reset()
        bora_alloc_count_enable_thread(1)
        let p = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 16)
        bora_alloc_count_enable_thread(0)
        p.deallocate()
        #expect(bora_alloc_count_allocations() >= 1)
    }
}
