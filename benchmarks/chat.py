"""Per-turn latency of the assistant: intent + retrieval + answer, with and without generation, in one run.

    EMBEDDED_PG_DB=bank_bench .venv/bin/python benchmarks/chat.py [--turns 200] [--generated-turns 30]

Builds what it needs in its own database (a small demo bank if it has none, the knowledge base, an intent
model if none is active: a quick one, `--full-intents` for the real one), then sends customer messages
through `chat.services.send_message` -- the path the portal and the API take, database writes included:

- questions sampled from the held-out Banking77 test set (English) and the Chinese test file, answered from
  the knowledge base, plus balance and transaction requests;
- the same English knowledge questions again with the local SmolLM2 model phrasing answers (each checked
  against its sources), to show what generation costs.

It prints p50/p95 per turn for each mode, the time of each stage (intent, retrieval, generation) and how
often a generated answer passed the faithfulness check.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench")
# Its own artifact folder too: a benchmark's models never sit beside (or replace) the platform's.
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(Path(__file__).resolve().parent.parent / "var" / "bench" / "models"))
# The threads a web worker runs its models with (gunicorn.conf.py sets the same for gunicorn's workers).
for _name in ("ML_CPU_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bank.embeddings import has_cjk  # noqa: E402
from customers.models import Customer  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def questions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # nosec B311  # seeded synthetic benchmark data, not security
    with (Path(settings.BANKING77_DIR) / "test.csv").open() as handle:
        english = [row["text"] for row in csv.DictReader(handle)]
    with (ROOT / "chat" / "data" / "intents_zh_test.csv").open() as handle:
        chinese = [row["text"] for row in csv.DictReader(handle)]
    actions = ["What's my balance?", "show my transactions last week", "我的余额是多少", "最近30天的交易"]
    picked = rng.sample(english, n // 2) + rng.sample(chinese, n // 3)
    picked += [rng.choice(actions) for _ in range(n - len(picked))]
    rng.shuffle(picked)
    return picked


def run(texts: list[str], customer: Customer, label: str) -> tuple[list[float], dict[str, int]]:
    from chat.services import send_message, start_conversation

    timings: list[float] = []
    modes: dict[str, int] = {}
    for text in texts:
        conversation = start_conversation(customer=customer, channel="bench")
        started = time.perf_counter()
        exchange = send_message(conversation=conversation, text=text, actor=customer.user, channel="bench")
        timings.append((time.perf_counter() - started) * 1000)
        mode = exchange.answer.answer_mode.split(":")[0]
        modes[mode] = modes.get(mode, 0) + 1
    print(f"{label:<44}{percentile(timings, 50):>9.1f}{percentile(timings, 95):>9.1f}"
          f"{statistics.fmean(timings):>9.1f}   {len(texts)} turns", flush=True)
    return timings, modes


def stages(texts: list[str]) -> None:
    """Each stage alone, and the intent reader's previous paths as peers on fresh texts (no memo hit): both
    encoders in turn (before the turn ran them side by side), and both side by side (before the English head read
    MiniLM alone), against what a turn runs now (MiniLM for English, e5 for Chinese)."""
    import numpy as np

    from bank.embeddings import multilingual_embedder, text_embedder
    from chat.knowledge import retrieve
    from chat.ml.intents import Features, encode
    from chat.ml.scoring import active_model, classify

    _, model = active_model()
    text_model, e5 = text_embedder(), multilingual_embedder()
    in_turn_ms, side_by_side_ms, intent_ms, retrieve_ms = [], [], [], []
    for n, text in enumerate(texts):
        fresh = f"{text} ({n})"  # a text no path has embedded before: no memo hit on any side
        started = time.perf_counter()
        matrix = np.hstack([text_model.embed_documents([fresh])[0], e5.embed_queries([fresh])[0]])[None, :]
        model.predict(Features(matrix=matrix.astype(np.float32), cjk=np.array([bool(has_cjk(fresh))])))
        in_turn_ms.append((time.perf_counter() - started) * 1000)
        fresh = f"{text} <{n}>"
        started = time.perf_counter()
        model.predict(encode([fresh], multilingual_for_latin=True))
        side_by_side_ms.append((time.perf_counter() - started) * 1000)
        fresh = f"{text} [{n}]"
        started = time.perf_counter()
        intent = classify(fresh).prediction.intent
        intent_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        retrieve(fresh, intent=intent, limit=3)
        retrieve_ms.append((time.perf_counter() - started) * 1000)
    for name, values in (("  intent, both encoders in turn", in_turn_ms),
                         ("  intent, both encoders side by side", side_by_side_ms),
                         ("  intent (the encoder its script needs)", intent_ms),
                         ("  retrieval (vector + full text + intent)", retrieve_ms)):
        print(f"{name:<44}{percentile(values, 50):>9.1f}{percentile(values, 95):>9.1f}"
              f"{statistics.fmean(values):>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--generated-turns", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full-intents", action="store_true", help="Train the real intent model if none is active.")
    args = parser.parse_args()

    import logging

    logging.getLogger("chat.answers").setLevel(logging.WARNING)  # each rejected answer is logged at INFO
    call_command("migrate", interactive=False, verbosity=0)
    if not Customer.objects.exists():
        print("seeding 2,000 customers …", flush=True)
        call_command("seed_demo", customers=2000, seed=7, months=3, quiet=True)
    from bank.registry import active_version

    if active_version("advisor.recommender") is None:
        call_command("train_recommender", activate=True, skip_evaluation=True, quiet=True)
    call_command("load_knowledge_base", quiet=True)
    if active_version("chat.intents") is None:
        print("training an intent model …", flush=True)
        call_command("train_intents", activate=True, quiet=True,
                     **({} if args.full_intents else {"max_per_intent": 20}))
    customer = Customer.objects.filter(user__isnull=False, kyc_status="verified").order_by("id").first()
    texts = questions(args.turns, args.seed)
    print(f"model {active_version('chat.intents').label}; {len(texts)} turns; CPU, "
          f"{len(os.sched_getaffinity(0))} cores\n", flush=True)

    settings.CHAT_LLM_BACKEND = "none"
    run(texts[:5], customer, "(warm-up)")  # load the encoders, fill caches
    print(f"\n{'per turn, ms':<44}{'p50':>9}{'p95':>9}{'mean':>9}")
    plain, _ = run(texts, customer, "no generation (extractive answers)")
    stages(texts)

    english_questions = [t for t in texts if t.isascii() and "balance" not in t and "transactions" not in t]
    sample = english_questions[: args.generated_turns]
    if not sample:
        return  # --generated-turns 0: no generation part
    settings.CHAT_LLM_BACKEND = "none"
    baseline, _ = run(sample, customer, "same English questions, no generation")
    settings.CHAT_LLM_BACKEND = "local"
    from bank.llm import chat_model

    started = time.perf_counter()
    chat_model()
    print(f"{'  (SmolLM2 loaded in':<44}{time.perf_counter() - started:>8.1f} s)")
    generated, modes = run(sample, customer, "with SmolLM2 generation (checked)")
    passed = modes.get("generated", 0)
    print(f"\ngeneration / no generation: p50 {percentile(generated, 50) / percentile(baseline, 50):.1f}×, "
          f"p95 {percentile(generated, 95) / percentile(baseline, 95):.1f}×; generated answers that passed the "
          f"faithfulness check: {passed} of {len(sample)} ({modes})")


if __name__ == "__main__":
    main()
