// COpus — libopus and libogg (Debian libopus-dev, libogg-dev) for Swift.
// opus_*_ctl are variadic macros Swift cannot call; the static inline wrappers below can.
#ifndef BORA_COPUS_SHIM_H
#define BORA_COPUS_SHIM_H
#include <opus/opus.h>
#include <opus/opus_multistream.h>
#include <ogg/ogg.h>

/// opus_encoder_ctl(enc, OPUS_SET_BITRATE(bitsPerSecond))
static inline int bora_opus_set_bitrate(OpusEncoder *enc, opus_int32 bps) { return opus_encoder_ctl(enc, OPUS_SET_BITRATE(bps)); }
/// opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(c)), c in 0…10
static inline int bora_opus_set_complexity(OpusEncoder *enc, opus_int32 c) { return opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(c)); }
/// opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))
static inline int bora_opus_set_signal_voice(OpusEncoder *enc) { return opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)); }
/// opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&samples)): encoder delay in samples at its own rate
static inline int bora_opus_get_lookahead(OpusEncoder *enc, opus_int32 *samples) { return opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(samples)); }
/// opus_decoder_ctl(dec, OPUS_SET_GAIN(q8dB))
static inline int bora_opus_decoder_set_gain(OpusDecoder *dec, opus_int32 q8) { return opus_decoder_ctl(dec, OPUS_SET_GAIN(q8)); }
#endif
