"""`babelbridge data export ...` and `babelbridge data bible-languages`."""

from __future__ import annotations

EPILOG = """examples:
  babelbridge data export --format bible --src-lang deu_Latn --split train --out de-en.train.tsv
  babelbridge data export --format bible --src-lang fr --tgt-lang de --split test --out fr-de.jsonl
  babelbridge data export --format flores --path /data/flores200 --src-lang de --split dev --out dev.tsv
  babelbridge data bible-languages"""


def add_parser(sub) -> None:
    import argparse

    # No import of babelbridge.data here: it loads torch, and every command builds this parser.
    p = sub.add_parser("data", help="export a corpus to TSV/JSONL; list the Bible's languages",
                       description="Work with parallel corpora.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    e = data_sub.add_parser("export", help="read one corpus (any format) and write its pairs as TSV or JSONL",
                            description="Read one corpus as a training config would (same validation, "
                                        "same skipping of empty pairs) and write its pairs, atomically.")
    e.add_argument("--format", required=True, help="tsv, jsonl, text, flores or bible")
    e.add_argument("--path", "--db", dest="path", metavar="PATH",
                   help="corpus file or directory; for --format bible the bible.db "
                        "(default: the cached asset 'bible-db', fetched once)")
    e.add_argument("--tgt-path", metavar="PATH", help="target file of --format text")
    e.add_argument("--src-lang", help="source language, e.g. deu_Latn, de, German")
    e.add_argument("--tgt-lang", default="eng_Latn", help="target language (default: eng_Latn)")
    e.add_argument("--split", help="flores: devtest (default) or dev; bible: train, dev or test (required)")
    e.add_argument("--out", required=True, metavar="FILE")
    e.add_argument("--output-format", metavar="{tsv,jsonl}", help="default: jsonl if FILE ends in .jsonl, else tsv")
    e.add_argument("--limit", type=int, metavar="N", help="write at most N pairs")
    e.set_defaults(func=export)

    b = data_sub.add_parser("bible-languages", help="the Bible versions per language and pairs per split",
                            description="The version used for each of the 22 languages and the number of "
                                        "verse pairs with English (WEB) in each split.")
    b.add_argument("--db", metavar="PATH", help="bible.db (default: the cached asset 'bible-db')")
    b.set_defaults(func=bible_languages)


def export(args) -> None:
    from itertools import islice
    from pathlib import Path

    from ..data import WRITE_FORMATS, CorpusSpec, DataError, read_corpus, write_pairs
    from ..data.bible import BibleReport, bible_pairs

    fmt = args.output_format or ("jsonl" if Path(args.out).suffix == ".jsonl" else "tsv")
    if fmt not in WRITE_FORMATS:  # before reading: a corpus can take a while
        raise DataError(f"unknown output format {fmt!r}; expected one of: {', '.join(WRITE_FORMATS)}")
    spec = CorpusSpec(args.format, args.path, tgt_path=args.tgt_path, src_lang=args.src_lang,
                      tgt_lang=args.tgt_lang, split=args.split, limit=args.limit)
    if spec.format == "bible":  # read directly: its report says which verses were skipped and why
        report = BibleReport()
        pairs = list(islice(bible_pairs(spec.src_lang, spec.tgt_lang, spec.split, spec.path, report), spec.limit))
        note = report.summary()
    else:
        corpus = read_corpus(spec)
        pairs, note = corpus.pairs, corpus.report.summary()
    out = write_pairs(pairs, args.out, fmt)
    print(f"wrote {len(pairs)} pairs to {out} ({fmt}); {note}")


def bible_languages(args) -> None:
    from ..data.bible import SPLITS, book_names, format_counts, split_books, verse_counts

    print(format_counts(verse_counts(args.db)))
    names = book_names(args.db)
    print("\npairs with English (WEB) per split, markers and merged verses skipped; "
          "the English row counts WEB's own verses")
    for split in SPLITS:
        books = split_books(split)
        listed = ", ".join(f"{names.get(b, 'book')} {b}" for b in books) if split != "train" else \
            f"the other {len(books)} books"
        print(f"{split + ':':6} {listed}")
