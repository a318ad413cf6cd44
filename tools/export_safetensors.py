#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a PyTorch module's state_dict as a safetensors file, using only torch and the standard library
(no `safetensors` package needed). Works with PyTorch 1.13 (Debian's python3-torch) and 2.x.

As a library (from the repository root, or with tools/ on sys.path):

    from export_safetensors import export, load
    export(model, "model.safetensors")                        # each tensor in its own dtype
    export(model, "model_f16.safetensors", dtype=torch.float16)  # floating tensors converted
    state = load("model.safetensors")                         # OrderedDict name -> tensor (for checks)

From the command line, for a checkpoint written with torch.save (a state_dict, a whole module, or a dict
holding the state_dict under --key):

    python3 tools/export_safetensors.py checkpoint.pt model.safetensors [--dtype float16] [--key state_dict]

The file follows the format's specification: an 8-byte little-endian header length, a JSON header
{"__metadata__": {"format": "pt"}, "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
...} padded with spaces to a multiple of 8 bytes, then the tensors' raw little-endian bytes back to back in
state_dict order. seqnet loads it with seqnet::load_safetensors (docs/interop.md).
"""

import argparse
import collections
import collections.abc
import ctypes
import json
import struct
import sys

import torch

# torch dtype <-> safetensors dtype name. Only the dtypes every supported torch version has.
_NAMES = collections.OrderedDict([
    (torch.float64, "F64"), (torch.float32, "F32"), (torch.float16, "F16"), (torch.bfloat16, "BF16"),
    (torch.int64, "I64"), (torch.int32, "I32"), (torch.int16, "I16"), (torch.int8, "I8"),
    (torch.uint8, "U8"), (torch.bool, "BOOL"),
])
_DTYPES = {name: dtype for dtype, name in _NAMES.items()}

DTYPE_ARGS = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
              "bfloat16": torch.bfloat16}


def _state_dict(obj):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, collections.abc.Mapping):
        return obj
    raise TypeError("expected an nn.Module or a state_dict, got {}".format(type(obj).__name__))


def _raw_bytes(tensor):
    """The tensor's elements as little-endian bytes, row-major."""
    tensor = tensor.detach().to("cpu").contiguous()
    size = tensor.numel() * tensor.element_size()
    if size == 0:
        return b""
    data = ctypes.string_at(tensor.data_ptr(), size)
    if sys.byteorder != "little" and tensor.element_size() > 1:
        step = tensor.element_size()
        data = b"".join(data[i:i + step][::-1] for i in range(0, size, step))
    return data


def serialize(module_or_state_dict, dtype=None, metadata=None):
    """The safetensors bytes of a module's state_dict (or of a state_dict). `dtype` converts every floating
    tensor (torch's rounding: to nearest, ties to even); other tensors keep their dtype."""
    header = collections.OrderedDict()
    header["__metadata__"] = collections.OrderedDict([("format", "pt")] + sorted((metadata or {}).items()))
    chunks = []
    offset = 0
    for name, tensor in _state_dict(module_or_state_dict).items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError("state_dict entry {!r} is not a tensor".format(name))
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        if tensor.dtype not in _NAMES:
            raise ValueError("state_dict entry {!r} has dtype {}, which this exporter does not write"
                             .format(name, tensor.dtype))
        data = _raw_bytes(tensor)
        header[name] = collections.OrderedDict([
            ("dtype", _NAMES[tensor.dtype]), ("shape", list(tensor.shape)),
            ("data_offsets", [offset, offset + len(data)])])
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def export(module_or_state_dict, path, dtype=None, metadata=None):
    """Writes `module_or_state_dict` (an nn.Module or a state_dict) to `path` as safetensors."""
    data = serialize(module_or_state_dict, dtype, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def load(path):
    """Reads a safetensors file written by `export` (or by seqnet) into an OrderedDict of tensors."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length].decode("utf-8"), object_pairs_hook=collections.OrderedDict)
    body = data[8 + length:]
    out = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        if begin == end:
            out[name] = torch.empty(info["shape"], dtype=dtype)
            continue
        chunk = bytearray(body[begin:end])
        if sys.byteorder != "little":
            step = torch.tensor([], dtype=dtype).element_size()
            chunk = bytearray(b"".join(bytes(chunk[i:i + step])[::-1] for i in range(0, len(chunk), step)))
        out[name] = torch.frombuffer(chunk, dtype=dtype).reshape(info["shape"]).clone()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="file written by torch.save: a state_dict, a module, or a dict")
    parser.add_argument("output", help="safetensors file to write")
    parser.add_argument("--dtype", choices=sorted(DTYPE_ARGS), help="convert floating tensors to this dtype")
    parser.add_argument("--key", help="take the state_dict from this key of the checkpoint dict")
    args = parser.parse_args(argv)
    obj = torch.load(args.checkpoint, map_location="cpu")
    if args.key is not None:
        obj = obj[args.key]
    size = export(obj, args.output, DTYPE_ARGS.get(args.dtype))
    print("wrote {} ({} tensors, {} bytes)".format(args.output, len(_state_dict(obj)), size))


if __name__ == "__main__":
    main()
