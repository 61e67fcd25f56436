"""Keeping answers to what the bank's sources say.

- `without_instructions`: sentences in retrieved text or customer text that try to steer the assistant
  ("ignore previous instructions…", "你现在是…"), and whole paragraphs addressed to it ("Assistant: …",
  "助手：…"), are dropped before anything reads them as a source.
- `check_faithful`: a generated answer passes only if every number it states appears in its sources, each
  of its sentences is made mostly of the sources' words, it names no link, e-mail, phone number, person or
  other name the sources lack, and it never asks for a PIN, password, CVV or one-time code. Anything else is
  rejected, and the assistant answers extractively instead.
- `extractive_answer`: the sentences of the best passage that share most with the question, in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bank.embeddings import cjk_bigrams, has_cjk

_INJECTION = re.compile(
    r"ignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier|preceding|your)\s+"
    r"(?:instructions?|prompts?|rules|directions|messages)"
    r"|disregard\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|your)\s+\w+"
    r"|forget\s+(?:all\s+|everything\s+)?(?:you(?:'ve| have)\s+been\s+told|your\s+(?:instructions|rules))"
    r"|you\s+are\s+now\s+(?:in\s+\w+\s+mode|dan\b|(?:a|an|the)\s+(?:\w+\s+)?(?:ai|assistant|bot|model|persona|character"
    r"|admin\w*|developer|hacker|pirate|jailbroken|unrestricted)\b)"
    r"|new\s+instructions?\s*:|system\s+prompt|developer\s+mode"
    r"|reveal\s+(?:your|the)\s+(?:prompt|instructions|rules)|act\s+as\s+(?:a|an)\s+(?:admin|administrator|developer)"
    r"|忽略(?:之前|以上|前面|上面|先前|所有)?的?(?:所有)?(?:指令|指示|规则|提示|要求|设定)"
    r"|无视(?:之前|以上|前面)?的?(?:指令|指示|规则)|你现在是|系统提示|开发者模式|新的指令",
    re.IGNORECASE,
)
# A paragraph that addresses the assistant ("Assistant: …", "System: …", "AI instruction: …", "助手：…") is a planted
# instruction from there to its end, not only in its first sentence: no bank article is written that way. It may
# open a line or follow a sentence (a passage starts with its article's title).
_ADDRESSED = re.compile(
    r"(?:^|(?<=[.!?。！？]))[ \t>*#-]*(?:"
    r"(?:system|assistant|ai|bot|chatbot|model|llm|developer|admin(?:istrator)?"
    r"|(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+)?(?:assistant|ai|bot|chatbot|model)"
    r"|(?:assistant|ai|bot|model|system)\s+(?:instructions?|notes?|prompt|override))\s*[:：]"
    r"|(?:系统|助手|智能助手|机器人|管理员|AI)(?:指令|提示|说明)?\s*[:：]).*$",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LINK = re.compile(r"https?://\S+|www\.\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_PHONE = re.compile(r"\b\d{3,4}[- ]\d{3,4}[- ]\d{3,4}\b")
_SECRET_REQUEST = re.compile(
    r"(?:send|tell|give|share|provide|enter|type|confirm|reply with)\s+(?:me|us)?\s*(?:with\s+)?(?:your\s+)?"
    r"(?:full\s+)?(?:pin|password|passcode|cvv|cvc|security code|one[- ]time (?:code|password)|otp|verification code)"
    r"|(?:提供|告诉|发送|发给|输入|回复)(?:我|我们)?(?:您的|你的)?(?:银行卡)?(?:密码|验证码|CVV|安全码|动态码)",
    re.IGNORECASE,
)
_NEGATED_REQUEST = re.compile(
    r"(?:never|don't|do not|won't|will not|not)\s+(?:\w+\s+){0,3}$|(?:不要|切勿|请勿|绝不|不会|从不)\S{0,4}$",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    "the a an and or of to in on for with by at from is are was were be been being it its this that these those "
    "you your yours we our us i me my can could will would should may might do does did have has had not no "
    "if then than so as about into out up down over under again also just only any all each some such very "
    "please here there what which who whom when where why how".split()
)
MIN_SENTENCE_SUPPORT = 0.6


def without_instructions(text: str) -> str:
    """`text` without the sentences that try to give the assistant instructions."""
    text = _ADDRESSED.sub("", text)
    kept = [s for s in _SENTENCE.split(text) if s.strip() and not _INJECTION.search(s)]
    joiner = "" if has_cjk(text) else " "
    return joiner.join(s.strip() for s in kept)


def looks_like_injection(text: str) -> bool:
    return _INJECTION.search(text) is not None or _ADDRESSED.search(text) is not None


def _stem(word: str) -> str:
    # Just enough folding for overlap: "arrived"/"arrives"/"arriving" -> "arriv", "cards" -> "card".
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    words = set()
    for word in re.findall(r"[a-z][a-z'-]+", text.lower()):
        word = word.strip("'-")
        if len(word) > 2 and word not in _STOPWORDS:
            words.add(_stem(word))
    return words


# What kind of answer a question wants, and how a sentence that gives it looks: "how long" wants a duration,
# "how much" an amount or a fee. A sentence of the wanted kind ranks above one that only shares words.
_WANTS = (
    (re.compile(r"how long|how many days|how soon|when will|when does|when can|多久|多长时间|几天|什么时候|何时|多快"),
     re.compile(r"\d+\s*(?:[–-]\s*\d+\s*)?(?:working\s+)?(?:days?|hours?|weeks?|months?|minutes?)|个?工作日|小时|天内|分钟|周内"
                r"|immediately|instantly|at once|same day|即时|立即|当天|实时")),
    (re.compile(r"how much|what(?:'s| is| are) the (?:fee|charge|cost|price|rate)|fees?\b|charges?\b|cost|多少钱|费用"
                r"|收费|手续费|要钱|免费吗|汇率|利率"),
     re.compile(r"[¥$€%]|\bfree\b|\bfees?\b|charge|cost|免费|收费|手续费|费率|\d+(?:\.\d+)?\s*(?:yuan|元)")),
    # "How do I…" wants the steps: the sentence that opens them ("To unblock it:") or the steps themselves.
    (re.compile(r"how (?:do|can|should) i|how to|what (?:should|do) i do|steps|怎么|如何|怎样|办理"),
     re.compile(r"[:：]$|^\s*(?:\d+[.、)]|[-•])\s")),
    (re.compile(r"limit|maximum|minimum|at most|at least|上限|限额|最多|最少|最高|最低"),
     re.compile(r"limit|maximum|minimum|up to|at most|限额|上限|最多|最高|以内|不超过")),
)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


_NAME = re.compile(r"[A-Za-z][\w'-]*")


def _novel_cjk(text: str, grams: set[str]) -> list[str]:
    """The spans of `text`'s CJK runs whose bigrams (each overlapping the next) are all absent from `grams`."""
    spans: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        current = ""
        for i in range(len(run) - 1):
            if run[i : i + 2] in grams:
                if current:
                    spans.append(current)
                current = ""
            else:
                current = current + run[i + 1] if current else run[i : i + 2]
        if current:
            spans.append(current)
    return spans


