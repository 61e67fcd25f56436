"""Reading a customer's reason for applying ("I travel a lot and want no foreign-exchange fees") into needs
from a closed vocabulary.

First the reason is cut into clauses, and a clause that says the customer does NOT want something ("I don't care
about fees", "我很少出国") is set aside: nothing in it counts as a need, whichever reader finds it. Then, in order:

- A language model behind an OpenAI-compatible endpoint (bank.llm), when one is configured, is asked to pick
  labels and answer in JSON. Nothing it says is taken on its word: a label is accepted only when it is in the
  vocabulary AND the rule-based reader (products.needs.parse_needs) or the keyword check below finds the same need.
- Otherwise the sentence-embedding reader (similarity.py: zero-shot, the platform's MiniLM and multilingual e5,
  milliseconds a reason) scores each clause against exemplar phrasings of every label. It confirms keyword hits
  (kept when their label's similarity passes a low bar) and may add a need the keywords miss ("I'm abroad half
  the year") only above a stricter bar and ahead of every other label by a margin.
- When neither is available, the rules and keywords are the reading.

The rule-based reader's needs always count (it is explainable phrase by phrase). Keyword hits are weaker
evidence: with a model they count only when the model picked them too. `source` says which reader decided.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from advisor.applications import similarity
from bank.embeddings import MULTILINGUAL_MODEL_NAME, embedder
from products.needs import parse_needs
from products.needs.model import Needs

# label -> (English, Chinese) as shown back to the customer ("we understood: …").
VOCABULARY: dict[str, tuple[str, str]] = {
    "no_fx_fees": ("no foreign-exchange fees", "免外汇手续费"),
    "travel": ("made for travel", "适合旅行"),
    "cashback": ("cash back", "消费返现"),
    "rewards": ("reward points or miles", "积分或里程"),
    "lounge": ("airport lounges", "机场贵宾厅"),
    "low_fees": ("low or no fees", "低费用或免费"),
    "low_rate": ("a low interest rate", "低利率"),
    "capital_protection": ("your capital protected", "保本"),
    "low_risk": ("low risk", "低风险"),
    "high_yield": ("a high return", "较高收益"),
    "liquidity": ("access to your money at any time", "随时可取用资金"),
    "esg": ("green or sustainable", "绿色或可持续"),
}
MAX_READ_TOKENS = 48

# Rule reader (products.needs) tags -> labels.
_TAG_LABELS = {
    "no-fx-fee": "no_fx_fees", "travel": "travel", "cash-back": "cashback", "points": "rewards", "miles": "rewards",
    "lounge": "lounge", "esg": "esg", "green": "esg", "capital-protected": "capital_protection",
}
# Keyword check: words the rule reader has no constraint for (fees, rates) and looser forms of the others.
_KEYWORDS: dict[str, str] = {
    "no_fx_fees": r"(?:no|zero|without|free of|avoid)\b.{0,30}(?:foreign|fx|forex|currency|exchange)\b.{0,20}fees?"
                  r"|(?:foreign|fx|forex|currency)[\s-]*(?:exchange |conversion |transaction )?fee[\s-]*free"
                  r"|免.{0,4}(?:货币转换|外汇|外币|境外).{0,3}费|(?:外汇|货币转换|外币)手续费",
    "travel": r"\btravel\w*|\btrips?\b|abroad|overseas|\bfly\b|flights?|出国|出境|境外|旅行|旅游|出差",
    "cashback": r"cash[\s-]?back|返现",
    "rewards": r"\bpoints\b|\bmiles\b|rewards?|积分|里程",
    "lounge": r"lounges?|贵宾厅",
    "low_fees": r"(?:no|low|zero|without)\s+(?:annual\s+)?fees?|fee[\s-]free|cheap"
                r"|免年费|低费用|不收费|手续费低|费用低",
    "low_rate": r"low(?:est|er)?\s+(?:interest\s+)?(?:rate|apr|interest)|cheap(?:er)? (?:loan|credit|borrowing)"
                r"|低利率|利率低|利息低|低息",
    "capital_protection": r"capital[\s-]protect\w*|protect\w* (?:my )?(?:capital|principal)|guaranteed|"
                          r"(?:not|never|don't|do not) (?:want to )?lose|保本|本金(?:有)?(?:保障|安全|保证)|不亏",
    "low_risk": r"low[\s-]risk|safe(?:ty|st)?\b|conservative|cautious|低风险|稳健|安全",
    "high_yield": r"high(?:er|est)? (?:return|yield|interest)|better (?:return|yield)|高收益|收益高|回报高",
    "liquidity": r"any ?time|whenever|withdraw\w*|access (?:to )?my money|liquid\w*|随时|灵活|随存随取|流动性",
    "esg": r"\besg\b|green|sustainab\w*|eco[\s-]friendly|绿色|环保|可持续",
}
_KEYWORD_RES = {label: re.compile(pattern, re.IGNORECASE) for label, pattern in _KEYWORDS.items()}
# Clauses end at punctuation and at words that turn the sentence ("I don't care about fees but I want points").
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n，。！？；：、]+|\s+(?:but|although|though|however|whereas|while|because|as|"
                           r"since|so|except)\s+|但是|不过|可是|但|因为|所以|而是", re.IGNORECASE)
# Within a clause, "and" joins needs the embedding reader scores separately ("travel a lot and no FX fees"); the
# clause keeps its negation across them ("I never travel and need no lounges").
_PIECE_BREAK = re.compile(r"\s+(?:and|plus|also|as well as)\s+|而且|并且|同时|还有|还想|还要|以及|另外", re.IGNORECASE)
# A clause that denies wanting something. Only denials of caring or needing: "no fees", "without fees", "I don't
# want to lose money", "不要手续费", "不想亏" state needs and must not match.
_NEGATION = re.compile(
    r"\b(?:don'?t|do not|doesn'?t|does not|didn'?t|never|won'?t|will not|hardly ever|rarely|seldom)\s+"
    r"(?:really\s+|much\s+|particularly\s+|even\s+|actually\s+|ever\s+)?(?:care|need|mind|use|bother|travel|"
    r"fly|go abroad|go overseas|matter)\b"
    r"|(?:\bnot|n't)\s+(?:really\s+|that\s+|too\s+|very\s+|particularly\s+|at all\s+)?(?:interested|bothered|"
    r"fussed|concerned|important|a priority|a concern|an issue|needed|necessary|looking for|relevant|worried about|"
    r"something i)"
    r"|\b(?:no|zero|little)\s+(?:need|interest|use)\s+(?:for|in|of)\b|couldn'?t care less"
    r"|irrelevant to me|useless to me"
    r"|不在乎|不在意|不关心|无所谓|没兴趣|没有兴趣|不感兴趣|不重要|不看重|不太需要|并不需要|我不需要|用不到|用不上|"
    r"不追求|很少|从不|从来不|几乎不|不怎么|不(?:出国|旅行|旅游|出差|坐飞机)",
    re.IGNORECASE)
_JSON_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)

PROMPT = (
    "You label why a bank customer applies for a product. Choose only labels from this list: "
    + ", ".join(f"{label} ({en})" for label, (en, _) in VOCABULARY.items())
    + '. Answer with JSON only, for example {"needs": ["travel", "no_fx_fees"]}. Use [] when none apply.'
)


class ReadingError(ValueError):
    """The model's answer is not the JSON asked for."""


