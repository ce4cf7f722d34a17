#!/usr/bin/python3
"""gguf_ref.py — an independent GGUF v3 reader and ggml block dequantizer (numpy only), and a
GGUF -> Hugging Face folder converter, used to check the files `exaone quantize` writes against
llama.cpp's semantics instead of against our own C reader.

Owns (written from the format descriptions and upstream llama.cpp/ggml sources, never from
src/model/gguf.c or src/kernels/quant*.c, so that a layout bug symmetric in our C writer and
reader cannot hide):
  - the GGUF reader: magic "GGUF", version 2/3, u64 tensor/kv counts, all 13 metadata value types
    incl. arrays and arrays of arrays (the GGUF spec allows them; ggml's gguf.cpp rejects them, so
    `GGUFFile.nested_arrays` lists them for callers that want llama.cpp compatibility),
    `general.alignment` (u32, power of two, default 32), the aligned data section, tensor infos
    (name < 64 bytes, 1..4 dims in ggml order ne0 = row length, row length a multiple of the block
    size, offsets relative to the data section, each offset equal to the padded running size as
    ggml/src/gguf.cpp gguf_init_from_reader requires), data inside the file. Anything else raises
    GGUFError naming the file and the problem.
  - dequantizers for F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K following ggml's reference code
    (ggml/src/ggml-quants.c dequantize_row_*, get_scale_min_k4; block layouts of
    ggml/src/ggml-common.h; type ids and (block, bytes) of gguf-py/gguf/constants.py
    GGML_QUANT_SIZES). f32 arithmetic is done op by op in numpy float32 in the C order (no FMA).
  - ports of ggml's deterministic reference quantizers quantize_row_{q8_0,q4_0,q4_K,q5_K,q6_K}_ref
    (with make_qkx2_quants / make_qx_quants, vectorized over sub-blocks but every float32 op in the
    C order; byte-exact, validated against a C transcription of the upstream functions), the last
    (deterministic given the stored scales) step of the k-quant ones alone, the activation quantizers the CPU backend pairs with each weight type
    (Q8_0 for Q8_0/Q4_0, quantize_row_q8_K_ref for the k-quants), and llama.cpp's q4_K_M tensor-type
    mix (src/llama-quant.cpp llama_tensor_get_type_impl, use_more_bits, tensor_type_fallback).
  - to_hf(): GGUF -> folder with config.json (from the exaone.* / exaone4.* keys, spec §6 / §1.2)
    and model.safetensors (f32, HF names from the spec §6.2 table, dims reversed from ggml order),
    tied output when `output.weight` is absent, rope_freqs.weight turned back into a llama3
    rope_scaling block (checked factor by factor against the factors llama.cpp's converter
    computes from it, or from a source HF folder's config when given), exaone4's per-layer bool
    sliding_window_pattern turned into layer_types. tools/reference.py runs the result.

usage: gguf_ref.py info FILE.gguf                       # header, metadata, tensors
       gguf_ref.py to-hf FILE.gguf OUTDIR [--source-config HF_DIR]
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np


class GGUFError(Exception):
    pass


# ---- GGUF value types (GGUF spec; ggml/src/gguf.cpp GGUF_TYPE_*) -----------------------------
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, \
    T_UINT64, T_INT64, T_FLOAT64 = range(13)
VT_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"]
VT_NUMPY = {T_UINT8: "<u1", T_INT8: "<i1", T_UINT16: "<u2", T_INT16: "<i2", T_UINT32: "<u4",
            T_INT32: "<i4", T_FLOAT32: "<f4", T_BOOL: "<u1", T_UINT64: "<u8", T_INT64: "<i8",
            T_FLOAT64: "<f8"}

# ---- ggml types: id -> (name, block elements, block bytes) (gguf-py constants.py) -----------
QK_K = 256
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 2 + 2 + QK_K // 16 + QK_K // 4), 11: ("Q3_K", 256, 2 + QK_K // 4 + QK_K // 8 + 12),
    12: ("Q4_K", 256, 2 + 2 + QK_K // 2 + 12), 13: ("Q5_K", 256, 2 + 2 + QK_K // 2 + QK_K // 8 + 12),
    14: ("Q6_K", 256, 2 + QK_K // 2 + QK_K // 4 + QK_K // 16), 15: ("Q8_K", 256, 4 + QK_K + QK_K // 8),
    16: ("IQ2_XXS", 256, 2 + QK_K // 4), 17: ("IQ2_XS", 256, 2 + QK_K // 4 + QK_K // 32),
    18: ("IQ3_XXS", 256, 2 + QK_K // 4 + QK_K // 8), 19: ("IQ1_S", 256, 2 + QK_K // 8 + QK_K // 16),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 2 + QK_K // 4 + QK_K // 8 + QK_K // 32 + 4),
    22: ("IQ2_S", 256, 2 + QK_K // 4 + QK_K // 16), 23: ("IQ4_XS", 256, 2 + 2 + QK_K // 2 + QK_K // 64),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, QK_K // 8 + QK_K // 16 + QK_K // 32), 30: ("BF16", 1, 2),
}
TYPE_ID = {v[0]: k for k, v in GGML_TYPES.items()}
GGML_MAX_NAME = 64   # ggml.h: names are char[64] incl. the NUL
GGML_MAX_DIMS = 4
DEFAULT_ALIGNMENT = 32


# ---- reader -----------------------------------------------------------------------------------
class _Cursor:
    def __init__(self, buf, path):
        self.b, self.p, self.path = buf, 0, path

    def need(self, n, what):
        if n > len(self.b) - self.p:
            raise GGUFError("%s: truncated while reading %s (need %d bytes at offset %d, file has %d)"
                            % (self.path, what, n, self.p, len(self.b)))

    def take(self, fmt, what):
        n = struct.calcsize(fmt)
        self.need(n, what)
        v = struct.unpack_from(fmt, self.b, self.p)
        self.p += n
        return v[0] if len(v) == 1 else v

    def string(self, what):
        n = self.take("<Q", what + " length")
        self.need(n, what)
        raw = bytes(self.b[self.p:self.p + n])
        self.p += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise GGUFError("%s: %s is not valid UTF-8 (%s)" % (self.path, what, e))

    def array(self, n, dtype, what):
        size = np.dtype(dtype).itemsize * n
        self.need(size, what)
        a = np.frombuffer(self.b, dtype=dtype, count=n, offset=self.p)
        self.p += size
        return a


class TensorInfo:
    def __init__(self, name, dims, type_id, offset):
        self.name, self.dims, self.type_id, self.offset = name, dims, type_id, offset
        self.type_name, self.block, self.type_size = GGML_TYPES[type_id]
        self.n = int(np.prod(dims, dtype=np.int64)) if dims else 1
        self.nbytes = self.n // self.block * self.type_size
        self.abs_offset = None

    @property
    def shape(self):
        """numpy / PyTorch shape: ggml dims reversed (ne0, the row length, is the last axis)."""
        return tuple(reversed(self.dims))


class GGUFFile:
    """A parsed GGUF file. kv: {key: (type, value)}; a scalar value is a Python int/float/bool/str,
    an array value is (element type, list or numpy array), nested for arrays of arrays."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.buf = f.read()
        c = _Cursor(self.buf, path)
        magic = bytes(c.b[:4]) if len(c.b) >= 4 else bytes(c.b)
        if magic != b"GGUF":
            raise GGUFError("%s: bad magic %r (expected b'GGUF')" % (path, magic))
        c.p = 4
        self.version = c.take("<I", "version")
        if self.version not in (2, 3):
            raise GGUFError("%s: unsupported GGUF version %d (reader handles 2 and 3)" % (path, self.version))
        n_tensors = c.take("<q", "tensor count")
        n_kv = c.take("<q", "metadata count")
        if n_tensors < 0 or n_kv < 0:
            raise GGUFError("%s: negative tensor (%d) or metadata (%d) count" % (path, n_tensors, n_kv))
        # every kv needs >= 12 bytes and every tensor info >= 24: refuse absurd counts before looping
        if n_kv * 12 + n_tensors * 24 > len(self.buf):
            raise GGUFError("%s: %d metadata entries / %d tensors cannot fit in %d bytes"
                            % (path, n_kv, n_tensors, len(self.buf)))
        self.kv, self.kv_order, self.nested_arrays = {}, [], []
        for i in range(n_kv):
            key = c.string("metadata key %d" % i)
            if not key:
                raise GGUFError("%s: metadata key %d is empty" % (path, i))
            if key in self.kv:
                raise GGUFError("%s: duplicate metadata key '%s'" % (path, key))
            vt = c.take("<I", "type of '%s'" % key)
            self.kv[key] = (vt, self._value(c, vt, key, 0))
            self.kv_order.append(key)
        al = self.kv.get("general.alignment")
        if al is not None and al[0] != T_UINT32:
            raise GGUFError("%s: general.alignment must be u32, is %s" % (path, _vt_name(al[0])))
        self.alignment = al[1] if al is not None else DEFAULT_ALIGNMENT
        if self.alignment == 0 or self.alignment & (self.alignment - 1):
            raise GGUFError("%s: general.alignment %d is not a power of two" % (path, self.alignment))
        self.tensors, self.by_name = [], {}
        for i in range(n_tensors):
            name = c.string("tensor name %d" % i)
            if len(name.encode("utf-8")) >= GGML_MAX_NAME:
                raise GGUFError("%s: tensor name '%s' is %d bytes (ggml allows < %d)"
                                % (path, name, len(name.encode()), GGML_MAX_NAME))
            if name in self.by_name:
                raise GGUFError("%s: duplicate tensor name '%s'" % (path, name))
            nd = c.take("<I", "dims of '%s'" % name)
            if nd < 1 or nd > GGML_MAX_DIMS:
                raise GGUFError("%s: tensor '%s' has %d dims (1..%d allowed)" % (path, name, nd, GGML_MAX_DIMS))
            dims = [c.take("<q", "dim of '%s'" % name) for _ in range(nd)]
            if any(d < 0 for d in dims):
                raise GGUFError("%s: tensor '%s' has a negative dim %s" % (path, name, dims))
            tid = c.take("<I", "type of '%s'" % name)
            if tid not in GGML_TYPES:
                raise GGUFError("%s: tensor '%s' has unknown ggml type %d" % (path, name, tid))
            off = c.take("<Q", "offset of '%s'" % name)
            ti = TensorInfo(name, dims, tid, off)
            if dims[0] % ti.block:
                raise GGUFError("%s: tensor '%s' (%s) row length %d is not a multiple of the block size %d"
                                % (path, name, ti.type_name, dims[0], ti.block))
            self.tensors.append(ti)
            self.by_name[name] = ti
        self.header_end = c.p
        self.data_offset = _pad(c.p, self.alignment) if self.tensors else c.p
        if self.data_offset > len(self.buf):
            raise GGUFError("%s: data section starts at %d, past the end of the file (%d)"
                            % (path, self.data_offset, len(self.buf)))
        if any(b != 0 for b in self.buf[self.header_end:self.data_offset]):
            raise GGUFError("%s: padding before the data section is not zero" % path)
        expect = 0
        for ti in self.tensors:   # gguf.cpp: offsets are the padded running sum, in info order
            if ti.offset != expect:
                raise GGUFError("%s: tensor '%s' has offset %d, expected %d (aligned to %d, in order)"
                                % (path, ti.name, ti.offset, expect, self.alignment))
            ti.abs_offset = self.data_offset + ti.offset
            if ti.abs_offset + ti.nbytes > len(self.buf):
                raise GGUFError("%s: tensor '%s' data [%d, %d) runs past the end of the file (%d)"
                                % (path, ti.name, ti.abs_offset, ti.abs_offset + ti.nbytes, len(self.buf)))
            expect += _pad(ti.nbytes, self.alignment)
        self.data_size = expect

    def _value(self, c, vt, key, depth):
        if vt == T_STRING:
            return c.string("value of '%s'" % key)
        if vt in VT_NUMPY:
            v = c.array(1, VT_NUMPY[vt], "value of '%s'" % key)[0]
            if vt == T_BOOL:
                if v > 1:
                    raise GGUFError("%s: bool '%s' has byte value %d" % (self.path, key, v))
                return bool(v)
            return float(v) if vt in (T_FLOAT32, T_FLOAT64) else int(v)
        if vt == T_ARRAY:
            et = c.take("<I", "array type of '%s'" % key)
            n = c.take("<Q", "array length of '%s'" % key)
            if n > len(c.b) - c.p:   # every element takes at least one byte
                raise GGUFError("%s: array '%s' claims %d elements, more than the bytes left" % (self.path, key, n))
            if et in VT_NUMPY:
                a = c.array(n, VT_NUMPY[et], "array '%s'" % key)
                if et == T_BOOL:
                    if np.any(a > 1):
                        raise GGUFError("%s: bool array '%s' holds a byte other than 0/1" % (self.path, key))
                    a = a.astype(bool)
                return (et, a)
            if et == T_STRING:
                return (et, [c.string("element %d of '%s'" % (i, key)) for i in range(n)])
            if et == T_ARRAY:
                if depth >= 8:
                    raise GGUFError("%s: arrays nested deeper than 8 levels in '%s'" % (self.path, key))
                if key not in self.nested_arrays:
                    self.nested_arrays.append(key)
                return (et, [self._value(c, T_ARRAY, key, depth + 1) for _ in range(n)])
            raise GGUFError("%s: array '%s' has invalid element type %d" % (self.path, key, et))
        raise GGUFError("%s: metadata '%s' has invalid value type %d" % (self.path, key, vt))

    # -- access
    def get(self, key, default=None):
        return self.kv[key][1] if key in self.kv else default

    def raw(self, name):
        ti = self.by_name[name]
        return np.frombuffer(self.buf, dtype=np.uint8, count=ti.nbytes, offset=ti.abs_offset)

    def blocks(self, name):
        """(n_blocks, block bytes) uint8 view of a tensor's data."""
        ti = self.by_name[name]
        return self.raw(name).reshape(-1, ti.type_size)

    def dequantize(self, name):
        """float32 array in numpy shape (ggml dims reversed)."""
        ti = self.by_name[name]
        return dequantize(self.raw(name), ti.type_name, ti.n).reshape(ti.shape)


