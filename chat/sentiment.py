"""How upset a customer sounds, in English or Chinese: a lexicon score in [-1, 1].

A lexicon, not a model, on purpose: the score decides when a person takes over, so staff must be able to
read why it fired, and it must not drift with a retrain. Negation flips a word ("not happy", "不满意" is in
the lexicon as one word), intensifiers and exclamation marks strengthen, and a polite closing softens.
"""

from __future__ import annotations

import re

_NEGATIVE = {
    # English
    "angry": 0.8, "furious": 1.0, "upset": 0.6, "annoyed": 0.6, "frustrated": 0.7, "frustrating": 0.7,
    "terrible": 0.8, "horrible": 0.8, "awful": 0.8, "worst": 0.9, "useless": 0.8, "ridiculous": 0.7,
    "unacceptable": 0.9, "disgusting": 0.9, "scam": 0.9, "fraud": 0.5, "stupid": 0.7, "hate": 0.8,
    "pathetic": 0.8, "incompetent": 0.9, "disappointed": 0.6, "complain": 0.5, "complaint": 0.5,
    "rubbish": 0.7, "garbage": 0.8, "waste": 0.5, "sick of": 0.8, "fed up": 0.8, "nonsense": 0.6,
    "wtf": 0.9, "damn": 0.6, "hell": 0.4, "shit": 0.9, "worried": 0.3, "stressed": 0.4,
    # 中文
    "生气": 0.8, "气死": 1.0, "愤怒": 0.9, "不满": 0.7, "不满意": 0.7, "失望": 0.6, "太差": 0.8, "很差": 0.7,
    "垃圾": 0.9, "投诉": 0.7, "骗子": 0.9, "坑人": 0.9, "恶心": 0.8, "无语": 0.6, "烦死": 0.8, "烦": 0.4,
    "离谱": 0.7, "受不了": 0.8, "没用": 0.7, "废物": 0.9, "什么破": 0.8, "破银行": 0.9, "搞什么": 0.6,
    "着急": 0.4, "急死": 0.7, "担心": 0.3, "糟糕": 0.6, "太慢": 0.5, "欺骗": 0.9, "滚": 0.9,
}
_POSITIVE = {
    "thanks": 0.4, "thank you": 0.5, "great": 0.5, "perfect": 0.6, "helpful": 0.5, "happy": 0.5, "good": 0.3,
    "excellent": 0.6, "awesome": 0.6, "appreciate": 0.5,
    "谢谢": 0.5, "感谢": 0.5, "太好了": 0.6, "满意": 0.5, "很好": 0.5, "不错": 0.4, "棒": 0.5, "辛苦": 0.3,
}
_INTENSIFIERS = re.compile(
    r"\b(?:very|so|really|extremely|totally|absolutely|completely)\s+$|(?:太|非常|特别|真|极其|超级)$"
)
_NEGATIONS = re.compile(r"\b(?:not|never|no|isn't|wasn't|don't|didn't)\s+(?:\w+\s+)?$|(?:不|没|没有)$")
_TERMS = sorted([*_NEGATIVE, *_POSITIVE], key=len, reverse=True)
_TERM_RE = re.compile("|".join(re.escape(t) if not t.isascii() else rf"\b{re.escape(t)}\b" for t in _TERMS))


def sentiment(text: str) -> float:
    """-1 (very negative) … +1 (very positive); 0 when nothing in the text carries a feeling."""
    lowered = text.lower()
    score = 0.0
    for match in _TERM_RE.finditer(lowered):
        term = match.group()
        value = -_NEGATIVE[term] if term in _NEGATIVE else _POSITIVE[term]
        before = lowered[max(0, match.start() - 14):match.start()]
        if _NEGATIONS.search(before) and term not in ("不满", "不满意", "受不了"):
            value = -value * 0.7
        if _INTENSIFIERS.search(before):
            value *= 1.4
        score += value
    if score < 0:
        shouting = sum(1 for w in re.findall(r"[A-Za-z]{3,}", text) if w.isupper())
        score -= 0.15 * min(text.count("!") + text.count("！") + shouting, 4)
    return max(-1.0, min(1.0, score))