@dataclass(frozen=True)
class NeedsReading:
    labels: list[str]
    source: str  # "llm", "embeddings", "rules" or "" (nothing to read)
    # label -> {"phrase", "rules", "keywords", "llm"} (+ "similarity" from the embedding reader); plus
    # "_negated" (clauses set aside), "_rejected" (model labels refused, and why), "_model" (which model read
    # it, with its registry version), "_error" (why a model was not used), "_seconds".
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Clause:
    text: str
    pieces: list[str]  # the clause, then its parts at "and" when it has several
    negated: bool


def split_clauses(text: str) -> list[Clause]:
    """The reason's clauses in order, each marked when it denies wanting something."""
    clauses = []
    for part in _CLAUSE_BREAK.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = [p.strip() for p in _PIECE_BREAK.split(part) if p.strip()]
        clauses.append(Clause(text=part, pieces=[part, *pieces] if len(pieces) > 1 else [part],
                              negated=_NEGATION.search(part) is not None))
    return clauses


def rule_labels(text: str) -> dict[str, str]:
    """Labels the rule-based reader finds, each with the customer's phrase."""
    try:
        needs: Needs = parse_needs(text)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    phrases = {e.constraint: e.phrase for e in needs.matched}
    for evidence in needs.matched:
        if evidence.constraint != "tags":
            continue
        for tag in parse_needs(evidence.phrase).tags:
            if tag in _TAG_LABELS:
                found.setdefault(_TAG_LABELS[tag], evidence.phrase)
    if needs.max_risk is not None and needs.max_risk <= 2:
        found.setdefault("low_risk", phrases.get("risk", ""))
    if needs.liquidity in ("daily", "weekly"):
        found.setdefault("liquidity", phrases.get("liquidity", ""))
    if needs.min_return is not None:
        found.setdefault("high_yield", phrases.get("min_return", ""))
    return found


