// BoraAudio — audio files (WAV, raw, Ogg Opus), resampling, ALSA capture, ring buffer, VAD.
// Everything inside Bora is 16 kHz mono Float32; formats are normalized once at the boundary.
