"""A MiniLM-shaped sentence-embedding model folder with random weights, for the GPU benchmarks (benchmarks/gpu).

    python benchmarks/gpu/random_minilm.py .gpu/minilm-arch /tmp/minilm-random

Same architecture, tokenizer and pooling as the packaged all-MiniLM-L6-v2, so a forward pass costs exactly what
the real model's does; its vectors mean nothing. The folder holds a RANDOM_WEIGHTS file, which the benchmarks
print, so no figure made with it can pass for a quality figure.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    import torch
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(0)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    model = AutoModel.from_config(AutoConfig.from_pretrained(str(target)))  # nosec B615  # a local folder
    model.save_pretrained(str(target), safe_serialization=True)
    (target / "RANDOM_WEIGHTS").write_text("MiniLM architecture, random weights: speed figures only.\n")
    print(f"{target}: {sum(p.numel() for p in model.parameters()):,} parameters, random weights")


if __name__ == "__main__":
    main()
