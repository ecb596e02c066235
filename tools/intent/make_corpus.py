#!/usr/bin/env python3
"""Builds a labelled spoken-command corpus from speech-to-intent contexts.

For each context: `bora context sample` draws labelled sentences; out-of-context sentences come
from the other contexts (dropped when the context's grammar matches them as text) and from
tools/intent/everyday.txt. Each sentence is spoken by a random voice (espeak-ng voices and
variants, flite voices when installed) at a random rate and pitch, resampled to 16 kHz mono
(sox), padded with 0.3 s, and written clean and mixed with noise at every SNR in --snrs.
Noise is synthetic babble (many overlapped espeak voices), pink or brown noise. SNR is defined
on the loudest 2048-sample frame of the speech and of the noise segment added to it.
Deterministic for a seed. Output: DIR/wav/*.wav and DIR/manifest.jsonl, one object per file:
{file, context, in_context, text, intent, slots, snr_db (null = clean), noise, voice, rate, pitch}.
Default DIR: ~/.cache/bora/intent/<hash of the inputs>.
"""
import argparse, hashlib, json, os, random, shutil, subprocess, sys, tempfile, wave
import numpy as np

RATE = 16000
FRAME = 2048
HERE = os.path.dirname(os.path.abspath(__file__))
ESPEAK_VOICES = ["en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan"]
ESPEAK_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == RATE, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def write_wav(path, x):
    y = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE); w.writeframes(y.tobytes())
    os.replace(tmp, path)


def flite_voices():
    if not shutil.which("flite"):
        return []
    out = run(["flite", "-lv"])
    return [v for v in out.split(":", 1)[-1].split() if v in ("kal", "kal16", "awb", "rms", "slt")]


def synthesize(text, voice, rate_wpm, pitch, tmpdir):
    """Speech for text at 16 kHz mono float32 (sox resamples the synthesizer's output)."""
    raw = os.path.join(tmpdir, "raw.wav"); out = os.path.join(tmpdir, "out.wav")
    if voice.startswith("flite:"):
        # flite has no rate flag; duration_stretch scales time (1 = default rate of ~170 wpm).
        stretch = 170.0 / rate_wpm
        run(["flite", "-voice", voice[6:], "--setf", f"duration_stretch={stretch:.3f}",
             "--setf", f"int_f0_target_mean={80 + pitch * 1.4:.0f}", "-t", text, "-o", raw])
    else:
        run(["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-p", str(pitch), "-w", raw, text])
    run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", out])
    return read_wav(out)


def loudest_frame_rms(x):
    n = max(1, len(x) // FRAME)
    frames = x[: n * FRAME].reshape(n, FRAME) if len(x) >= FRAME else x[None, :]
    return float(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1).max()) + 1e-12)


