"""`data trilingual` and `data pseudo` shared between processes (data/progress.py with a
bulk.Shard): batch b of each step on process b % N, one progress file per process and step,
process 0 writing the one-process bytes; killed and resumed with another number of processes.

The ranks of a run are threads here, each with its own Shard whose barrier is one shared
RankBarrier (what accelerate's wait_for_everyone is between processes); the command runs
once under a real 2-process `accelerate launch` (CPU, gloo) on a tiny random NMT bridge."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from babelbridge.bulk import Shard, partial_dir
from babelbridge.cli.main import main
from babelbridge.data.progress import cut_batches
from babelbridge.data.pseudo import build_pseudo, plan_pseudo, report_path
from babelbridge.data.pseudo_filters import LanguageIdentifier
from babelbridge.data.trilingual import build_triples, plan_triples
from babelbridge.pairs import TranslationPair

ROOT = Path(__file__).resolve().parents[1]
EN, DE, FR, ES = "eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn"


class Killed(Exception):
    pass


class RankBarrier:
    """What accelerate's wait_for_everyone is between processes, for threads: a wait that every
    rank reached is over for all of them, even when a rank fails right after it (abort() breaks
    only waits still unfinished). threading.Barrier is not that: an abort() before a released
    waiter wakes up breaks that finished wait too (a flaky test in CI)."""

    def __init__(self, parties, timeout=60):
        self.parties, self.timeout = parties, timeout
        self.cond = threading.Condition()
        self.count = self.generation = 0
        self.broken = False

    def wait(self):
        with self.cond:
            if self.broken:
                raise threading.BrokenBarrierError
            generation = self.generation
            self.count += 1
            if self.count == self.parties:
                self.count, self.generation = 0, generation + 1
                self.cond.notify_all()
                return
            self.cond.wait_for(lambda: self.generation != generation or self.broken, self.timeout)
            if self.generation == generation:  # broken (or timed out) before every rank came
                self.broken = True
                self.cond.notify_all()
                raise threading.BrokenBarrierError

    def abort(self):
        with self.cond:
            self.broken = True
            self.cond.notify_all()


def run_ranks(world, build, fail=None):
    """build(shard, calls) on ranks 0..world-1 at once (threads); each rank's translate calls.

    fail: (rank, n) makes that rank's n-th call raise Killed, as a kill of the run would (the
    other ranks then stop at their next barrier)."""
    barrier = RankBarrier(world)
    calls = [[] for _ in range(world)]
    errors = [None] * world

    def body(rank):
        try:
            build(Shard(rank, world, barrier.wait), calls[rank], fail[1] if fail and fail[0] == rank else None)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors[rank] = err
            barrier.abort()

    threads = [threading.Thread(target=body, args=(rank,)) for rank in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if fail is None:
        for err in errors:
            if err is not None:
                raise err
    elif not isinstance(errors[fail[0]], Killed):
        raise AssertionError(f"rank {fail[0]} was not killed: {errors}")
    return calls


def recorder(calls, fail_at, tag):
    """A fake bridge: each text tagged with its target; the fail_at-th call raises Killed."""

    def translate(texts, *langs):
        if fail_at is not None and len(calls) + 1 == fail_at:
            raise Killed
        calls.append((*langs, list(texts)))
        return [tag(t, langs[-1]) for t in texts]

    return translate


# ---- data trilingual ------------------------------------------------------------------------------

PAIRS = [TranslationPair(f"Satz {i}", f"Sentence number {i}" + " x" * (i % 4), DE) for i in range(9)] + \
    [TranslationPair("Hello there.", "Bonjour.", EN, FR)]
TRI_LANGS = [FR, ES]


def tri_plan():
    return plan_triples(PAIRS, TRI_LANGS, batch_size=2)  # French 5 batches, Spanish 5


def tri(out):
    def build(shard, calls, fail_at=None):
        build_triples(tri_plan(), recorder(calls, fail_at, lambda t, y: f"{t} >{y}"), out, arguments={"b": 1},
                      shard=shard)

    return build


@pytest.fixture(scope="module")
def tri_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("tri") / "t.jsonl"
    calls = run_ranks(1, tri(out))[0]
    return out.read_bytes(), calls


@pytest.mark.parametrize("world", [2, 3])
def test_trilingual_shared_writes_the_one_process_bytes_each_rank_its_own_batches(tmp_path, tri_reference, world):
    out = tmp_path / "t.jsonl"
    calls = run_ranks(world, tri(out))
    assert out.read_bytes() == tri_reference[0]
    plan = tri_plan()
    english = [s.english for s in plan.sources]
    for rank in range(world):
        assert calls[rank] == [(y, [english[i] for i in batch]) for y in TRI_LANGS
                               for b, batch in enumerate(plan.batches(y)) if b % world == rank]
    assert not partial_dir(out).exists() and sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]


@pytest.mark.parametrize("resume_world", [1, 3])
def test_trilingual_killed_with_two_processes_resumes_with_another_count(tmp_path, tri_reference, resume_world):
    out = tmp_path / "t.jsonl"
    killed = run_ranks(2, tri(out), fail=(1, 3))  # rank 1: French batches 1 and 3 done, killed in Spanish 1
    assert not out.exists()
    names = sorted(p.name for p in partial_dir(out).iterdir())
    assert names == ["args.json", *(f"{y}.part-{r}.jsonl" for y in TRI_LANGS for r in (0, 1))] or \
        names == ["args.json", *(f"{FR}.part-{r}.jsonl" for r in (0, 1)), f"{ES}.part-0.jsonl"]
    resumed = run_ranks(resume_world, tri(out))
    assert out.read_bytes() == tri_reference[0]
    # Nothing translated twice, nothing skipped: the two runs together did every batch once.
    every = sorted(map(repr, (c for rank in killed + resumed for c in rank)))
    assert every == sorted(map(repr, tri_reference[1]))


# ---- data pseudo ----------------------------------------------------------------------------------

SOURCES = {
    DE: ["Guten Morgen, liebe Freunde.", "Der Hund schläft.", "Es regnet heute den ganzen Tag.", "Ja.",
         "Nein, danke."],
    FR: ["Bonjour à tous.", "Le chien dort sous la table.", "Il pleut.", "Oui."],
    ES: ["Buenos días.", "El perro duerme.", "Llueve todo el día hoy.", "Sí, gracias."],
}
IDENTIFIER = LanguageIdentifier(lambda texts: [t.rsplit(">", 1)[-1] for t in texts], lambda lang: {lang[:3]},
                                "fake-id 1.0")


def pseudo_plan():
    return plan_pseudo(SOURCES, EN, batch_size=2)


def pseudo(out):
    def build(shard, calls, fail_at=None):
        build_pseudo(pseudo_plan(), recorder(calls, fail_at, lambda t, y: f"{t} >{y[:3]}"), IDENTIFIER, out,
                     arguments={"b": 1}, shard=shard)

    return build


@pytest.fixture(scope="module")
def pseudo_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("pseudo") / "p.jsonl"
    calls = run_ranks(1, pseudo(out))[0]
    return out.read_bytes(), report_path(out).read_bytes(), calls


def pseudo_batches(plan):
    """(step key, batch index, src, tgt, texts) of every batch of a run, in run order."""
    out = []
    pivots = {}
    for x in plan.langs:
        order = plan.source_order(x)
        for b, batch in enumerate(cut_batches(order, plan.batch_size)):
            out.append((f"{x}-{EN}", b, x, EN, [plan.sources[x][i] for i in batch]))
        pivots[x] = [f"{t} >eng" for t in plan.sources[x]]
    for x in plan.langs:
        order = sorted(range(len(pivots[x])), key=lambda i: (-len(pivots[x][i]), i))
        for y in plan.langs:
            if y != x:
                for b, batch in enumerate(cut_batches(order, plan.batch_size)):
                    out.append((f"{x}-{EN}-{y}", b, EN, y, [pivots[x][i] for i in batch]))
    return out


@pytest.mark.parametrize("world", [2, 3])
def test_pseudo_shared_writes_the_one_process_bytes_each_rank_its_own_batches(tmp_path, pseudo_reference, world):
    out = tmp_path / "p.jsonl"
    calls = run_ranks(world, pseudo(out))
    assert out.read_bytes() == pseudo_reference[0]
    report = json.loads(report_path(out).read_text())
    assert report["directions"] == json.loads(pseudo_reference[1])["directions"]
    batches = pseudo_batches(pseudo_plan())
    assert sorted(map(repr, (c for rank in calls for c in rank))) == sorted(map(repr, pseudo_reference[2]))
    for rank in range(world):
        # Step (b) of a rank translates pivots other ranks made: every rank read all of step (a).
        assert calls[rank] == [(src, tgt, texts) for _, b, src, tgt, texts in batches if b % world == rank]
    assert not partial_dir(out).exists()


@pytest.mark.parametrize("fail", [(0, 2), (1, 5)])  # in step (a); in step (b)
@pytest.mark.parametrize("resume_world", [1, 3])
def test_pseudo_killed_with_two_processes_resumes_with_another_count(tmp_path, pseudo_reference, fail, resume_world):
    out = tmp_path / "p.jsonl"
    killed = run_ranks(2, pseudo(out), fail=fail)
    assert not out.exists() and not report_path(out).exists()
    assert all(".part-" in p.name for p in partial_dir(out).glob("*.jsonl"))
    resumed = run_ranks(resume_world, pseudo(out))
    assert out.read_bytes() == pseudo_reference[0]
    every = sorted(map(repr, (c for rank in killed + resumed for c in rank)))
    assert every == sorted(map(repr, pseudo_reference[2]))  # each batch once over the two runs
    assert not partial_dir(out).exists()


@pytest.mark.parametrize("resume_world", [1, 3])
def test_a_torn_line_is_redone_once_whoever_owns_the_batch_now(tmp_path, pseudo_reference, resume_world):
    out = tmp_path / "p.jsonl"
    run_ranks(2, pseudo(out), fail=(1, 1))  # rank 1 killed in its first batch (German's batch 1) ...
    part = partial_dir(out) / f"{DE}-{EN}.part-1.jsonl"
    part.write_bytes(b'{"batch": 1, "i": [1, 3], "tgt": ["Der')  # ... while writing it
    calls = run_ranks(resume_world, pseudo(out))
    assert out.read_bytes() == pseudo_reference[0]
    german = [(rank, c) for rank in range(resume_world) for c in calls[rank] if c[:2] == (DE, EN)]
    assert [rank for rank, _ in german] == [1 % resume_world]  # batch 1, once, by its owner now


# ---- the command under a real `accelerate launch` -----------------------------------------------

SCRIPT = "import sys\nfrom babelbridge.cli import main\nsys.exit(main.main(sys.argv[1:]))\n"


@pytest.fixture(scope="module")
def nmt_bridge(tmp_path_factory):
    from babelbridge.bridges import save_nmt_baseline

    return save_nmt_baseline("tiny-random:m2m100", tmp_path_factory.mktemp("nmt") / "bridge")


def test_trilingual_under_accelerate_launch_with_two_processes(nmt_bridge, tmp_path, capsys):
    corpus = tmp_path / "de-en.tsv"
    corpus.write_text("".join(f"Satz {i}.\tSentence number {i}{' again' * (i % 3)}.\n" for i in range(5)),
                      encoding="utf-8")
    argv = ["data", "trilingual", "--corpus", f"tsv:{corpus}", "--src-lang", "de", "--bridge", str(nmt_bridge),
            "--tgt-langs", "fra_Latn,spa_Latn", "--batch-size", "2", "--num-beams", "1", "--max-new-tokens", "6",
            "--quiet"]
    one = tmp_path / "one.jsonl"
    assert main([*argv, "--out", str(one)]) == 0
    capsys.readouterr()

    two = tmp_path / "two.jsonl"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    # As tests/test_bulk_translate.py: processes on a CPU need --multi_gpu plus ACCELERATE_USE_CPU=1 (gloo).
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(script), *argv,
           "--out", str(two)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert two.read_bytes() == one.read_bytes()  # the one-process file, byte for byte
    assert done.stdout.count("wrote 10 triples") == 1 and done.stdout.count("corpus tsv:") == 1  # process 0 alone
    assert "6 batches translated" in done.stdout
    assert not partial_dir(two).exists()
