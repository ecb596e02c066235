#!/usr/bin/env python3
"""tools/vad/make_audio.py — the VAD test recordings, generated deterministically.

    make_audio.py [OUT_DIR]     (default Tests/Fixtures/vad)

espeak-ng (Debian package, installed by tools/setup) speaks fixed phrases at 22.05 kHz; NumPy
resamples to 16 kHz (Kaiser-windowed sinc), places them between silences and mixes seeded noise.
Output: 16 kHz mono s16 WAV files, each a whole number of 512-sample frames:

    speech_silence.wav  silence, phrase, silence, phrase, silence (clean)
    speech_noise.wav    white + low hum noise throughout, a phrase at about 10 dB SNR
    noise_clipped.wav   noise only for 1 s, then a phrase amplified 8x and hard-clipped

Needs only numpy (tools/.venv or the reference venv). Prints each file's sha256; the reference
probabilities in Tests/Fixtures/vad/silero_reference.json record them too.
"""

import hashlib
import io
import os
import subprocess
import sys
import wave

import numpy as np

RATE = 16000
FRAME = 512


def espeak(text, voice="en-us", speed=160, pitch=50):
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         check=True, stdout=subprocess.PIPE).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return resample(x, rate, RATE)


def resample(x, src, dst, half_taps=32, beta=8.0):
    """Band-limited resampling: y[n] = sum_k x[k] h(n*src/dst - k), cutoff 0.95 * min Nyquist."""
    n_out = int(len(x) * dst // src)
    cutoff = 0.95 * min(1.0, dst / src)
    t = np.arange(n_out) * (src / dst)
    base = np.floor(t).astype(np.int64)
    y = np.zeros(n_out)
    for k in range(-half_taps + 1, half_taps + 1):
        idx = base + k
        d = t - idx
        window = np.i0(beta * np.sqrt(np.clip(1 - (d / half_taps) ** 2, 0, 1))) / np.i0(beta)  # Kaiser
        h = cutoff * np.sinc(cutoff * d) * window
        ok = (idx >= 0) & (idx < len(x))
        y[ok] += x[idx[ok]] * h[ok]
    return y


def place(total_s, parts):
    """parts: [(start_seconds, signal)] summed into a zero buffer of total_s seconds."""
    n = int(round(total_s * RATE)) // FRAME * FRAME
    out = np.zeros(n)
    for start, sig in parts:
        s = int(round(start * RATE))
        m = min(len(sig), n - s)
        out[s:s + m] += sig[:m]
    return out


def write(path, x):
    s16 = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(s16.tobytes())
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.realpath(__file__)), "..", "..", "Tests", "Fixtures", "vad")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240606)

    a = espeak("turn on the lights", speed=170)
    b = espeak("what time is it", voice="en-us+f3", speed=160, pitch=60)
    files = {}
    files["speech_silence.wav"] = place(2.9, [(0.35, 0.6 * a), (1.75, 0.6 * b)])

    c = espeak("play some music in the kitchen", voice="en-gb", speed=175)
    n = int(2.9 * RATE) // FRAME * FRAME
    t = np.arange(n) / RATE
    noise = rng.standard_normal(n) * 0.02 + 0.02 * np.sin(2 * np.pi * 50 * t)
    files["speech_noise.wav"] = place(2.9, [(0.5, 0.35 * c)]) + noise

    d = espeak("stop", speed=150)
    noise = rng.standard_normal(n) * 0.01
    speech = np.clip(8.0 * 0.6 * np.concatenate([d, np.zeros(int(0.15 * RATE)), espeak("set a timer", speed=160)]), -1, 1)
    files["noise_clipped.wav"] = place(2.9, [(1.0, speech)]) + noise

    for name, x in files.items():
        digest = write(os.path.join(out_dir, name), x)
        print(f"{name}\t{len(x)} samples\t{digest}")


if __name__ == "__main__":
    main()
