"""Helpers that craft damaged and malicious model files for the save/load tests (no torch)."""

import json
import os
import pickle
import shlex
import struct
import zipfile


def read_raw(path):
    """``(header dict, tensor bytes)`` of a safetensors file, parsed by hand."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def write_raw(path, header, body):
    """Write a safetensors file from a header dict and tensor bytes (the header padded to 8 bytes)."""
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(text)) + text + body)


def edit_document(path, edit):
    """Apply ``edit(document)`` to the ecgsk JSON document of a model file, in place."""
    header, body = read_raw(path)
    document = json.loads(header["__metadata__"]["ecgsk"])
    edit(document)
    header["__metadata__"]["ecgsk"] = json.dumps(document)
    write_raw(path, header, body)


def edit_header(path, edit):
    """Apply ``edit(header)`` to the safetensors header (tensor dtypes, shapes, offsets), in place."""
    header, body = read_raw(path)
    edit(header)
    write_raw(path, header, body)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def pickle_payload(marker):
    """Pickle bytes whose unpickling runs ``touch marker`` (a stand-in for arbitrary code)."""
    return pickle.dumps(_Payload(marker))


def zip_with_payload(path, marker):
    """A ``torch.save``-style zip archive whose ``data.pkl`` is :func:`pickle_payload`."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_payload(marker))
        archive.writestr("archive/version", "3\n")
    return path
