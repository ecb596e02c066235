#!/usr/bin/env python3
"""tools/whisper/validate.py — check the converter + NumPy forward against the committed ct2 fixtures.

    tools/.venv/bin/python tools/whisper/validate.py [MODEL.gguf] [--corpus]

Compares numpy_whisper on jfk.wav with Tests/Fixtures/whisper: log-mel (vs faster-whisper), encoder
output full window and variable length (vs ctranslate2 float32), first-step logits, the greedy token
ids; with --corpus also every transcripts.json entry (full window). Prints max abs diffs.
"""
import json, os, sys
import numpy as np
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import numpy_whisper as nw  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.dirname(HERE)), "Tests", "Fixtures", "whisper")
CACHE = os.environ.get("BORA_CACHE") or os.path.expanduser("~/.cache/bora")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    model = args[0] if args else os.path.join(CACHE, "models", "whisper-tiny.en-f16", "whisper-tiny.en.F16.gguf")
    info = json.load(open(os.path.join(FIX, "jfk.json")))
    m = nw.Model(model)
    audio = nw.read_wav(os.path.join(CACHE, "speech", "jfk.wav"))
    mel_ref = np.fromfile(os.path.join(FIX, "jfk_mel.f32"), "<f4").reshape(info["mel"]["shape"])
    full = nw.encoder_input(audio, m.t["mel_filters"], full_window=True)
    var = nw.encoder_input(audio, m.t["mel_filters"], full_window=False)
    print(f"mel: max|diff| vs faster-whisper = {np.max(np.abs(var - mel_ref)):.3g} (shape {var.shape})")
    enc = m.encode(full)
    ref = np.fromfile(os.path.join(FIX, "jfk_encoder_full.f32"), "<f4").reshape(info["encoder_full"]["shape"])
    print(f"encoder full: max|diff| = {np.max(np.abs(enc[::8] - ref)):.3g}, max|ref| = {np.max(np.abs(ref)):.3g}")
    encv = m.encode(var)
    refv = np.fromfile(os.path.join(FIX, "jfk_encoder_var.f32"), "<f4").reshape(info["encoder_var"]["shape"])
    print(f"encoder var:  max|diff| = {np.max(np.abs(encv[::8] - refv)):.3g}")
    cache = [[None, None] for _ in range(m.n_text_layer)]
    lg = m.decode_step(m.prompt(), 0, cache, m.cross_kv(enc))
    lref = np.fromfile(os.path.join(FIX, "jfk_logits_step0.f16"), "<f2").astype(np.float32)
    top = info["logits_step0_top50"]
    print(f"logits step0: max|diff| vs f16 file = {np.max(np.abs(lg[-1] - lref)):.3g}; top-50 max|diff| = "
          f"{np.max(np.abs(lg[-1][top['ids']] - np.array(top['values']))):.3g}; argmax {int(np.argmax(lg[-1]))} vs {top['ids'][0]}")
    ns = float(nw.softmax(lg[0].astype(np.float64))[m.tok['no_speech']])
    print(f"no_speech_prob {ns:.5f} vs ct2 {info['no_speech_prob']:.5f}")
    ids, _ = m.transcribe_features(full)
    print(f"jfk tokens identical to faster-whisper: {ids == info['transcript_tokens']}")
    if "--corpus" in sys.argv:
        tr = json.load(open(os.path.join(FIX, "transcripts.json")))
        same = 0
        for e in tr["entries"]:
            path = e["path"].replace("$BORA_CACHE", CACHE)
            a = nw.read_wav(path)
            if len(a) > 480000:
                print(f"  skip {e['id']} (> 30 s)")
                continue
            got, _ = m.transcribe_features(nw.encoder_input(a, m.t["mel_filters"], True))
            want = [t for s in e["segments"] for t in s["tokens"]]
            same += got == want
            if got != want:
                print(f"  DIFF {e['id']}: {m.detokenize(got)!r} vs {e['text']!r}")
        print(f"corpus: {same}/{len(tr['entries'])} token-identical to faster-whisper float32")


if __name__ == "__main__":
    main()
