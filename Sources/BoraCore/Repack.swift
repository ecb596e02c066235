import CBoraKernels
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// Kernel-layout copies of weight matrices, made once at load for kernel sets that multiply a type
/// faster from an interleaved layout (today: Q4_0 and Q8_0 "x8" — 8 rows interleaved per block,
/// the layout llama.cpp also repacks Q4_0 into on AVX2 — for the avx2 and avx512vnni sets). A repacked view
/// keeps its GGUF `data` (rows outside whole groups of 8, and the embedding lookup, read it) and
/// gains `packed`; matmul results are bit-identical to those of the view marked by `planned`.
///
/// Owns the copies (freed on deinit): views made by `repack` must not outlive this object.
/// Not thread-safe; use it while loading.
public final class RepackedWeights: @unchecked Sendable {
    public let kernels: KernelSet
    /// Bytes held by the copies.
    public private(set) var bytes = 0
    /// Matrices repacked so far.
    public private(set) var count = 0
    /// Wall time spent repacking (and releasing source pages), in milliseconds.
    public private(set) var milliseconds = 0.0
    private var buffers: [UnsafeMutableRawPointer] = []
    private var done: [UnsafeRawPointer: UnsafeRawPointer] = [:]
    // One anonymous mapping that copies are cut from (no per-matrix allocation).
    private var region: UnsafeMutableRawPointer?
    private var regionSize = 0, regionUsed = 0

    /// False when `BORA_REPACK=0` is set: matrices then keep the GGUF layout (for comparing).
    public let enabled: Bool

    /// `capacity`: bytes to reserve for the copies up front (address space only; pages are touched
    /// as copies are written), e.g. `RepackedWeights.capacity(for:kernels:)` of the tensors to be
    /// repacked. Copies beyond it get their own allocation.
    public init(kernels: KernelSet, enabled: Bool = RepackedWeights.enabledByEnvironment, capacity: Int = 0) {
        self.kernels = kernels; self.enabled = enabled
        if enabled && capacity > 0,
           let p = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), !isMapFailed(p) {
            region = p; regionSize = capacity
        }
    }

    /// False when the environment sets `BORA_REPACK=0`.
    public static var enabledByEnvironment: Bool {
        getenv("BORA_REPACK").map { String(cString: $0) != "0" } ?? true
    }

    deinit {
        for b in buffers { free(b) }
        if let region { munmap(region, regionSize) }
    }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        if let region, regionUsed + size <= regionSize {
            defer { regionUsed += (size + 63) / 64 * 64 }
            return region + regionUsed
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let buffer = raw else { return nil }
        buffers.append(buffer)
        return buffer
    }

    /// True when `repack` would repack a matrix of this type and row count with this kernel set.
    public func wants(_ type: QuantType, rows: Int) -> Bool {
        enabled && rows >= 8 && kernels.prefersRepacked(type)
    }

    /// Bytes the x8 copies of these matrices (type, columns, rows) take with `kernels`: the
    /// `capacity` to reserve for repacking them all. 0 when the set repacks none of them.
    public static func capacity(for matrices: [(type: QuantType, cols: Int, rows: Int)], kernels: KernelSet) -> Int {
        matrices.reduce(0) { total, m in
            guard m.rows >= 8 && kernels.prefersRepacked(m.type) else { return total }
            return total + (bora_repack_x8_bytes(Int32(m.type.rawValue), m.cols, m.rows) + 63) / 64 * 64
        }
    }

    /// `view` marked `packedOrder` when `repack` would repack it, so that its matmuls give the same
    /// bits before and after a later `repack`. Where the x8 kernel sums in another order than the
    /// GGUF-layout one (`KernelSet.repackKeepsOrder`, Q8_0) only with `allowOrderChange`; else
    /// `view` unchanged (and never repacked by a caller that repacks planned views only).
    public func planned(_ view: TensorView, allowOrderChange: Bool = true) -> TensorView {
        guard wants(view.type, rows: view.rows), allowOrderChange || kernels.repackKeepsOrder(view.type) else { return view }
        return TensorView(type: view.type, data: view.data, cols: view.cols, rows: view.rows, packed: view.packed, packedOrder: true)
    }

    /// `view` with `packed` set when the kernel set prefers a repacked layout for it, else `view`.
    /// The same source matrix is repacked once (a tied embedding/output shares the copy). With
    /// `releaseSource`, the source's whole pages are dropped from this process's memory afterwards
    /// (`MADV_DONTNEED`): only for read-only file mappings, whose pages then re-read the file if
    /// touched again. Returns `view` unchanged if the copy cannot be allocated.
    public func repack(_ view: TensorView, releaseSource: Bool = false) -> TensorView {
        guard wants(view.type, rows: view.rows) else { return view }
        if let p = done[view.data] {
            return TensorView(type: view.type, data: view.data, cols: view.cols, rows: view.rows, packed: p)
        }
        let t0 = monotonicSeconds()
        let size = bora_repack_x8_bytes(Int32(view.type.rawValue), view.cols, view.rows)
        guard let buffer = allocate(size) else { return view }
        // In chunks of about 1 MiB of source rows (whole groups of 8), each source chunk released
        // once copied: resident memory grows by at most one chunk over the model's size, not by
        // the largest matrix (a 16 MiB output matrix). Each range is faulted in with one call
        // (MADV_POPULATE_READ/WRITE, Linux ≥ 5.14; ignored where unsupported) instead of one page
        // fault per 4 KiB page inside the copy loop.
        let groups = view.rows / 8, groupBytes = 8 * view.rowBytes
        let groupsPerChunk = max(1, (1 << 20) / groupBytes)
        let source = UnsafeRawPointer(view.data)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        func pageFloor(_ p: UnsafeRawPointer) -> Int { Int(bitPattern: p) / page * page }
        // Only whole pages inside the source go (its first and last page may hold other tensors);
        // a page straddling two chunks goes with the later one.
        var released = (Int(bitPattern: source) + page - 1) / page * page
        var g = 0
        while g < groups {
            let chunkGroups = min(groupsPerChunk, groups - g)
            let from = source + g * groupBytes, to = buffer + g * groupBytes
            Self.advise(from, byteCount: chunkGroups * groupBytes, advice: 22)
            Self.advise(to, byteCount: chunkGroups * groupBytes, advice: 23)
            bora_repack_x8(Int32(view.type.rawValue), view.cols, chunkGroups * 8, from, view.rowBytes, to)
            g += chunkGroups
            let end = pageFloor(g == groups ? source + view.byteCount : source + g * groupBytes)
            if releaseSource && end > released {
                _ = madvise(UnsafeMutableRawPointer(bitPattern: released), end - released, MADV_DONTNEED)
                released = end
            }
        }
        done[view.data] = UnsafeRawPointer(buffer)
        bytes += size
        count += 1
        milliseconds += (monotonicSeconds() - t0) * 1000
        return TensorView(type: view.type, data: view.data, cols: view.cols, rows: view.rows, packed: UnsafeRawPointer(buffer))
    }

    /// madvise over the pages that [p, p + byteCount) touches; failures are ignored (hints only).
    private static func advise(_ p: UnsafeRawPointer, byteCount: Int, advice: Int32) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let address = Int(bitPattern: p)
        let start = address / page * page
        let end = (address + byteCount + page - 1) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, advice)
    }
}
