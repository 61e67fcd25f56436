"""A segment in plain words, from its centroid: pure functions, no database.

The name is made of the (at most three) features that most distinguish the segment from the whole population,
i.e. its largest centroid z-scores in absolute value, each read as "high …" or "low …" (e.g. "Young, low income,
little spent on housing"). Only features at least DISTINCT_Z standard deviations from the population mean count;
a segment with none is "Typical customers". The description adds the numbers: the segment's average next to
the population's for up to five such features, and the segment's share of customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from customers.segments.features import BY_NAME, FeatureSpec

DISTINCT_Z = 0.4
NAME_FEATURES = 3
DESCRIPTION_FEATURES = 5


@dataclass(frozen=True)
class SegmentWords:
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    defining: list[tuple[str, float]]  # (feature, z-score), most distinguishing first


def defining_features(zscores: Mapping[str, float], *, limit: int | None = None) -> list[tuple[str, float]]:
    """Features at least DISTINCT_Z from the population, largest |z| first (ties by name, for stable words), one
    per theme (the strongest): "high debt, credit card holders, high card use" says one thing three times."""
    ranked = sorted(((n, float(z)) for n, z in zscores.items() if abs(z) >= DISTINCT_Z and n in BY_NAME),
                    key=lambda nz: (-abs(nz[1]), nz[0]))
    picked: list[tuple[str, float]] = []
    themes: set[str] = set()
    for name, z in ranked:
        theme = BY_NAME[name].theme or name
        if theme not in themes:
            themes.add(theme)
            picked.append((name, z))
    return picked[:limit] if limit is not None else picked


def _phrase(spec: FeatureSpec, z: float, lang: str) -> str:
    if lang == "zh":
        return spec.high_zh if z > 0 else spec.low_zh
    return spec.high_en if z > 0 else spec.low_en


def format_value(spec: FeatureSpec, value: float, lang: str) -> str:
    """A feature's value in its own units, as a person reads it (¥12,300; 41 years; 35%)."""
    if spec.unit == "years":
        return f"{value:.0f}岁" if lang == "zh" else f"{value:.0f} years"
    if spec.unit == "money":
        return f"¥{round(value, -2):,.0f}" if value >= 1000 else f"¥{value:,.0f}"
    if spec.unit == "share":
        return f"{value:.0%}"
    if spec.unit == "flag":
        return f"{value:.0%}持有" if lang == "zh" else f"{value:.0%} hold one"
    return f"{value:.1f}"


def _name(phrases: Sequence[str], lang: str) -> str:
    if not phrases:
        return "典型客户" if lang == "zh" else "Typical customers"
    if lang == "zh":
        return "、".join(phrases)
    text = ", ".join(phrases)
    return text[0].upper() + text[1:]


def describe_segment(
    *,
    zscores: Mapping[str, float],
    averages: Mapping[str, float],
    population: Mapping[str, float],
    share: float,
    name_features: int = NAME_FEATURES,
) -> SegmentWords:
    """Words for one segment. `averages` and `population` are means in the features' own units (yuan, years),
    `zscores` the centroid's z-scores; `share` the segment's share of the customers clustered."""
    defining = defining_features(zscores)
    named = defining[:name_features]
    name_en = _name([_phrase(BY_NAME[n], z, "en") for n, z in named], "en")
    name_zh = _name([_phrase(BY_NAME[n], z, "zh") for n, z in named], "zh")
    shown = defining[:DESCRIPTION_FEATURES]
    parts_en = [
        f"{_phrase(BY_NAME[n], z, 'en')} ({format_value(BY_NAME[n], averages[n], 'en')} on average vs "
        f"{format_value(BY_NAME[n], population[n], 'en')} overall)"
        for n, z in shown
    ]
    parts_zh = [
        f"{_phrase(BY_NAME[n], z, 'zh')}（平均{format_value(BY_NAME[n], averages[n], 'zh')}，全体为"
        f"{format_value(BY_NAME[n], population[n], 'zh')}）"
        for n, z in shown
    ]
    percent = f"{share:.0%}" if share >= 0.01 or share == 0 else "<1%"
    if parts_en:
        description_en = f"{percent} of customers. Compared with all customers: " + "; ".join(parts_en) + "."
        description_zh = f"占客户的{percent}。与全体客户相比：" + "；".join(parts_zh) + "。"
    else:
        description_en = f"{percent} of customers, close to the average on every feature."
        description_zh = f"占客户的{percent}，各项特征都接近平均水平。"
    return SegmentWords(name_en, name_zh, description_en, description_zh, defining)


def describe_segments(
    *,
    zscores: Sequence[Mapping[str, float]],
    averages: Sequence[Mapping[str, float]],
    population: Mapping[str, float],
    shares: Sequence[float],
) -> list[SegmentWords]:
    """Words for every segment of a run, names made distinct: where two segments would share a name, both take
    one more defining feature until they differ (or run out, when the later one is numbered)."""
    words: list[SegmentWords] = []
    for z, c, s in zip(zscores, averages, shares, strict=True):
        n = NAME_FEATURES
        candidate = describe_segment(zscores=z, averages=c, population=population, share=s, name_features=n)
        taken = {w.name_en for w in words}
        while candidate.name_en in taken and n < len(candidate.defining):
            n += 1
            candidate = describe_segment(zscores=z, averages=c, population=population, share=s, name_features=n)
        if candidate.name_en in taken:
            number = next(n for n in range(2, len(words) + 2) if f"{candidate.name_en} ({n})" not in taken)
            candidate = SegmentWords(f"{candidate.name_en} ({number})", f"{candidate.name_zh}（{number}）",
                                     candidate.description_en, candidate.description_zh, candidate.defining)
        words.append(candidate)
    return words