def _pad(x, a):
    return (x + a - 1) // a * a


def _vt_name(vt):
    return VT_NAMES[vt] if 0 <= vt < len(VT_NAMES) else str(vt)


def describe_type(v):
    """'u32', 'arr[bool]', 'arr[arr[i32]]' for a (type, value) kv entry."""
    vt, val = v
    if vt != T_ARRAY:
        return _vt_name(vt)
    et, items = val
    if et == T_ARRAY:
        return "arr[%s]" % (describe_type((T_ARRAY, items[0])) if items else "arr")
    return "arr[%s]" % _vt_name(et)


# ---- fp16 / bf16 ------------------------------------------------------------------------------
def f16_to_f32(u16):
    """GGML_FP16_TO_FP32 (exact)."""
    return np.asarray(u16, dtype=np.uint16).view(np.float16).astype(np.float32)


def f32_to_f16_bits(x):
    """GGML_FP32_TO_FP16: IEEE round to nearest even (F16C / the scalar fallback agree)."""
    return np.asarray(x, dtype=np.float32).astype(np.float16).view(np.uint16)


def bf16_to_f32(u16):
    return (np.asarray(u16, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x):
    """ggml_compute_fp32_to_bf16: NaN -> quiet NaN, else round to nearest even on the top 16 bits."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7fffffff) > 0x7f800000
    r = ((u + (0x7fff + ((u >> 16) & 1))) >> 16).astype(np.uint16)
    return np.where(nan, ((u >> 16) | 64).astype(np.uint16), r)


# ---- dequantizers (ggml-quants.c) --------------------------------------------------------------
F32 = np.float32


def _scale_min_k4(scales):
    """get_scale_min_k4 for j = 0..7 over (nb, 12) scale bytes -> (sc, m), each (nb, 8) uint8."""
    q = scales.astype(np.uint8)
    sc = np.empty((q.shape[0], 8), np.uint8)
    m = np.empty((q.shape[0], 8), np.uint8)
    for j in range(8):
        if j < 4:
            sc[:, j] = q[:, j] & 63
            m[:, j] = q[:, j + 4] & 63
        else:
            sc[:, j] = (q[:, j + 4] & 0xF) | ((q[:, j - 4] >> 6) << 4)
            m[:, j] = (q[:, j + 4] >> 4) | ((q[:, j] >> 6) << 4)
    return sc, m


def _codes_k4(qs):
    """Q4_K nibbles in element order: for each 64-element chunk j (4 per block), 32 low nibbles of
    qs[32j:32j+32] then their 32 high nibbles (dequantize_row_q4_K) -> (nb, 256) uint8."""
    nb = qs.shape[0]
    q = qs.reshape(nb, 4, 32)
    return np.concatenate([q & 0xF, q >> 4], axis=2).reshape(nb, 256)


def _codes_k5(qh, qs):
    """Q5_K 5-bit codes in element order (dequantize_row_q5_K: chunk j uses qh bits 2j and 2j+1)."""
    nb = qs.shape[0]
    lo = _codes_k4(qs).reshape(nb, 4, 2, 32)
    out = np.empty((nb, 4, 2, 32), np.uint8)
    for j in range(4):
        out[:, j, 0] = lo[:, j, 0] + (((qh >> (2 * j)) & 1) << 4)
        out[:, j, 1] = lo[:, j, 1] + (((qh >> (2 * j + 1)) & 1) << 4)
    return out.reshape(nb, 256)


def _codes_q6(ql, qh):
    """Q6_K signed codes (q - 32) in element order (dequantize_row_q6_K) -> (nb, 256) int8."""
    nb = ql.shape[0]
    out = np.empty((nb, 2, 4, 32), np.int16)
    for n in range(2):
        l_ = ql[:, 64 * n:64 * n + 64]
        h = qh[:, 32 * n:32 * n + 32]
        out[:, n, 0] = (l_[:, :32] & 0xF) | (((h >> 0) & 3) << 4)
        out[:, n, 1] = (l_[:, 32:] & 0xF) | (((h >> 2) & 3) << 4)
        out[:, n, 2] = (l_[:, :32] >> 4) | (((h >> 4) & 3) << 4)
        out[:, n, 3] = (l_[:, 32:] >> 4) | (((h >> 6) & 3) << 4)
    return (out - 32).astype(np.int8).reshape(nb, 256)


def dequantize(raw, type_name, n):
    """float32[n] from raw tensor bytes of the given ggml type (ggml-quants.c dequantize_row_*)."""
    raw = np.asarray(raw, dtype=np.uint8)
    if type_name == "F32":
        return raw.view("<f4").astype(F32)
    if type_name == "F16":
        return f16_to_f32(raw.view("<u2"))
    if type_name == "BF16":
        return bf16_to_f32(raw.view("<u2"))
    tid = TYPE_ID.get(type_name)
    if tid is None:
        raise GGUFError("unknown ggml type " + type_name)
    _, blk, size = GGML_TYPES[tid]
    b = raw.reshape(-1, size)
    nb = b.shape[0]
    if nb * blk != n:
        raise GGUFError("%s: %d blocks do not hold %d values" % (type_name, nb, n))
    if type_name == "Q8_0":      # dequantize_row_q8_0: y = qs[j] * d
        d = f16_to_f32(b[:, 0:2].copy().view("<u2"))            # (nb, 1)
        qs = b[:, 2:34].view(np.int8).astype(F32)
        return (qs * d).reshape(-1)
    if type_name == "Q4_0":      # dequantize_row_q4_0: low nibbles -> j, high -> j + 16, minus 8
        d = f16_to_f32(b[:, 0:2].copy().view("<u2"))
        qs = b[:, 2:18]
        x = np.concatenate([(qs & 0xF).astype(np.int32) - 8, (qs >> 4).astype(np.int32) - 8], axis=1)
        return (x.astype(F32) * d).reshape(-1)
    if type_name in ("Q4_K", "Q5_K"):   # dequantize_row_q4_K / _q5_K
        d = f16_to_f32(b[:, 0:2].copy().view("<u2"))             # (nb, 1)
        dmin = f16_to_f32(b[:, 2:4].copy().view("<u2"))
        sc, m = _scale_min_k4(b[:, 4:16])                        # (nb, 8)
        if type_name == "Q4_K":
            q = _codes_k4(b[:, 16:144])
        else:
            q = _codes_k5(b[:, 16:48], b[:, 48:176])
        d_sub = (d * sc.astype(F32)).astype(F32)                 # d1 = d * sc
        m_sub = (dmin * m.astype(F32)).astype(F32)               # m1 = min * m
        y = np.repeat(d_sub, 32, axis=1) * q.astype(F32)         # d1 * q
        return (y - np.repeat(m_sub, 32, axis=1)).astype(F32).reshape(-1)   # ... - m1
    if type_name == "Q6_K":      # dequantize_row_q6_K: y = d * sc[is] * q
        ql, qh = b[:, 0:128], b[:, 128:192]
        sc = b[:, 192:208].view(np.int8).astype(F32)            # (nb, 16), one per 16 values
        d = f16_to_f32(b[:, 208:210].copy().view("<u2"))
        q = _codes_q6(ql, qh).astype(F32)
        ds = (d * sc).astype(F32)
        return (np.repeat(ds, 16, axis=1) * q).astype(F32).reshape(-1)
    raise GGUFError("no dequantizer for ggml type %s (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K)"
                    % type_name)


# ---- reference quantizers (ggml-quants.c) ------------------------------------------------------
def _roundf(v):
    """C roundf (half away from zero) of float32 values, computed exactly in float64."""
    v = np.asarray(v, dtype=np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _nearest_int(v):
    """ggml nearest_int: float + 12582912.f trick = round half to even (|v| < 2^22)."""
    return np.rint(np.asarray(v, dtype=F32)).astype(np.int32)


def quantize_q8_0_ref(x):
    """quantize_row_q8_0_ref: float32[k] -> (k/32, 34) uint8 blocks."""
    x = np.asarray(x, dtype=F32).reshape(-1, 32)
    amax = np.max(np.abs(x), axis=1, keepdims=True)
    d = (amax / F32(127)).astype(F32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, F32(1) / np.where(d != 0, d, F32(1)), F32(0)).astype(F32)
    qs = _roundf((x * idv).astype(F32)).astype(np.int8)
    out = np.empty((x.shape[0], 34), np.uint8)
    out[:, 0:2] = f32_to_f16_bits(d).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = qs.view(np.uint8)
    return out


def quantize_q4_0_ref(x):
    """quantize_row_q4_0_ref: d = max / -8 where max is the first value of largest |x|;
    code = MIN(15, (int8_t)(x*id + 8.5f)); element j -> low nibble of qs[j], j+16 -> high."""
    x = np.asarray(x, dtype=F32).reshape(-1, 32)
    ax = np.abs(x)
    first = np.argmax(ax == ax.max(axis=1, keepdims=True), axis=1)   # strict '<' keeps the first
    mx = x[np.arange(x.shape[0]), first][:, None]
    d = (mx / F32(-8)).astype(F32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, F32(1) / np.where(d != 0, d, F32(1)), F32(0)).astype(F32)
    v = ((x * idv).astype(F32) + F32(8.5)).astype(F32)
    q = np.minimum(15, np.trunc(v.astype(np.float64)).astype(np.int32)).astype(np.uint8)
    out = np.empty((x.shape[0], 18), np.uint8)
    out[:, 0:2] = f32_to_f16_bits(d).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out


def _make_qkx2_quants(x, w, nmax, rmin, rdelta, nstep):
    """make_qkx2_quants (use_mad = false) over S rows at once: x, w (S, n) float32 ->
    (scale (S,), the_min (S,), L (S, n) int32). Every float op in the C order, float32, no FMA
    (ggml builds with -std=c11, where GCC does not contract)."""
    S, n = x.shape
    mn, mx = x[:, 0].copy(), x[:, 0].copy()
    sum_w = w[:, 0].copy()
    sum_x = (sum_w * x[:, 0]).astype(F32)
    for i in range(1, n):
        mn = np.minimum(mn, x[:, i])
        mx = np.maximum(mx, x[:, i])
        sum_w = (sum_w + w[:, i]).astype(F32)
        sum_x = (sum_x + (w[:, i] * x[:, i]).astype(F32)).astype(F32)
    mn = np.where(mn > 0, F32(0), mn).astype(F32)
    flat = mx == mn
    rng = np.where(flat, F32(1), (mx - mn).astype(F32)).astype(F32)
    iscale = (F32(nmax) / rng).astype(F32)
    scale = (F32(1) / iscale).astype(F32)
    L = np.clip(_nearest_int((iscale[:, None] * (x - mn[:, None]).astype(F32)).astype(F32)), 0, nmax)
    best = np.zeros(S, F32)
    for i in range(n):
        diff = (((scale * L[:, i].astype(F32)).astype(F32) + mn).astype(F32) - x[:, i]).astype(F32)
        best = (best + (w[:, i] * (diff * diff).astype(F32)).astype(F32)).astype(F32)
    for st in range(nstep + 1):
        isc = ((F32(rmin) + (F32(rdelta) * F32(st)).astype(F32)).astype(F32) + F32(nmax)).astype(F32)
        # max - min with the *current* min: the C loop updates min when a candidate wins
        isc = (isc / np.where(flat, F32(1), (mx - mn).astype(F32))).astype(F32)
        La = np.clip(_nearest_int((isc[:, None] * (x - mn[:, None]).astype(F32)).astype(F32)), 0, nmax)
        Lf = La.astype(F32)
        sl = np.zeros(S, F32)
        sl2 = np.zeros(S, F32)
        sxl = np.zeros(S, F32)
        for i in range(n):
            wl = (w[:, i] * Lf[:, i]).astype(F32)
            sl = (sl + wl).astype(F32)
            sl2 = (sl2 + (wl * Lf[:, i]).astype(F32)).astype(F32)
            sxl = (sxl + (wl * x[:, i]).astype(F32)).astype(F32)
        D = ((sum_w * sl2).astype(F32) - (sl * sl).astype(F32)).astype(F32)
        ok = D > 0
        Ds = np.where(ok, D, F32(1)).astype(F32)
        this_scale = (((sum_w * sxl).astype(F32) - (sum_x * sl).astype(F32)).astype(F32) / Ds).astype(F32)
        this_min = (((sl2 * sum_x).astype(F32) - (sl * sxl).astype(F32)).astype(F32) / Ds).astype(F32)
        pos = this_min > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            alt = (sxl / sl2).astype(F32)
        this_scale = np.where(pos, alt, this_scale).astype(F32)
        this_min = np.where(pos, F32(0), this_min).astype(F32)
        cur = np.zeros(S, F32)
        for i in range(n):
            diff = (((this_scale * Lf[:, i]).astype(F32) + this_min).astype(F32) - x[:, i]).astype(F32)
            cur = (cur + (w[:, i] * (diff * diff).astype(F32)).astype(F32)).astype(F32)
        take = ok & (cur < best) & ~flat
        L = np.where(take[:, None], La, L)
        best = np.where(take, cur, best)
        scale = np.where(take, this_scale, scale)
        mn = np.where(take, this_min, mn)
    L = np.where(flat[:, None], 0, L)
    scale = np.where(flat, F32(0), scale).astype(F32)
    return scale, (-mn).astype(F32), L


def _pack_scale_min_k4(ls, lm):
    """quantize_row_q4_K_ref's 6-bit packing of 8 (scale, min) pairs -> (nb, 12) uint8."""
    nb = ls.shape[0]
    out = np.zeros((nb, 12), np.uint8)
    for j in range(8):
        if j < 4:
            out[:, j] = ls[:, j]
            out[:, j + 4] = lm[:, j]
        else:
            out[:, j + 4] = (ls[:, j] & 0xF) | ((lm[:, j] & 0xF) << 4)
            out[:, j - 4] |= (ls[:, j] >> 4) << 6
            out[:, j] |= (lm[:, j] >> 4) << 6
    return out


def quantize_qK_ref(x, type_name):
    """quantize_row_q4_K_ref / quantize_row_q5_K_ref: float32[k] -> (k/256, 144 or 176) uint8."""
    q5 = type_name == "Q5_K"
    nmax, rmin, rdelta, nstep = (31, -0.5, 0.1, 15) if q5 else (15, -1.0, 0.1, 20)
    xb = np.asarray(x, dtype=F32).reshape(-1, 8, 32)
    nb = xb.shape[0]
    xs = xb.reshape(-1, 32)
    sum_x2 = np.zeros(xs.shape[0], F32)
    for l_ in range(32):
        sum_x2 = (sum_x2 + (xs[:, l_] * xs[:, l_]).astype(F32)).astype(F32)
    av_x = np.sqrt((sum_x2 / F32(32)).astype(F32)).astype(F32)
    w = (av_x[:, None] + np.abs(xs)).astype(F32)
    sc, mins, L = _make_qkx2_quants(xs, w, nmax, rmin, rdelta, nstep)
    sc, mins, L = sc.reshape(nb, 8), mins.reshape(nb, 8), L.reshape(nb, 256)
    max_scale = np.zeros(nb, F32)
    max_min = np.zeros(nb, F32)
    for j in range(8):     # strict '>' running maxima starting at 0
        max_scale = np.where(sc[:, j] > max_scale, sc[:, j], max_scale)
        max_min = np.where(mins[:, j] > max_min, mins[:, j], max_min)
    inv_s = np.where(max_scale > 0, F32(63) / np.where(max_scale > 0, max_scale, F32(1)), F32(0)).astype(F32)
    inv_m = np.where(max_min > 0, F32(63) / np.where(max_min > 0, max_min, F32(1)), F32(0)).astype(F32)
    ls = np.minimum(63, _nearest_int((inv_s[:, None] * sc).astype(F32)) & 0xFF).astype(np.uint8)  # uint8_t cast
    lm = np.minimum(63, _nearest_int((inv_m[:, None] * mins).astype(F32)) & 0xFF).astype(np.uint8)
    out = np.zeros((nb, 176 if q5 else 144), np.uint8)
    dbits = f32_to_f16_bits((max_scale / F32(63)).astype(F32))
    mbits = f32_to_f16_bits((max_min / F32(63)).astype(F32))
    out[:, 0:2] = dbits.reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = mbits.reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 4:16] = _pack_scale_min_k4(ls, lm)
    exp, _, mask = requantize_codes(out, xb.reshape(-1), type_name, codes_only=True)
    L = np.where(mask, exp, L)          # sub-blocks with d == 0 keep make_qkx2_quants' codes
    if not q5:
        Lr = L.reshape(nb, 4, 2, 32)
        out[:, 16:144] = (Lr[:, :, 0] | (Lr[:, :, 1] << 4)).reshape(nb, 128).astype(np.uint8)
        return out
    Lr = L.reshape(nb, 4, 2, 32)
    qh = np.zeros((nb, 32), np.uint8)
    ql = np.zeros((nb, 4, 32), np.uint8)
    for c in range(4):
        l1, l2 = Lr[:, c, 0].copy(), Lr[:, c, 1].copy()
        qh |= np.where(l1 > 15, 1 << (2 * c), 0).astype(np.uint8)
        qh |= np.where(l2 > 15, 2 << (2 * c), 0).astype(np.uint8)
        ql[:, c] = ((l1 & 15) | ((l2 & 15) << 4)).astype(np.uint8)
    out[:, 16:48] = qh
    out[:, 48:176] = ql.reshape(nb, 128)
    return out