@dataclass(frozen=True)
class Verdict:
    faithful: bool
    problems: tuple[str, ...]


def check_faithful(answer: str, sources: list[str]) -> Verdict:
    """Whether `answer` says only what `sources` say (see the module docstring for the rules)."""
    problems: list[str] = []
    corpus = "\n".join(sources)
    if not answer.strip():
        return Verdict(False, ("empty answer",))
    unsupported = sorted(_numbers(answer) - _numbers(corpus))
    if unsupported:
        problems.append(f"numbers not in the sources: {', '.join(unsupported)}")
    for link in _LINK.findall(answer) + _PHONE.findall(answer):
        if link not in corpus:
            problems.append(f"contact detail not in the sources: {link}")
    for match in _SECRET_REQUEST.finditer(answer):
        if not _NEGATED_REQUEST.search(answer[max(0, match.start() - 30):match.start()]):
            problems.append("asks for a secret (PIN, password, code)")
    if looks_like_injection(answer):
        problems.append("talks about its instructions")
    vocabulary, grams = _words(corpus), set(cjk_bigrams(corpus))
    known = {word.lower() for word in _NAME.findall(corpus)}
    for sentence in _SENTENCE.split(answer):
        if not sentence.strip():
            continue
        # A name the sources never mention (a person, a customer number) is not the bank's to say, however
        # well the rest of the sentence is supported: a capitalised word after the first, or in Chinese three
        # characters in a row that the sources never put together.
        names = [w for w in _NAME.findall(sentence)[1:] if w[0].isupper() and w != "I" and w.lower() not in known]
        names += [run for run in _novel_cjk(sentence, grams) if len(run) >= 3]
        if names:
            problems.append(f"names what the sources do not: {', '.join(names)}")
        if has_cjk(sentence):
            own = set(cjk_bigrams(sentence))
            support = len(own & grams) / len(own) if own else 1.0
        else:
            own = _words(sentence)
            support = len(own & vocabulary) / len(own) if own else 1.0
        if support < MIN_SENTENCE_SUPPORT:
            problems.append(f"sentence not supported by the sources ({support:.0%}): {sentence.strip()[:80]}")
    return Verdict(not problems, tuple(problems))