def colored_noise(n, exponent, rng):
    """1/f^exponent noise (1 = pink, 2 = brown) by shaping white noise's spectrum."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n); f[0] = f[1]
    x = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return (x / np.abs(x).max()).astype(np.float32)


def make_babble(seconds, rng, tmpdir, sentences, talkers=8):
    """Many overlapped espeak voices reading everyday sentences, each shifted randomly."""
    n = int(seconds * RATE)
    mix = np.zeros(n, np.float32)
    for _ in range(talkers):
        pos = int(rng.integers(0, RATE))
        while pos < n:
            voice = f"{ESPEAK_VOICES[rng.integers(len(ESPEAK_VOICES))]}+{ESPEAK_VARIANTS[rng.integers(len(ESPEAK_VARIANTS))]}"
            s = synthesize(sentences[rng.integers(len(sentences))], voice, int(rng.integers(140, 200)), int(rng.integers(20, 80)), tmpdir)
            m = min(len(s), n - pos)
            mix[pos:pos + m] += s[:m] / (loudest_frame_rms(s) + 1e-6)
            pos += m + int(rng.integers(0, RATE // 4))
    return mix / np.abs(mix).max()


def sample_context(bora, path, count, seed):
    out = run([bora, "context", "sample", path, "--count", str(count), "--seed", str(seed)])
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def matches(bora, path, texts):
    out = run([bora, "context", "match", path], input="\n".join(texts) + "\n")
    return [json.loads(line)["understood"] for line in out.splitlines()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("contexts", nargs="+")
    ap.add_argument("--count", type=int, default=60, help="in-context sentences per context")
    ap.add_argument("--ooc", type=int, default=20, help="out-of-context sentences per context")
    ap.add_argument("--snrs", default="24,21,18,15,12,9,6", help="SNRs in dB (clean is always included)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--bora", default=os.environ.get("BORA", "bora"))
    args = ap.parse_args()
    snrs = [float(s) for s in args.snrs.split(",") if s]
    key = hashlib.sha256(json.dumps([sorted(open(c).read() for c in args.contexts), args.count, args.ooc, snrs, args.seed,
                                     open(os.path.join(HERE, "everyday.txt")).read(), open(__file__).read()]).encode()).hexdigest()[:12]
    out = args.out or os.path.join(os.environ.get("BORA_CACHE", os.path.expanduser("~/.cache/bora")), "intent", key)
    manifest_path = os.path.join(out, "manifest.jsonl")
    if os.path.exists(manifest_path):
        print(manifest_path); return
    os.makedirs(os.path.join(out, "wav"), exist_ok=True)
    rng = np.random.default_rng(args.seed)
    everyday = [l.strip() for l in open(os.path.join(HERE, "everyday.txt")) if l.strip()]
    voices = [f"{v}+{var}" for v in ESPEAK_VOICES for var in ESPEAK_VARIANTS] + [f"flite:{v}" for v in flite_voices()]
    items = []
    for ci, ctx in enumerate(args.contexts):
        name = os.path.splitext(os.path.basename(ctx))[0]
        for s in sample_context(args.bora, ctx, args.count, args.seed * 1000 + ci):
            items.append(dict(context=ctx, in_context=True, text=s["text"], intent=s["intent"], slots=s["slots"]))
        others = [t["text"] for j, c in enumerate(args.contexts) if j != ci for t in sample_context(args.bora, c, args.ooc, args.seed * 1000 + 500 + j)]
        pool = others + list(everyday)
        rng.shuffle(pool)
        pool = [t for t, m in zip(pool, matches(args.bora, ctx, pool)) if not m][: args.ooc]
        for t in pool:
            items.append(dict(context=ctx, in_context=False, text=t, intent=None, slots={}))
    with tempfile.TemporaryDirectory() as tmp:
        noises = {"babble": make_babble(60, rng, tmp, everyday), "pink": colored_noise(60 * RATE, 1, rng),
                  "brown": colored_noise(60 * RATE, 2, rng)}
        lines = []
        for i, item in enumerate(items):
            voice = voices[rng.integers(len(voices))]
            rate, pitch = int(rng.integers(130, 200)), int(rng.integers(25, 75))
            speech = synthesize(item["text"], voice, rate, pitch, tmp)
            speech = 0.5 * speech / (np.abs(speech).max() + 1e-9)
            pad = np.zeros(int(0.3 * RATE), np.float32)
            clean = np.concatenate([pad, speech, pad])
            level = loudest_frame_rms(speech)
            stem = f"{os.path.splitext(os.path.basename(item['context']))[0]}_{i:05d}"
            for snr in [None] + snrs:
                x, noise_name = clean, None
                if snr is not None:
                    noise_name = ["babble", "pink", "brown"][rng.integers(3)]
                    src = noises[noise_name]
                    start = int(rng.integers(0, len(src) - len(clean)))
                    seg = src[start:start + len(clean)]
                    x = clean + seg * (level / loudest_frame_rms(seg) / 10 ** (snr / 20))
                    x = x / max(1.0, np.abs(x).max() / 0.99)
                file = os.path.join(out, "wav", f"{stem}_{'clean' if snr is None else f'{int(snr)}dB'}.wav")
                write_wav(file, x)
                lines.append(json.dumps(dict(file=file, snr_db=snr, noise=noise_name, voice=voice, rate=rate, pitch=pitch, **item)))
            if (i + 1) % 50 == 0:
                print(f"{i + 1}/{len(items)} sentences", file=sys.stderr)
    with open(manifest_path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(manifest_path + ".tmp", manifest_path)
    print(manifest_path)


if __name__ == "__main__":
    main()