GROUP_MAX_EPS = F32(1e-15)


def _make_qx_quants_rmse1(x, nmax):
    """make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL) over S rows: -> (scale (S,), L (S, n))."""
    S, n = x.shape
    ax = np.abs(x)
    amax = ax.max(axis=1)
    first = np.argmax(ax == amax[:, None], axis=1)
    mx = x[np.arange(S), first]
    zero = amax < GROUP_MAX_EPS
    mxs = np.where(zero, F32(1), mx).astype(F32)
    w = (x * x).astype(F32)

    def sums(isc):
        l_ = np.clip(_nearest_int((isc[:, None] * x).astype(F32)), -nmax, nmax - 1)
        lf = l_.astype(F32)
        slx = np.zeros(S, F32)
        sl2 = np.zeros(S, F32)
        for i in range(n):
            slx = (slx + ((w[:, i] * x[:, i]).astype(F32) * lf[:, i]).astype(F32)).astype(F32)
            sl2 = (sl2 + ((w[:, i] * lf[:, i]).astype(F32) * lf[:, i]).astype(F32)).astype(F32)
        return l_, slx, sl2

    iscale = (F32(-nmax) / mxs).astype(F32)
    l_, sumlx, suml2 = sums(iscale)
    L = l_ + nmax
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(suml2 != 0, (sumlx / suml2).astype(F32), F32(0)).astype(F32)
    best = (scale * sumlx).astype(F32)
    for st in range(-9, 10):
        if st == 0:
            continue
        isc = (-(F32(nmax) + (F32(0.1) * F32(st)).astype(F32)).astype(F32) / mxs).astype(F32)
        l_, slx, sl2 = sums(isc)
        take = (sl2 > 0) & ((slx * slx).astype(F32) > (best * sl2).astype(F32)) & ~zero
        with np.errstate(divide="ignore", invalid="ignore"):
            nscale = (slx / sl2).astype(F32)
        L = np.where(take[:, None], l_ + nmax, L)
        scale = np.where(take, nscale, scale).astype(F32)
        best = np.where(take, (nscale * slx).astype(F32), best).astype(F32)
    L = np.where(zero[:, None], 0, L)
    scale = np.where(zero, F32(0), scale).astype(F32)
    return scale, L


