"""Minimal ONNX (protobuf) walker, standard library only.

Finds every Constant node's tensor in a model (including If-branch subgraphs) and the byte
range of its raw_data inside the file, so a reference model can be rebuilt with other weights
of the same shapes by splicing bytes of equal length. Used by tools/vad/reference.py to run
silero_vad.onnx's exact graph in onnxruntime with the weights Bora converts.
"""

import struct


def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _fields(buf, start, end):
    """Yield (field_number, wire_type, value_or_(start, end)) for one message."""
    i = start
    while i < end:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
            yield field, wire, v
        elif wire == 1:
            yield field, wire, buf[i:i + 8]
            i += 8
        elif wire == 2:
            n, i = _varint(buf, i)
            yield field, wire, (i, i + n)
            i += n
        elif wire == 5:
            yield field, wire, buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {i}")


def _tensor(buf, start, end):
    """TensorProto: dims (1), data_type (2), raw_data (9). Returns (dims, dtype, (s, e))."""
    dims, dtype, raw = [], None, None
    for f, w, v in _fields(buf, start, end):
        if f == 1 and w == 0:
            dims.append(v)
        elif f == 1 and w == 2:  # packed dims
            j = v[0]
            while j < v[1]:
                d, j = _varint(buf, j)
                dims.append(d)
        elif f == 2:
            dtype = v
        elif f == 9:
            raw = v
    return dims, dtype, raw


def _graph(buf, start, end, prefix, out):
    for f, w, v in _fields(buf, start, end):
        if f == 1 and w == 2:  # NodeProto
            _node(buf, v[0], v[1], prefix, out)


def _node(buf, start, end, prefix, out):
    outputs, op, attrs = [], None, []
    for f, w, v in _fields(buf, start, end):
        if f == 2:
            outputs.append(bytes(buf[v[0]:v[1]]).decode())
        elif f == 4:
            op = bytes(buf[v[0]:v[1]]).decode()
        elif f == 5:
            attrs.append(v)
    for a0, a1 in attrs:  # AttributeProto: name (1), t (5), g (6)
        name, t, g = None, None, None
        for f, w, v in _fields(buf, a0, a1):
            if f == 1:
                name = bytes(buf[v[0]:v[1]]).decode()
            elif f == 5 and w == 2:
                t = v
            elif f == 6 and w == 2:
                g = v
        if op == "Constant" and name == "value" and t is not None:
            out[outputs[0]] = _tensor(buf, t[0], t[1])
        if g is not None:
            _graph(buf, g[0], g[1], prefix + name + "/", out)


def constants(model_bytes):
    """{output name: (dims, onnx data_type, (raw_data start, end))} of every Constant node."""
    out = {}
    top = None
    for f, w, v in _fields(model_bytes, 0, len(model_bytes)):
        if f == 7 and w == 2:  # ModelProto.graph
            top = v
    if top is None:
        raise ValueError("not an ONNX model: no graph")
    _graph(model_bytes, top[0], top[1], "", out)
    return out


def splice(model_bytes, replacements):
    """Copy of model_bytes with each named constant's raw_data replaced by bytes of equal size."""
    consts = constants(model_bytes)
    buf = bytearray(model_bytes)
    for name, data in replacements.items():
        dims, dtype, raw = consts[name]
        if raw is None or raw[1] - raw[0] != len(data):
            raise ValueError(f"{name}: raw_data size {None if raw is None else raw[1] - raw[0]} != {len(data)}")
        buf[raw[0]:raw[1]] = data
    return bytes(buf)


FLOAT = 1  # onnx TensorProto.FLOAT


def as_float32(model_bytes, entry):
    import numpy as np
    dims, dtype, raw = entry
    if dtype != FLOAT or raw is None:
        raise ValueError("expected a float32 tensor with raw_data")
    return np.frombuffer(model_bytes[raw[0]:raw[1]], dtype="<f4").reshape(dims)


_ = struct  # (kept for readers extending this to fixed-width fields)
