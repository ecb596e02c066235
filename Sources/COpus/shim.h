// COpus — libopus and libogg (Debian libopus-dev, libogg-dev) for Swift.
// opus_*_ctl are variadic macros Swift cannot call; the static inline wrappers below can.
#ifndef BORA_COPUS_SHIM_H
#define BORA_COPUS_SHIM_H
#include <opus/opus.h>
#include <ogg/ogg.h>
#endif