def quantize_q6_K_ref(x):
    """quantize_row_q6_K_ref: float32[k] -> (k/256, 210) uint8."""
    xb = np.asarray(x, dtype=F32).reshape(-1, 16, 16)
    nb = xb.shape[0]
    sc, L = _make_qx_quants_rmse1(xb.reshape(-1, 16), 32)
    sc, L = sc.reshape(nb, 16), L.reshape(nb, 256)
    max_scale = np.zeros(nb, F32)
    max_abs = np.zeros(nb, F32)
    for ib in range(16):
        a = np.abs(sc[:, ib])
        upd = a > max_abs
        max_abs = np.where(upd, a, max_abs)
        max_scale = np.where(upd, sc[:, ib], max_scale)
    zero = max_abs < GROUP_MAX_EPS
    iscale = (F32(-128) / np.where(zero, F32(1), max_scale)).astype(F32)
    out = np.zeros((nb, 210), np.uint8)
    dbits = f32_to_f16_bits((F32(1) / iscale).astype(F32))
    out[:, 208:210] = dbits.reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    scl = np.minimum(127, _nearest_int((iscale[:, None] * sc).astype(F32))).astype(np.int8)
    out[:, 192:208] = scl.view(np.uint8)
    exp, _, mask = requantize_codes(out, xb.reshape(-1), "Q6_K", codes_only=True)
    L = np.where(mask, exp + 32, L)
    Lr = L.reshape(nb, 2, 4, 32)
    for h in range(2):
        q1, q2, q3, q4 = (Lr[:, h, c] for c in range(4))
        out[:, 64 * h:64 * h + 32] = ((q1 & 0xF) | ((q3 & 0xF) << 4)).astype(np.uint8)
        out[:, 64 * h + 32:64 * h + 64] = ((q2 & 0xF) | ((q4 & 0xF) << 4)).astype(np.uint8)
        out[:, 128 + 32 * h:128 + 32 * h + 32] = ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4)
                                                  | ((q4 >> 4) << 6)).astype(np.uint8)
    out[zero] = 0
    return out


