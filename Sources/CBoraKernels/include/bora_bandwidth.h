// Memory read-bandwidth probe used by `bora bench kernels` to state kernel throughput as a
// fraction of what this machine's memory bus delivers.
#ifndef BORA_BANDWIDTH_H
#define BORA_BANDWIDTH_H
#include <stddef.h>
#include <stdint.h>
/// Reads every byte of p[0..<bytes] (bytes a multiple of 64) with wide loads and returns a
/// value that depends on all of them (so the reads cannot be elided).
uint64_t bora_stream_read(const void *p, size_t bytes);
#endif
