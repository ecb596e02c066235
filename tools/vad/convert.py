#!/usr/bin/env python3
"""tools/vad/convert.py — Silero VAD v6 (16 kHz) weights -> GGUF (general.architecture = "silero-vad").

    convert.py SRC OUT.gguf        SRC: silero_vad.onnx (catalog source: the package's default
                                   weights, 16 kHz branch of its ONNX graph, parsed with the standard
                                   library by onnx_splice.py) or silero_vad_16k.safetensors (another
                                   v6 checkpoint of the same graph)

Runs in tools/.venv (numpy, safetensors, gguf==0.19.0); tools/models calls `convert()` for the
catalog's `silero-vad` entry. Tensors are copied as F32 in their source layout (ggml order is the
reverse of the NumPy shape). Hyper-parameters are stored as `silero-vad.*` metadata; Bora checks
every tensor shape against them. The graph (read from silero_vad.onnx, see tools/vad/README.md):

    x = [64 context samples | 512 new samples]  -> reflect-pad 64 on the right (640)
    stft = conv1d(x, stft.basis, stride 128)    (258 x 4) ; mag = sqrt(re^2 + im^2)  (129 x 4)
    4 x [conv1d k=3 pad=1 stride s + bias, ReLU]  129->128 (s1) ->64 (s2) ->64 (s2) ->128 (s1): 128 x 1
    LSTM cell (128), gates i,f,g,o ; p = sigmoid(decoder.weight . relu(h) + decoder.bias)
"""

import argparse
import os
import sys

ARCH = "silero-vad"
HP = {
    "sample_rate": 16000,
    "frame_samples": 512,
    "context_samples": 64,
    "stft.filter_length": 256,
    "stft.hop_length": 128,
    "stft.padding_right": 64,   # reflect padding after the last sample
    "stft.bins": 129,
    "encoder.kernel_size": 3,
    "encoder.padding": 1,
    "lstm.hidden_size": 128,
}
ENC_CHANNELS = [128, 64, 64, 128]
ENC_STRIDES = [1, 2, 2, 1]

# GGUF name -> (safetensors name, ONNX 16 kHz-branch constant name)
NAMES = {
    "stft.basis": ("stft_conv.weight", "stft.forward_basis_buffer"),
    **{f"encoder.{i}.{p}": (f"conv{i + 1}.{p}", f"encoder.{i}.reparam_conv.{p}")
       for i in range(4) for p in ("weight", "bias")},
    "lstm.weight_ih": ("lstm_cell.weight_ih", "decoder.rnn.weight_ih"),
    "lstm.weight_hh": ("lstm_cell.weight_hh", "decoder.rnn.weight_hh"),
    "lstm.bias_ih": ("lstm_cell.bias_ih", "decoder.rnn.bias_ih"),
    "lstm.bias_hh": ("lstm_cell.bias_hh", "decoder.rnn.bias_hh"),
    "decoder.weight": ("final_conv.weight", "decoder.decoder.2.weight"),
    "decoder.bias": ("final_conv.bias", "decoder.decoder.2.bias"),
}
ONNX_BRANCH = "If_0_then_branch__Inline_0__"  # silero_vad.onnx: `sr == 16000` branch


class ConversionError(Exception):
    pass


def expected_shapes():
    """NumPy shapes every tensor must have, derived from the hyper-parameters."""
    nfft, bins, k, hid = HP["stft.filter_length"], HP["stft.bins"], HP["encoder.kernel_size"], HP["lstm.hidden_size"]
    shapes = {"stft.basis": (2 * bins, 1, nfft)}
    cin = bins
    for i, cout in enumerate(ENC_CHANNELS):
        shapes[f"encoder.{i}.weight"] = (cout, cin, k)
        shapes[f"encoder.{i}.bias"] = (cout,)
        cin = cout
    shapes.update({"lstm.weight_ih": (4 * hid, cin), "lstm.weight_hh": (4 * hid, hid),
                   "lstm.bias_ih": (4 * hid,), "lstm.bias_hh": (4 * hid,),
                   "decoder.weight": (1, hid, 1), "decoder.bias": (1,)})
    return shapes


def load_source(src):
    import numpy as np
    if src.endswith(".onnx"):
        sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
        import onnx_splice
        with open(src, "rb") as f:
            model = f.read()
        consts = onnx_splice.constants(model)
        out = {}
        for g, (_, o) in NAMES.items():
            if ONNX_BRANCH + o not in consts:
                raise ConversionError(f"{src}: no constant {ONNX_BRANCH + o} (not silero_vad.onnx v6?)")
            out[g] = onnx_splice.as_float32(model, consts[ONNX_BRANCH + o]).copy()
        return out, "silero_vad.onnx (16 kHz branch)"
    from safetensors.numpy import load_file
    st = load_file(src)
    missing = [s for s, _ in NAMES.values() if s not in st]
    if missing:
        raise ConversionError(f"{src}: missing tensors {missing} (not silero_vad_16k.safetensors v6?)")
    return {g: np.asarray(st[s]) for g, (s, _) in NAMES.items()}, "silero_vad_16k.safetensors"


def convert(src, dest, log=lambda m: print(m, file=sys.stderr)):
    """Write dest (via a temp name, renamed last) from src; raises ConversionError."""
    import numpy as np
    import gguf
    import logging
    logging.getLogger("gguf").setLevel(logging.WARNING)

    tensors, what = load_source(src)
    for name, shape in expected_shapes().items():
        t = tensors[name]
        if tuple(t.shape) != shape:
            raise ConversionError(f"{src}: {name} has shape {tuple(t.shape)}, expected {shape}")
        if not np.all(np.isfinite(t)):
            raise ConversionError(f"{src}: {name} has non-finite values")

    w = gguf.GGUFWriter(None, ARCH)
    w.add_name("Silero VAD v6 (16 kHz)")
    w.add_license("MIT")
    w.add_string("general.source.file", what)
    w.add_uint32("general.file_type", 0)  # all F32
    for k, v in HP.items():
        w.add_uint32(f"{ARCH}.{k}", v)
    w.add_array(f"{ARCH}.encoder.channels", ENC_CHANNELS)
    w.add_array(f"{ARCH}.encoder.strides", ENC_STRIDES)
    for name in NAMES:
        w.add_tensor(name, np.ascontiguousarray(tensors[name], dtype=np.float32))

    tmp = os.path.join(os.path.dirname(os.path.abspath(dest)), f".{os.path.basename(dest)}.tmp-{os.getpid()}")
    try:
        w.write_header_to_file(path=tmp)
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        # Re-read and compare every tensor before the rename.
        r = gguf.GGUFReader(tmp)
        got = {t.name: t for t in r.tensors}
        for name in NAMES:
            t = got.get(name)
            if t is None or t.tensor_type != gguf.GGMLQuantizationType.F32:
                raise ConversionError(f"self-check: {name} missing or not F32 in {tmp}")
            if not np.array_equal(np.asarray(t.data).reshape(tensors[name].shape), tensors[name]):
                raise ConversionError(f"self-check: {name} differs after re-reading {tmp}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    n = sum(int(np.prod(s)) for s in expected_shapes().values())
    log(f"    wrote {dest} from {what}: {len(NAMES)} F32 tensors, {n} parameters; re-read OK")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="silero_vad.onnx or silero_vad_16k.safetensors")
    ap.add_argument("out", help="output .gguf")
    a = ap.parse_args()
    try:
        convert(a.src, a.out)
    except (ConversionError, OSError, ValueError) as e:
        print(f"tools/vad/convert.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