def quantize_ref(x, type_name):
    """ggml's reference quantizer (quantize_row_*_ref) for Q8_0, Q4_0, Q4_K, Q5_K, Q6_K."""
    if type_name == "Q8_0":
        return quantize_q8_0_ref(x)
    if type_name == "Q4_0":
        return quantize_q4_0_ref(x)
    if type_name in ("Q4_K", "Q5_K"):
        return quantize_qK_ref(x, type_name)
    if type_name == "Q6_K":
        return quantize_q6_K_ref(x)
    raise GGUFError("no reference quantizer for " + type_name)


def requantize_codes(blocks, x, type_name, codes_only=False):
    """The final, deterministic step of quantize_row_q{4,5,6}_K_ref: given the scales stored in
    each block, every code must be nearest_int((x + dm) / d) clamped (q4_K/q5_K) or
    nearest_int(x / d) clamped (q6_K). Returns (expected codes, stored codes, mask of sub-blocks
    the reference re-quantizes (d != 0)), codes as (nb, 256) int arrays in element order."""
    b = np.asarray(blocks, dtype=np.uint8)
    x = np.asarray(x, dtype=F32).reshape(-1, 256)
    nb = b.shape[0]
    if type_name in ("Q4_K", "Q5_K"):
        d = f16_to_f32(b[:, 0:2].copy().view("<u2"))
        dmin = f16_to_f32(b[:, 2:4].copy().view("<u2"))
        sc, m = _scale_min_k4(b[:, 4:16])
        dd = (d * sc.astype(F32)).astype(F32)                 # const float d = fp16(y.d) * sc
        dm = (dmin * m.astype(F32)).astype(F32)               # const float dm = fp16(y.dmin) * m
        nmax = 15 if type_name == "Q4_K" else 31
        xs = x.reshape(nb, 8, 32)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = ((xs + dm[:, :, None]).astype(F32) / dd[:, :, None]).astype(F32)
        v = np.where(dd[:, :, None] != 0, v, F32(0))
        exp = np.clip(_nearest_int(v), 0, nmax).reshape(nb, 256)
        mask = np.repeat(dd != 0, 32, axis=1)
        if codes_only:
            return exp, None, mask
        got = _codes_k4(b[:, 16:144]) if type_name == "Q4_K" else _codes_k5(b[:, 16:48], b[:, 48:176])
        return exp, got.astype(np.int32), mask
    if type_name == "Q6_K":
        sc = b[:, 192:208].view(np.int8).astype(F32)
        d = f16_to_f32(b[:, 208:210].copy().view("<u2"))
        dd = (d * sc).astype(F32)                             # float d = fp16(y.d) * scales[j]
        xs = x.reshape(nb, 16, 16)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (xs / dd[:, :, None]).astype(F32)
        v = np.where(dd[:, :, None] != 0, v, F32(0))
        exp = np.clip(_nearest_int(v), -32, 31).reshape(nb, 256)
        mask = np.repeat(dd != 0, 16, axis=1)
        if codes_only:
            return exp, None, mask
        got = _codes_q6(b[:, 0:128], b[:, 128:192]).astype(np.int32)
        return exp, got, mask
    raise GGUFError("requantize_codes: %s is not a k-quant" % type_name)


