// CALSA — libasound (Debian libasound2-dev) for Swift, plus wrappers for its macros.
#ifndef BORA_CALSA_SHIM_H
#define BORA_CALSA_SHIM_H
#include <alsa/asoundlib.h>
#endif
