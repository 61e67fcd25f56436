"""Reading a customer's reason for applying ("I travel a lot and want no foreign-exchange fees") into needs
from a closed vocabulary.

The platform's language model (bank.llm) is asked to pick labels and answer in JSON. It is toy-sized on a CPU and
may invent, so nothing it says is taken on its word: a label is accepted only when it is in the vocabulary AND
the rule-based reader (advisor.needs.parse_needs) or the keyword check below finds the same need in the text.
The rule-based reader's needs always count (it handles negation and is explainable phrase by phrase). Keyword
hits are weaker evidence (a regex does not understand "I don't care about fees"): with a model they count only
when the model picked them too, so the model confirms or drops them but can never invent a need. When the model
is off, unreachable or answers junk, the rules and keywords are the reading, and the source says so.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from advisor.needs import parse_needs
from advisor.needs.model import Needs

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

# Rule reader (advisor.needs) tags -> labels.
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
    source: str  # "llm", "rules" or "" (nothing to read)
    # label -> {"phrase", "rules", "keywords", "llm"}; plus "_rejected" (model labels refused, and why),
    # "_model" (which model answered), "_error" (why the model was not used), "_seconds".
    detail: dict[str, Any] = field(default_factory=dict)


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


def read_needs(*, text: str, model: Any = "configured") -> NeedsReading:
    """Read `text` into vocabulary labels. `model` is a bank.llm ChatModel, None (rules only) or "configured"
    (the platform's model per settings.CHAT_LLM_BACKEND). Never raises for the model's sake."""
    text = (text or "").strip()
    if not text:
        return NeedsReading(labels=[], source="")
    rules = rule_labels(text)
    keywords = keyword_labels(text)
    detail: dict[str, Any] = {}
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
    detail["_seconds"] = round(time.perf_counter() - started, 3)
    rejected = {}
    accepted: dict[str, dict[str, Any]] = {}
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


def describe(labels: list[str], language: str) -> list[str]:
    """The labels in the customer's words."""
    index = 1 if language == "zh" else 0
    return [VOCABULARY[label][index] for label in labels if label in VOCABULARY]