# ---- activation quantization (ggml CPU backend: vec_dot_type of each weight type) -------------
def act_roundtrip(x, weight_type):
    """The activation rows (..., n) as the CPU matmul sees them after quantizing them to the
    weight type's vec_dot_type and dequantizing: Q8_0 (quantize_row_q8_0: d = amax/127 stored as
    fp16, q = roundf(x / d)) for Q8_0/Q4_0 weights; Q8_K (quantize_row_q8_K_ref: iscale = -127/max,
    q = MIN(127, nearest_int(iscale*x)), d = 1/iscale in f32) for the k-quants; unchanged otherwise.
    The integer block dot products of vec_dot_*_q8_* equal the dequantized-weight x
    dequantized-activation sums exactly, so only the float summation order remains."""
    x = np.asarray(x, dtype=F32)
    shp = x.shape
    if weight_type in ("Q8_0", "Q4_0"):
        r = x.reshape(-1, 32)
        amax = np.max(np.abs(r), axis=1, keepdims=True)
        d = (amax / F32(127)).astype(F32)
        idv = np.where(d != 0, F32(1) / np.where(d != 0, d, F32(1)), F32(0)).astype(F32)
        q = _roundf((r * idv).astype(F32)).astype(F32)
        return (f16_to_f32(f32_to_f16_bits(d)) * q).astype(F32).reshape(shp)
    if weight_type in ("Q4_K", "Q5_K", "Q6_K"):
        r = x.reshape(-1, 256)
        ax = np.abs(r)
        first = np.argmax(ax == ax.max(axis=1, keepdims=True), axis=1)
        mx = r[np.arange(r.shape[0]), first][:, None]
        nz = mx != 0
        iscale = np.where(nz, F32(-127) / np.where(nz, mx, F32(1)), F32(0)).astype(F32)
        q = np.minimum(127, _nearest_int((iscale * r).astype(F32))).astype(F32)
        d = np.where(nz, F32(1) / np.where(nz, iscale, F32(1)), F32(0)).astype(F32)
        return np.where(nz, d * q, F32(0)).astype(F32).reshape(shp)
    return x


