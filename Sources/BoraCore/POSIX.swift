#if hasFeature(Embedded)
import CBoraLibc

/// The calling thread's errno (the Glibc overlay provides this on the host; Embedded Swift has no
/// Glibc module, so BoraCore exports it for the modules above it).
public var errno: Int32 {
    get { bora_errno() }
    set { bora_set_errno(newValue) }
}
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// open(2) with an explicit mode, in both builds (Embedded Swift cannot call the variadic `open`).
@inlinable
public func posixOpen(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: UInt32 = 0) -> Int32 {
    #if hasFeature(Embedded)
    return bora_open(path, flags, mode)
    #else
    return open(path, flags, mode_t(mode))
    #endif
}

/// True when `pointer` is mmap(2)'s failure value (`MAP_FAILED`, which does not import in
/// Embedded Swift).
@inlinable
public func isMapFailed(_ pointer: UnsafeMutableRawPointer?) -> Bool {
    pointer == nil || pointer == UnsafeMutableRawPointer(bitPattern: -1)
}
