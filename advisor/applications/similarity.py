"""Zero-shot reading of a customer's reason with the platform's sentence-embedding models.

Each need label has a few exemplar phrasings in English and Chinese; a clause of the reason is embedded with the
encoder the platform uses for its language (bank.embeddings: MiniLM for English, multilingual-e5 for Chinese)
and compared with every exemplar. A label's similarity to a clause is its best exemplar's cosine. "_none" holds
phrasings that state no need ("my friend recommended it"), so a clause about nothing in particular is closest
to them and a label has to beat them by the margin too.

The exemplar vectors are computed once per process and encoder (they are a few dozen short texts) and kept;
the encoders themselves are the platform's, loaded lazily once per process by bank.embeddings.

How a similarity becomes a label is reading.py's business; the thresholds live here because they belong to the
encoders: MiniLM's and e5's cosines are on different scales (e5 puts unrelated short texts at ~0.75).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from bank.embeddings import MULTILINGUAL_MODEL_NAME, TEXT_MODEL_NAME, Embedder, embedder, has_cjk

NONE = "_none"

# label -> (English phrasings, Chinese phrasings). Written as customers put it, not as the catalogue does;
# deliberately without the exact keyword forms reading._KEYWORDS already catches, so that the two readers
# complement each other.
EXEMPLARS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "no_fx_fees": (
        ("no foreign transaction fees", "no charge when I pay in another currency",
         "avoid currency conversion charges", "no FX markup on purchases overseas",
         "spend in dollars or euros without paying extra", "no extra cost when I use my card abroad"),
        ("免外汇手续费", "境外消费不收货币转换费", "用外币付款不要额外收费", "海外刷卡没有汇率加价"),
    ),
    "travel": (
        ("I travel a lot", "I go on trips abroad often", "I fly several times a year",
         "I spend a lot of time in other countries", "I often travel for work", "for my holidays overseas",
         "I live and work in several countries"),
        ("我经常出国旅行", "经常出差", "每年出境好几次", "我经常坐飞机", "常常去国外度假"),
    ),
    "cashback": (
        ("money back on my purchases", "get a percentage of my spending returned", "cash back on groceries",
         "a rebate on what I spend", "get some money back"),
        ("消费返现", "买东西能返钱", "刷卡返现金", "消费返点"),
    ),
    "rewards": (
        ("earn points on my spending", "collect air miles", "a loyalty rewards programme",
         "redeem points for flights and gifts"),
        ("刷卡攒积分", "攒航空里程", "积分兑换礼品"),
    ),
    "lounge": (
        ("airport lounge access", "relax in a lounge before my flight", "VIP lounge at the airport",
         "a Priority Pass"),
        ("机场贵宾厅", "候机时去休息室", "免费进机场贵宾室"),
    ),
    "low_fees": (
        ("no annual fee", "low charges", "I don't want to pay account fees", "a cheap account with minimal costs",
         "a free account", "low management fees"),
        ("免年费", "费用低", "不想付年费", "收费少", "管理费低"),
    ),
    "low_rate": (
        ("a low interest rate", "cheap borrowing", "pay less interest on my loan", "a low APR",
         "cheaper than my current loan"),
        ("低利率", "利息少一点", "贷款利率低", "借钱成本低"),
    ),
    "capital_protection": (
        ("I can't afford to lose the money I put in", "my principal must be safe", "capital guaranteed",
         "get back at least what I invested"),
        ("保本", "本金不能亏", "保证本金安全", "至少拿回投入的钱"),
    ),
    "low_risk": (
        ("a safe, low-risk option", "I'm a cautious investor", "nothing volatile",
         "stability rather than big swings", "I'm risk averse"),
        ("低风险", "稳健一点", "不想冒险", "波动小"),
    ),
    "high_yield": (
        ("a high return", "grow my money faster", "better returns than a savings account", "maximise my gains",
         "beat inflation"),
        ("高收益", "回报率高", "让钱增值更快", "跑赢通胀"),
    ),
    "liquidity": (
        ("take my money out at any time", "access my savings whenever I need them", "not locked in for years",
         "withdraw without penalty", "an emergency fund I can reach quickly"),
        ("随时可以取钱", "随存随取", "资金灵活", "不想被锁定太久"),
    ),
    "esg": (
        ("invest in green companies", "sustainable and ethical", "climate friendly", "renewable energy",
         "avoid fossil fuels"),
        ("绿色投资", "环保", "可持续发展", "支持新能源"),
    ),
    NONE: (
        ("I want to apply for this product", "my friend recommended it", "it looks good",
         "I just opened an account", "I have been a customer for years", "please process my application",
         "my salary is paid into this bank"),
        ("我想申请这个产品", "朋友推荐的", "看起来不错", "请处理我的申请", "我是老客户了"),
    ),
}


@dataclass(frozen=True)
class Thresholds:
    confirm: float  # a keyword hit stands when its label's similarity in the clause reaches this
    accept: float  # an embeddings-only label (no keyword or rule agrees) needs this, the stricter bar
    margin: float  # ... and to beat every other label, "_none" included, by this


# Chosen on the "tune" half of advisor/applications/data/reasons_eval.jsonl (`benchmarks/reasons.py --tune`), the
# figures quoted are on the other half. `accept` is the grid's best (F1 falls 1-2 points a step either side).
# `confirm` made no difference on that half between 0 and ~0.45 (a keyword in an affirmed clause is nearly always
# right); it is kept at the low end so that a keyword far from anything its label means is still dropped. The
# margin cost nothing at 0.01 and F1 from 0.02 up (close labels such as travel / no_fx_fees or low_risk /
# capital_protection are often both right), so it only breaks near-ties.
THRESHOLDS: dict[str, Thresholds] = {
    TEXT_MODEL_NAME: Thresholds(confirm=0.30, accept=0.48, margin=0.01),
    MULTILINGUAL_MODEL_NAME: Thresholds(confirm=0.80, accept=0.92, margin=0.01),
}


@dataclass(frozen=True)
class ClauseSimilarity:
    encoder: str  # the embedder's model name (embedding.text / embedding.multilingual)
    best: dict[str, tuple[float, str]]  # label (and "_none") -> (similarity, the piece of the clause it came from)

    def ranked(self) -> list[tuple[str, float]]:
        return sorted(((label, sim) for label, (sim, _) in self.best.items()), key=lambda item: -item[1])


_lock = threading.Lock()
# (encoder name, Chinese?) -> (label of each exemplar row, unit vectors)
_exemplar_vectors: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}


def _exemplars(model: Embedder, *, chinese: bool) -> tuple[np.ndarray, np.ndarray]:
    """The exemplar vectors for clauses of one language, embedded once per process. Chinese clauses are compared
    with both languages' exemplars (e5 maps them into one space); English ones with the English exemplars only
    (MiniLM's vector of Chinese text is noise)."""
    key = (model.name, chinese)
    cached = _exemplar_vectors.get(key)
    if cached is not None:
        return cached
    with _lock:
        if key not in _exemplar_vectors:
            labels, texts = [], []
            for label, (english, zh) in EXEMPLARS.items():
                for text in english + (zh if chinese else ()):
                    labels.append(label)
                    texts.append(text)
            # Short texts on both sides: e5's "query: " side for both (its symmetric-task prefix).
            _exemplar_vectors[key] = (np.array(labels), model.embed_queries(texts))
        return _exemplar_vectors[key]


def clause_similarities(clauses: list[list[str]]) -> list[ClauseSimilarity]:
    """For each clause, given as its pieces (the clause and the parts it splits into at "and"), every label's best
    similarity over pieces and exemplars. One batch per encoder."""
    out: list[ClauseSimilarity | None] = [None] * len(clauses)
    for chinese in (False, True):
        rows = [i for i, pieces in enumerate(clauses) if has_cjk(" ".join(pieces)) == chinese]
        if not rows:
            continue
        model = embedder(multilingual=chinese)
        labels, exemplars = _exemplars(model, chinese=chinese)
        pieces = [piece for i in rows for piece in clauses[i]]
        similarity = model.embed_queries(pieces) @ exemplars.T  # (pieces, exemplars), unit vectors
        start = 0
        for i in rows:
            block = similarity[start:start + len(clauses[i])]
            start += len(clauses[i])
            best: dict[str, tuple[float, str]] = {}
            for label in EXEMPLARS:
                columns = block[:, labels == label]
                piece, column = np.unravel_index(int(np.argmax(columns)), columns.shape)
                best[label] = (round(float(columns[piece, column]), 4), clauses[i][piece])
            out[i] = ClauseSimilarity(encoder=model.name, best=best)
    return [c for c in out if c is not None]