# ---- llama.cpp tensor-type choice (src/llama-quant.cpp) ----------------------------------------
FTYPES = {"q8_0": "Q8_0", "q4_0": "Q4_0", "q4_K": "Q4_K", "q5_K": "Q5_K", "q6_K": "Q6_K",
          "q4_K_M": "Q4_K", "f16": "F16", "bf16": "BF16", "f32": "F32"}


def use_more_bits(i_layer, n_layers):
    """llama_tensor_get_type_impl's use_more_bits (C integer division; operands are >= 0)."""
    return i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8 or (i_layer - n_layers // 8) % 3 == 2


def llama_tensor_types(infos, ftype, pure):
    """{name: type name} llama-quantize would choose for the tensors [(name, dims, src type)] in file
    order, for ftype in FTYPES; `pure` = --pure (no mix). Norms / 1-D tensors / rope_freqs keep their
    type (tensor_allows_quantization); f16/bf16/f32 targets convert every 2-D weight."""
    default = FTYPES[ftype]
    quantized = default not in ("F16", "BF16", "F32")
    has_output = any(n == "output.weight" for n, _, _ in infos)
    n_attn_v = sum(1 for n, _, _ in infos if "attn_v.weight" in n)
    n_ffn_down = sum(1 for n, _, _ in infos if "ffn_down" in n)
    i_attn_v = i_ffn_down = 0
    out = {}
    for name, dims, src in infos:
        n_dims = 1 + max([i for i, d in enumerate(dims) if d > 1], default=0)   # ggml_n_dims
        allows = n_dims >= 2 and name.endswith("weight") and "_norm.weight" not in name
        if not allows:
            out[name] = src
            continue
        t = default
        if quantized and not pure:
            cat_out = name == "output.weight" or (not has_output and name == "token_embd.weight")
            if cat_out:
                nx = dims[0]
                t = "Q8_0" if nx % GGML_TYPES[TYPE_ID[t]][1] else ("Q6_K" if t != "Q8_0" else t)
            elif "attn_v.weight" in name:
                if ftype == "q4_K_M" and use_more_bits(i_attn_v, n_attn_v):
                    t = "Q6_K"
                i_attn_v += 1
            elif "ffn_down" in name:
                if ftype == "q4_K_M" and use_more_bits(i_ffn_down, n_ffn_down):
                    t = "Q6_K"
                i_ffn_down += 1
        if quantized and dims[0] % GGML_TYPES[TYPE_ID[t]][1]:    # tensor_type_fallback
            t = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}.get(t)
            if t is None:
                raise GGUFError("%s: no llama.cpp fallback for row length %d" % (name, dims[0]))
            if dims[0] % GGML_TYPES[TYPE_ID[t]][1]:
                t = "F16"
        out[name] = t
    return out


# ---- GGUF -> HF folder --------------------------------------------------------------------------
def hf_name(arch, gname):
    """spec §6.2: GGUF tensor name -> HF name (None for rope_freqs.weight)."""
    if gname == "rope_freqs.weight":
        return None
    ex = arch == "exaone"
    top = {"token_embd.weight": "transformer.wte.weight" if ex else "model.embed_tokens.weight",
           "output_norm.weight": "transformer.ln_f.weight" if ex else "model.norm.weight",
           "output.weight": "lm_head.weight"}
    if gname in top:
        return top[gname]
    parts = gname.split(".")
    if len(parts) != 4 or parts[0] != "blk" or not parts[1].isdigit() or parts[3] != "weight":
        raise GGUFError("unexpected tensor name '%s'" % gname)
    n, what = parts[1], parts[2]
    if ex:
        p = "transformer.h.%s." % n
        m = {"attn_norm": "ln_1", "attn_q": "attn.attention.q_proj", "attn_k": "attn.attention.k_proj",
             "attn_v": "attn.attention.v_proj", "attn_output": "attn.attention.out_proj", "ffn_norm": "ln_2",
             "ffn_gate": "mlp.c_fc_0", "ffn_up": "mlp.c_fc_1", "ffn_down": "mlp.c_proj"}
    else:
        p = "model.layers.%s." % n
        m = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm",
             "attn_k_norm": "self_attn.k_norm", "post_attention_norm": "post_attention_layernorm",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
             "post_ffw_norm": "post_feedforward_layernorm"}
    if what not in m:
        raise GGUFError("unexpected tensor name '%s' for architecture %s" % (gname, arch))
    return p + m[what] + ".weight"


def llama3_factors(theta, d, scaling):
    """rope_freqs as llama.cpp's converter computes them (convert_hf_to_gguf.py, llama3 branch):
    freqs = 1/theta^(arange(0,d,2)/d) in float32, per-pair divisor 1, factor or the blend, in
    Python float64, stored float32."""
    freqs = (1.0 / (F32(theta) ** (np.arange(0, d, 2, dtype=F32) / F32(d)))).astype(F32)
    factor = scaling.get("factor", 8.0)
    lo = scaling.get("low_freq_factor", 1.0)
    hi = scaling.get("high_freq_factor", 4.0)
    old = scaling.get("original_max_position_embeddings", 8192)
    lo_wl, hi_wl = old / lo, old / hi
    out = []
    for f in freqs.tolist():
        wl = 2 * math.pi / f
        if wl < hi_wl:
            out.append(1.0)
        elif wl > lo_wl:
            out.append(factor)
        else:
            s = (old / wl - lo) / (hi - lo)
            out.append(1.0 / ((1 - s) / factor + s))
    return np.array(out, dtype=F32)


def _need(g, key, types):
    if key not in g.kv:
        raise GGUFError("%s: missing metadata key '%s'" % (g.path, key))
    vt, v = g.kv[key]
    if vt not in types:
        raise GGUFError("%s: '%s' has type %s, expected %s" % (g.path, key, _vt_name(vt),
                                                            "/".join(_vt_name(t) for t in types)))
    return v