_EXTRACT_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*|\n+")
_LIST_ITEM = re.compile(r"^\s*(?:[-•*]|\d+[.、)])\s*")


def extractive_answer(question: str, passage: str, *, title: str = "", max_chars: int = 480) -> str:
    """The sentences of `passage` that best answer `question`, in the passage's order, within `max_chars`.

    A sentence scores by the question's words it shares, more if it is the kind of answer the question wants
    (a duration for "how long", an amount for "how much"), and a little for coming early (articles put the
    answer first). A chosen sentence that opens a list ("To unblock it:") brings its list along.
    """
    body = passage[len(title):].lstrip(" .。") if title and passage.startswith(title) else passage
    sentences = [s.strip() for s in _EXTRACT_SENTENCE.split(body) if s.strip()]
    if not sentences:
        return body.strip()
    chinese = has_cjk(question) or has_cjk(body)
    asked = set(cjk_bigrams(question)) if chinese else _words(question)
    lowered = question.lower()
    wanted = [looks for asks, looks in _WANTS if asks.search(lowered)]

    def score(i: int) -> float:
        sentence = sentences[i]
        own = set(cjk_bigrams(sentence)) if chinese else _words(sentence)
        shared = len(own & asked) / (1 + len(own)) ** 0.5
        kind = 0.5 if any(looks.search(sentence.lower()) for looks in wanted) else 0.0
        return shared + kind + 0.1 * (1 - i / len(sentences))

    scores = [score(i) for i in range(len(sentences))]
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    best = scores[ranked[0]]
    chosen: set[int] = set()
    length = 0
    for i in ranked:
        if chosen and (len(chosen) >= 3 or scores[i] < 0.75 * best or length + len(sentences[i]) > max_chars):
            break
        chosen.add(i)
        length += len(sentences[i])
        if sentences[i].endswith((":", "：")):
            for j in range(i + 1, len(sentences)):
                if not _LIST_ITEM.match(sentences[j]) or length + len(sentences[j]) > max_chars:
                    break
                chosen.add(j)
                length += len(sentences[j])
    joiner = "" if chinese else " "
    parts: list[str] = []
    for i in sorted(chosen):
        parts.append(("\n" if _LIST_ITEM.match(sentences[i]) or (parts and parts[-1].endswith((":", "："))) else
                      joiner) + sentences[i] if parts else sentences[i])
    return "".join(parts)