def keyword_labels(text: str) -> dict[str, str]:
    found = {}
    for label, pattern in _KEYWORD_RES.items():
        match = pattern.search(text)
        if match:
            found[label] = match.group(0)
    return found


def parse_model_answer(answer: str) -> list[str]:
    """The labels in the model's JSON answer, in its order (unknown ones included: the caller refuses them).
    Raises ReadingError when there is no JSON object with a list of strings under "needs"."""
    for candidate in _JSON_OBJECT.findall(answer):
        try:
            payload = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(payload, dict) and isinstance(payload.get("needs"), list):
            labels = payload["needs"]
            if all(isinstance(label, str) for label in labels):
                return list(dict.fromkeys(label.strip().lower() for label in labels))
    raise ReadingError(f"no JSON needs list in {answer[:120]!r}")


def _evidence(clauses: list[Clause], read: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """label -> phrase from `read` (rule_labels or keyword_labels) over the clauses, first phrase kept."""
    found: dict[str, str] = {}
    for clause in clauses:
        for label, phrase in read(clause.text).items():
            found.setdefault(label, phrase)
    return found


def read_needs(*, text: str, model: Any = "configured", embeddings: bool | None = None) -> NeedsReading:
    """Read `text` into vocabulary labels. `model` is a bank.llm ChatModel, None (no language model) or
    "configured" (the platform's model per settings.CHAT_LLM_BACKEND); `embeddings` whether the sentence-embedding
    reader may read when no language model did (None: settings.APPLICATION_NEEDS_EMBEDDINGS). Never raises for
    a model's sake: a reader that fails leaves the next one to read, and "_error" says why."""
    text = (text or "").strip()
    if not text:
        return NeedsReading(labels=[], source="")
    clauses = split_clauses(text)
    affirmed = [c for c in clauses if not c.negated]
    rules, keywords = _evidence(affirmed, rule_labels), _evidence(affirmed, keyword_labels)
    detail: dict[str, Any] = {}
    if len(affirmed) < len(clauses):
        detail["_negated"] = [c.text for c in clauses if c.negated]
    source = "rules"
    model_labels: list[str] = []
    started = time.perf_counter()
    if model == "configured":
        from bank.llm import LLMError, chat_model

        try:
            model = chat_model()
        except LLMError as error:
            model, detail["_error"] = None, str(error)[:300]
    if model is not None:
        from bank.llm import LLMError

        try:
            answer = model.complete([{"role": "system", "content": PROMPT}, {"role": "user", "content": text[:500]}],
                                    max_tokens=MAX_READ_TOKENS)
            model_labels = parse_model_answer(answer)
            source = "llm"
            detail["_model"] = getattr(model, "name", "llm")
        except (LLMError, ReadingError) as error:
            detail["_error"] = str(error)[:300]
    accepted: dict[str, dict[str, Any]] = {}
    if source == "rules" and affirmed and (settings.APPLICATION_NEEDS_EMBEDDINGS if embeddings is None
                                           else embeddings):
        try:
            similarities = similarity.clause_similarities([c.pieces for c in affirmed])
        except (ImportError, OSError) as error:  # the model package or its files are missing on this host
            detail["_error"] = f"embeddings: {error}"[:300]
        else:
            source = "embeddings"
            accepted = _embedding_labels(affirmed, similarities)
            detail["_model"] = ", ".join(sorted({_versioned(s.encoder) for s in similarities}))
    detail["_seconds"] = round(time.perf_counter() - started, 3)
    rejected = {}
    for label in model_labels:
        if label not in VOCABULARY:
            rejected[label] = "not in the vocabulary"
        elif label not in rules and label not in keywords:
            rejected[label] = "not found in the customer's words"
        else:
            accepted[label] = {"phrase": rules.get(label) or keywords[label], "llm": True}
    for label, phrase in rules.items():
        accepted.setdefault(label, {"phrase": phrase, "llm": False})
    if source == "rules":
        # No model to confirm them: keyword hits count on their own (weaker evidence, recorded as such).
        for label, phrase in keywords.items():
            accepted.setdefault(label, {"phrase": phrase, "llm": False})
    for label, entry in accepted.items():
        entry["rules"], entry["keywords"] = label in rules, label in keywords
    if rejected:
        detail["_rejected"] = rejected
    labels = [label for label in VOCABULARY if label in accepted]  # vocabulary order: stable for display
    return NeedsReading(labels=labels, source=source, detail={**{lb: accepted[lb] for lb in labels}, **detail})


def _embedding_labels(clauses: list[Clause], similarities: list[similarity.ClauseSimilarity],
                      thresholds: dict[str, similarity.Thresholds] | None = None) -> dict[str, dict[str, Any]]:
    """The embedding reader's labels over affirmed clauses: a keyword hit in a clause stands when its label's
    similarity there reaches `confirm`; a label no keyword or rule found needs `accept` (stricter) and to be the
    clause's best label, ahead of the next (and of "_none") by `margin`. The rule reader's labels are added by the
    caller whatever the similarities say."""
    thresholds = thresholds or similarity.THRESHOLDS
    accepted: dict[str, dict[str, Any]] = {}
    for clause, scored in zip(clauses, similarities, strict=True):
        bar = thresholds[scored.encoder]
        for label, phrase in keyword_labels(clause.text).items():
            sim = scored.best[label][0]
            if sim >= bar.confirm and label not in accepted:
                accepted[label] = {"phrase": phrase, "llm": False, "similarity": sim}
        (top, sim), (_, runner_up) = scored.ranked()[:2]
        if top != similarity.NONE and sim >= bar.accept and sim - runner_up >= bar.margin and top not in accepted:
            accepted[top] = {"phrase": scored.best[top][1], "llm": False, "similarity": sim}
    return accepted


def _versioned(encoder: str) -> str:
    version = embedder(multilingual=encoder == MULTILINGUAL_MODEL_NAME).model_version()
    return f"{version.name} v{version.version}"


def describe(labels: list[str], language: str) -> list[str]:
    """The labels in the customer's words."""
    index = 1 if language == "zh" else 0
    return [VOCABULARY[label][index] for label in labels if label in VOCABULARY]