def hf_config(g, source_config=None):
    """config.json dict for the GGUF (spec §1.2 key spelling per family, §6)."""
    arch = _need(g, "general.architecture", (T_STRING,))
    if arch not in ("exaone", "exaone4"):
        raise GGUFError("%s: architecture '%s' is not exaone/exaone4" % (g.path, arch))
    u32 = (T_UINT32,)
    D = _need(g, arch + ".embedding_length", u32)
    L = _need(g, arch + ".block_count", u32)
    F = _need(g, arch + ".feed_forward_length", u32)
    H = _need(g, arch + ".attention.head_count", u32)
    Hkv = g.get(arch + ".attention.head_count_kv", H)
    eps = _need(g, arch + ".attention.layer_norm_rms_epsilon", (T_FLOAT32,))
    theta = g.get(arch + ".rope.freq_base", 10000.0)
    ctx = _need(g, arch + ".context_length", u32)
    emb = g.by_name.get("token_embd.weight")
    if emb is None:
        raise GGUFError("%s: no token_embd.weight" % g.path)
    V = g.get(arch + ".vocab_size", emb.dims[1])
    d = g.get(arch + ".attention.key_length", g.get(arch + ".rope.dimension_count", D // H))
    tie = "output.weight" not in g.by_name
    scaling = None
    if "rope_freqs.weight" in g.by_name:
        fr = g.dequantize("rope_freqs.weight")
        if fr.shape != (d // 2,):
            raise GGUFError("%s: rope_freqs.weight has shape %s, expected (%d,)" % (g.path, fr.shape, d // 2))
        if source_config is not None:
            rs = source_config.get("rope_scaling") or dict(source_config.get("rope_parameters") or {})
            rs = {k: v for k, v in rs.items() if k != "rope_theta"}
        else:   # llama3 with the family defaults (spec §1.1); factor = the largest divisor
            rs = {"factor": float(fr.max()), "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 8192, "rope_type": "llama3"}
        want = llama3_factors(theta, d, rs)
        if not np.allclose(fr, want, rtol=2e-6, atol=0):
            i = int(np.argmax(np.abs(fr - want) / want))
            raise GGUFError("%s: rope_freqs.weight[%d] = %r but llama3 %s gives %r"
                            % (g.path, i, float(fr[i]), rs, float(want[i])))
        scaling = dict(rs)
        scaling["rope_type"] = "llama3"
    c = {"vocab_size": int(V), "hidden_size": int(D), "num_attention_heads": int(H),
         "num_key_value_heads": int(Hkv), "intermediate_size": int(F), "rope_theta": float(theta),
         "rope_scaling": scaling, "max_position_embeddings": int(ctx), "tie_word_embeddings": tie,
         "bos_token_id": 1, "eos_token_id": 361, "pad_token_id": 0}
    if arch == "exaone":
        if d != D // H:
            raise GGUFError("%s: exaone head dim %d != hidden/heads %d" % (g.path, d, D // H))
        c.update({"model_type": "exaone", "architectures": ["ExaoneForCausalLM"], "num_layers": int(L),
                  "layer_norm_epsilon": float(eps), "activation_function": "silu", "head_dim": int(d)})
    else:
        W = g.get("exaone4.attention.sliding_window")
        pat = g.kv.get("exaone4.attention.sliding_window_pattern")
        if pat is not None:
            if pat[0] != T_ARRAY or pat[1][0] != T_BOOL or len(pat[1][1]) != L:
                raise GGUFError("%s: exaone4.attention.sliding_window_pattern must be a bool array of %d"
                                % (g.path, L))
            slide = [bool(v) for v in pat[1][1]]
        elif L == 64:   # llama.cpp: only the 64-layer model is hybrid by default (period 4)
            slide = [i % 4 < 3 for i in range(L)]
            W = W if W is not None else 4096
        else:
            slide = [False] * L
        if any(slide) and W is None:
            raise GGUFError("%s: sliding layers but no exaone4.attention.sliding_window" % g.path)
        c.update({"model_type": "exaone4", "architectures": ["Exaone4ForCausalLM"], "num_hidden_layers": int(L),
                  "rms_norm_eps": float(eps), "hidden_act": "silu", "head_dim": int(d),
                  "sliding_window": int(W) if any(slide) else None,
                  "layer_types": ["sliding_attention" if s else "full_attention" for s in slide]})
    return c


def write_safetensors_f32(path, tensors):
    """Minimal safetensors writer: {name: float32 array}, names sorted, header padded to 8."""
    hdr, off, names = {}, 0, sorted(tensors)
    for n in names:
        nbytes = tensors[n].size * 4
        hdr[n] = {"dtype": "F32", "shape": list(tensors[n].shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for n in names:
            f.write(np.ascontiguousarray(tensors[n], dtype="<f4").tobytes())


def to_hf(g, out_dir, source_config=None, override=None):
    """Write OUT_DIR/config.json + model.safetensors (f32). override: {gguf name: float32 array}
    replacing a dequantized tensor. Returns the config dict."""
    cfg = hf_config(g, source_config)
    arch = cfg["model_type"]
    ts = {}
    for ti in g.tensors:
        hn = hf_name(arch, ti.name)
        if hn is None:
            continue
        a = override[ti.name] if override and ti.name in override else g.dequantize(ti.name)
        ts[hn] = np.ascontiguousarray(a, dtype=F32)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)
    write_safetensors_f32(os.path.join(out_dir, "model.safetensors"), ts)
    return cfg


# ---- CLI ------------------------------------------------------------------------------------------
def _short(v):
    vt, val = v
    if vt == T_ARRAY:
        et, items = val
        head = list(items[:6]) if et != T_ARRAY else ["..."]
        return "%s len %d %s%s" % (describe_type(v), len(items), head, " ..." if len(items) > 6 else "")
    return repr(val)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a1 = sub.add_parser("info")
    a1.add_argument("file")
    a2 = sub.add_parser("to-hf")
    a2.add_argument("file")
    a2.add_argument("out")
    a2.add_argument("--source-config", help="HF folder whose config.json's rope_scaling the rope_freqs must match")
    a = ap.parse_args(argv)
    try:
        g = GGUFFile(a.file)
        if a.cmd == "info":
            print("GGUF v%d, %d metadata, %d tensors, alignment %d, data at %d (%d bytes)"
                  % (g.version, len(g.kv), len(g.tensors), g.alignment, g.data_offset, g.data_size))
            for k in g.kv_order:
                print("  %-48s %-10s %s" % (k, describe_type(g.kv[k]), _short(g.kv[k])[:100]))
            for ti in g.tensors:
                print("  %-32s %-5s dims %s offset %d" % (ti.name, ti.type_name, ti.dims, ti.offset))
        else:
            src = None
            if a.source_config:
                with open(os.path.join(a.source_config, "config.json"), encoding="utf-8") as f:
                    src = json.load(f)
            cfg = to_hf(g, a.out, src)
            print("%s: %s, %d tensors" % (a.out, cfg["model_type"], len(g.tensors)))
    except GGUFError as e:
        print("gguf_ref: " + str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
