#!/usr/bin/env python3
"""tools/bench/asr_peer.py — one peer ASR runtime in its own process, for tools/bench/asr.

    $(tools/refenv) tools/bench/asr_peer.py --runtime faster-whisper|whisper.cpp --model PATH
        [--threads 2] [--runs N] [--warmup 1] WAV...

Loads the model once, then per file: --warmup untimed transcriptions and --runs timed ones of the
16 kHz mono s16 WAV already decoded into a float32 array (file reading is not timed; log-mel,
encoder and decoder are). Greedy decoding, no timestamps, English, no temperature fallback, no
context carried between files — Bora's settings. Prints one JSON object:
{"runtime","version","model","threads","load_ms","results":[{file,audio_seconds,latency_ms:{median,min,max,samples},text}]}.

faster-whisper: WhisperModel(CT2 dir, device cpu, compute_type int8, cpu_threads=T, num_workers=1);
the timed call is transcribe(beam_size=1, best_of=1, temperature=0, without_timestamps=True,
condition_on_previous_text=False, vad_filter=False, language="en") plus consuming its segment
generator (the work happens there). whisper.cpp: pywhispercpp Model(ggml .bin, greedy,
n_threads=T, no_timestamps, temperature_inc=0 — no fallback re-decode) and transcribe(array).
"""

import argparse
import json
import os
import statistics
import sys
import time
import wave

import numpy as np


def load_wav(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"{path}: need 16 kHz mono s16 WAV (tools/bench/asr converts its inputs)")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def faster_whisper(model_dir, threads):
    import faster_whisper as fw
    m = fw.WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)

    def transcribe(audio):
        segments, _ = m.transcribe(audio, beam_size=1, best_of=1, temperature=0.0, without_timestamps=True,
                                   condition_on_previous_text=False, vad_filter=False, language="en")
        return "".join(s.text for s in segments).strip()
    import ctranslate2
    return transcribe, f"faster-whisper {fw.__version__} (ctranslate2 {ctranslate2.__version__})"


def whisper_cpp(model_path, threads):
    import importlib.metadata
    from pywhispercpp.model import Model
    m = Model(model_path, redirect_whispercpp_logs_to=None, n_threads=threads, print_progress=False,
              print_realtime=False, no_timestamps=True, language="en", temperature=0.0, temperature_inc=0.0,
              no_context=True)

    def transcribe(audio):
        return " ".join(s.text for s in m.transcribe(audio)).strip()
    import _pywhispercpp as pw
    sysinfo = pw.whisper_print_system_info() if hasattr(pw, "whisper_print_system_info") else ""
    libs = [f for f in os.listdir(os.path.dirname(pw.__file__)) if f.startswith("libwhisper.so.")]
    lib = max(libs, key=len).replace("libwhisper.so.", "") if libs else "?"
    return transcribe, f"pywhispercpp {importlib.metadata.version('pywhispercpp')} (whisper.cpp {lib}; {sysinfo.strip()})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", choices=["faster-whisper", "whisper.cpp"], required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    clips = [load_wav(f) for f in a.files]
    t0 = time.perf_counter()
    transcribe, version = (faster_whisper if a.runtime == "faster-whisper" else whisper_cpp)(a.model, a.threads)
    load_ms = (time.perf_counter() - t0) * 1e3
    results = []
    for path, audio in zip(a.files, clips):
        text = ""
        for _ in range(a.warmup):
            text = transcribe(audio)
        samples = []
        for _ in range(a.runs):
            t = time.perf_counter()
            text = transcribe(audio)
            samples.append((time.perf_counter() - t) * 1e3)
        results.append({"file": os.path.basename(path), "audio_seconds": len(audio) / 16000, "text": text,
                        "latency_ms": {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
                                       "samples": samples} if samples else None})
    print(json.dumps({"runtime": a.runtime, "version": version, "model": a.model, "threads": a.threads,
                      "load_ms": load_ms, "results": results}))


if __name__ == "__main__":
    main()
