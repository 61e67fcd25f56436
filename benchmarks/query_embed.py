"""The text model on the CPU: ONNX Runtime (the platform's default there) vs PyTorch, on the same texts in one run.

    .venv/bin/python benchmarks/query_embed.py [--texts 400] [--batch-texts 2048] [--threads 1]

Two cases, both through `bank.embeddings.TextEmbedder` (tokeniser, length bucketing, pooling included):

- one text at a time, the way a chat message or a search query is embedded in a web worker (which runs its
  models on one thread, gunicorn.conf.py): p50/p95 per text over Banking77 test questions, the two runtimes
  alternating text by text so both see the same machine state;
- a batch (EMBEDDING_BATCH_SIZE texts a forward pass) of Banking77 training texts on every core, the way the
  workers embed products, profiles and the knowledge base: texts per second.

It also prints how far apart the two runtimes' vectors are (max |difference|, min cosine). The ONNX export is made
on the first run (about 10 s) and kept in this benchmark's own artifact folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bank.settings")
os.environ.setdefault("EMBEDDED_PG_DB", "bank_bench")
os.environ.setdefault("MODEL_ARTIFACT_DIR", str(ROOT / "var" / "bench" / "models"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=400, help="single texts timed per runtime")
    parser.add_argument("--batch-texts", type=int, default=2048, help="texts embedded in batches per runtime")
    parser.add_argument("--threads", type=int, default=1, help="threads for the single-text case")
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.conf import settings

    from bank import embeddings
    from bank.embeddings import TextEmbedder, text_model_path

    folder = Path(settings.BANKING77_DIR)
    with (folder / "test.csv").open() as handle:
        queries = [row["text"] for row in csv.DictReader(handle)][: args.texts]
    with (folder / "train.csv").open() as handle:
        documents = [row["text"] for row in csv.DictReader(handle)][: args.batch_texts]

    def load(runtime: str, threads: int) -> TextEmbedder:
        settings.EMBEDDING_RUNTIME, settings.ML_CPU_THREADS = runtime, threads
        model = TextEmbedder(path=text_model_path(), batch_size=settings.EMBEDDING_BATCH_SIZE, device="cpu")
        if model.runtime != runtime:
            raise SystemExit(f"asked for {runtime}, got {model.runtime} (see the warning above)")
        return model

    cores = embeddings._cpu_count()
    started = time.perf_counter()
    runtimes = {"onnx": load("onnx", args.threads), "torch": load("torch", args.threads)}
    print(f"loaded both (ONNX export made or read) in {time.perf_counter() - started:.1f} s")

    timings: dict[str, list[float]] = {name: [] for name in runtimes}
    for text in queries[:10]:  # warm-up
        for model in runtimes.values():
            model.embed_documents([text])
    for text in queries:
        for name, model in runtimes.items():
            t0 = time.perf_counter()
            model.embed_documents([text])  # not embed_query: its memo would time a dictionary lookup
            timings[name].append((time.perf_counter() - t0) * 1000)

    onnx_vectors = runtimes["onnx"].embed_documents(queries)
    torch_vectors = runtimes["torch"].embed_documents(queries)
    difference = float(np.abs(onnx_vectors - torch_vectors).max())
    cosine = float((onnx_vectors * torch_vectors).sum(axis=1).min())

    batch_rates = {}
    for name in runtimes:
        model = load(name, cores)
        model.embed_documents(documents[:64])
        t0 = time.perf_counter()
        model.embed_documents(documents)
        batch_rates[name] = len(documents) / (time.perf_counter() - t0)

    print(f"one text at a time, {args.threads} thread(s), {len(queries)} Banking77 test questions (alternating):")
    p50 = {name: statistics.median(values) for name, values in timings.items()}
    for name in runtimes:
        print(f"  {name:5}  p50 {p50[name]:6.2f} ms   p95 {percentile(timings[name], 95):6.2f} ms")
    print(f"  PyTorch / ONNX Runtime at p50: {p50['torch'] / p50['onnx']:.2f}x")
    print(f"batches of {settings.EMBEDDING_BATCH_SIZE}, {cores} thread(s), {len(documents)} Banking77 training texts:")
    for name, value in batch_rates.items():
        print(f"  {name:5}  {value:8.0f} texts/s")
    print(f"  ONNX Runtime / PyTorch: {batch_rates['onnx'] / batch_rates['torch']:.2f}x")
    print(f"vectors: max |difference| {difference:.2e}, min cosine {cosine:.7f} ({len(queries)} texts)")


if __name__ == "__main__":
    main()
