// CALSA — libasound (Debian libasound2-dev) for Swift, plus wrappers for what Swift cannot call.
#ifndef BORA_CALSA_SHIM_H
#define BORA_CALSA_SHIM_H
#include <alsa/asoundlib.h>

// ALSA prints its own diagnostics ("ALSA lib pcm.c:... Unknown PCM x") to stderr through a
// variadic handler, which Swift cannot define; Bora reports every failure itself as a typed error.
static void bora_alsa_quiet_handler(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err; (void)fmt;
}

/// snd_lib_error_set_handler(quiet): silences libasound's stderr diagnostics process-wide.
static inline void bora_alsa_silence_errors(void) { snd_lib_error_set_handler(bora_alsa_quiet_handler); }
#endif
