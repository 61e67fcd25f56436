# ruff: noqa: E501 -- the questions are bilingual prose, one option per row; wrapping the Chinese text hurts reading.
"""The investment risk-tolerance questionnaire (风险承受能力评估问卷) and how its answers become a risk level R1–R5.

The questions cover what MiFID II suitability and FINRA Rule 2111 ask a firm to know before advising: knowledge and
experience, financial situation and ability to bear losses (capacity), objectives, time horizon, attitude to risk
(willingness) and sustainability preferences.

The level rule, in the order it is applied (each step can only lower the level, never raise it):

1. Willingness level = band of the points for the attitude answers (reaction to a fall, largest loss accepted,
   return/risk choice) plus the objective.
2. Capacity level = band of the points for the financial-situation answers (age, income stability, emergency fund,
   share of liquid wealth, debt burden) plus the horizon.
3. Level = the lower of the two: a customer is advised at the risk they both want and can afford.
4. Caps: a horizon under 1 year allows at most R2, 1–3 years at most R3; a customer with no investment experience
   who fails the knowledge check gets at most R3. Each cap below the level of step 3 is reported as a flag.

Answers that contradict each other are flagged, not averaged away, and do not move the level: the adviser has to
clear them with the customer, and a flagged profile is reassessed after 180 days instead of a year. Keeping flags
out of the level also keeps the rule monotone: a more aggressive willingness answer never lowers the level.

Sustainability answers are evidence for the suitability report and a preference for ESG products later; they never
change the level. This module is pure Python (no Django) so forms, the API and the report can all share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

VERSION = "2026.1"

KNOWLEDGE = "knowledge"
CAPACITY = "capacity"
OBJECTIVE = "objective"
HORIZON = "horizon"
WILLINGNESS = "willingness"
SUSTAINABILITY = "sustainability"
DIMENSIONS: tuple[str, ...] = (KNOWLEDGE, CAPACITY, OBJECTIVE, HORIZON, WILLINGNESS, SUSTAINABILITY)

# Flag codes are stable: the suitability report and the adviser's work list key on them.
HORIZON_CAP = "horizon_cap"
KNOWLEDGE_CAP = "knowledge_cap"
HORIZON_VS_OBJECTIVE = "horizon_vs_objective"
HORIZON_VS_LOSS = "horizon_vs_loss"
REACTION_VS_LOSS = "reaction_vs_loss"
OBJECTIVE_VS_CHOICE = "objective_vs_choice"
CONCENTRATION_WITHOUT_RESERVE = "concentration_without_reserve"
EXPERIENCE_VS_CHOICE = "experience_vs_choice"
CAP_CODES: frozenset[str] = frozenset({HORIZON_CAP, KNOWLEDGE_CAP})
INCONSISTENCY_CODES: frozenset[str] = frozenset({
    HORIZON_VS_OBJECTIVE, HORIZON_VS_LOSS, REACTION_VS_LOSS, OBJECTIVE_VS_CHOICE, CONCENTRATION_WITHOUT_RESERVE,
    EXPERIENCE_VS_CHOICE,
})

REASSESS_AFTER = timedelta(days=365)
REASSESS_AFTER_FLAGGED = timedelta(days=180)


@dataclass(frozen=True)
class Option:
    """One answer to a question. `value` is the stable slug stored and sent by forms; `points` feed the level."""

    value: str
    text_en: str
    text_zh: str
    points: int


@dataclass(frozen=True)
class Question:
    key: str
    dimension: str
    text_en: str
    text_zh: str
    options: tuple[Option, ...]
    help_en: str = ""
    help_zh: str = ""

    def option(self, value: str) -> Option:
        """The option with this value; raises KeyError for one this question does not offer."""
        for option in self.options:
            if option.value == value:
                return option
        raise KeyError(f"Question {self.key!r} has no option {value!r}.")

    @property
    def max_points(self) -> int:
        return max(option.points for option in self.options)


@dataclass(frozen=True)
class Flag:
    """Something the adviser must look at: a cap that lowered the level, or answers that contradict each other."""

    code: str
    message_en: str
    message_zh: str


@dataclass(frozen=True)
class RiskProfile:
    level: int  # 1..5, the level products and allocations are checked against
    scores: dict[str, int]  # dimension -> 0..100, for the report; the level comes from the points, not these
    capacity_level: int
    willingness_level: int
    horizon_years: float
    sustainability: str
    flags: tuple[Flag, ...]
    reassess_by: date
    answers: dict[str, str]
    version: str


class QuestionnaireError(ValueError):
    """The answers cannot be scored. `errors` maps each offending question key to a message, for a 400 response."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


QUESTIONS: tuple[Question, ...] = (
    Question(
        key="experience",
        dimension=KNOWLEDGE,
        text_en="Which best describes your investment experience?",
        text_zh="以下哪项最符合您的投资经验？",
        help_en="Count only products you chose and held yourself.",
        help_zh="仅计算您本人选择并持有过的产品。",
        options=(
            Option("none", "No investment experience beyond bank deposits", "除银行存款外，没有其他投资经验", 0),
            Option("wealth_products", "Only bank wealth-management products, money-market funds or government bonds", "仅购买过银行理财产品、货币市场基金或国债", 1),
            Option("funds_stocks", "Bond, mixed or equity funds, or stocks, for less than 3 years", "投资债券基金、混合型基金、股票型基金或股票，不足3年", 2),
            Option("experienced", "Funds or stocks for 3 years or more", "投资基金或股票3年及以上", 3),
            Option("complex", "Futures, options, margin trading or structured products, besides funds or stocks", "除基金或股票外，还参与过期货、期权、融资融券或结构性产品等投资", 4),
        ),
    ),
    Question(
        key="knowledge_check",
        dimension=KNOWLEDGE,
        text_en="If market interest rates rise, what usually happens to the price of a bond fund?",
        text_zh="如果市场利率上升，债券基金的净值通常会如何变化？",
        # Only the right answer scores; "don't know" is offered so that nobody has to guess.
        options=(
            Option("falls", "It usually falls", "通常会下跌", 4),
            Option("rises", "It usually rises", "通常会上涨", 0),
            Option("unchanged", "It is not affected", "基本不受影响", 0),
            Option("dont_know", "I don't know", "不清楚", 0),
        ),
    ),
    Question(
        key="age",
        dimension=CAPACITY,
        text_en="What is your age?",
        text_zh="您的年龄是？",
        options=(
            Option("under_30", "Under 30", "30岁以下", 4),
            Option("30_44", "30 to 44", "30–44岁", 4),
            Option("45_54", "45 to 54", "45–54岁", 3),
            Option("55_64", "55 to 64", "55–64岁", 2),
            Option("65_plus", "65 or over", "65岁及以上", 0),
        ),
    ),
    Question(
        key="income_stability",
        dimension=CAPACITY,
        text_en="How much of your household income is stable (salary, pension, rent)?",
        text_zh="您的家庭收入中，稳定收入（如工资、养老金、租金）大约占多少？",
        options=(
            Option("none", "I have no regular income", "目前没有稳定收入", 0),
            Option("under_25", "Less than 25 %", "25%以下", 1),
            Option("25_50", "25 % to 50 %", "25%–50%", 2),
            Option("50_75", "50 % to 75 %", "50%–75%", 3),
            Option("over_75", "More than 75 %", "75%以上", 4),
        ),
    ),
    Question(
        key="emergency_fund",
        dimension=CAPACITY,
        text_en="Apart from this investment, how many months of essential household spending could your savings cover?",
        text_zh="除本次投资外，您的存款可以覆盖多少个月的家庭必要开支？",
        options=(
            Option("none", "None, or less than 1 month", "几乎没有（不足1个月）", 0),
            Option("1_3", "1 to 3 months", "1–3个月", 1),
            Option("3_6", "3 to 6 months", "3–6个月", 2),
            Option("6_12", "6 to 12 months", "6–12个月", 3),
            Option("over_12", "More than 12 months", "12个月以上", 4),
        ),
    ),
    Question(
        key="investment_share",
        dimension=CAPACITY,
        text_en="What share of your liquid assets (deposits, funds, stocks, wealth products) will this investment be?",
        text_zh="本次投资金额约占您可投资金融资产（存款、基金、股票、理财产品等）的比例是？",
        options=(
            Option("under_10", "Less than 10 %", "10%以下", 4),
            Option("10_25", "10 % to 25 %", "10%–25%", 3),
            Option("25_50", "25 % to 50 %", "25%–50%", 2),
            Option("50_75", "50 % to 75 %", "50%–75%", 1),
            Option("over_75", "More than 75 %", "75%以上", 0),
        ),
    ),
    Question(
        key="debt_burden",
        dimension=CAPACITY,
        text_en="How much of your monthly income goes to repaying debts (mortgage, car loan, credit cards)?",
        text_zh="您每月用于偿还债务（房贷、车贷、信用卡等）的金额约占月收入的多少？",
        options=(
            Option("none", "I have no debt repayments", "没有负债", 4),
            Option("under_10", "Less than 10 %", "10%以下", 3),
            Option("10_30", "10 % to 30 %", "10%–30%", 2),
            Option("30_50", "30 % to 50 %", "30%–50%", 1),
            Option("over_50", "More than 50 %", "50%以上", 0),
        ),
    ),
    Question(
        key="objective",
        dimension=OBJECTIVE,
        text_en="What is your main objective for this money?",
        text_zh="您投资这笔资金的主要目标是？",
        options=(
            Option("preserve", "Preserve capital: avoid losses, even if returns are low", "保本为主：尽量避免亏损，可以接受较低收益", 0),
            Option("income", "Steady income with small fluctuations", "获取稳定收益，可以接受较小波动", 1),
            Option("balanced", "A balance of income and growth", "收益与增值兼顾", 2),
            Option("growth", "Long-term growth, accepting clear ups and downs", "追求长期增值，可以接受较明显的波动", 3),
            Option("max_growth", "The highest possible growth, accepting large losses", "追求尽可能高的收益，可以承受较大亏损", 4),
        ),
    ),
    Question(
        key="horizon",
        dimension=HORIZON,
        text_en="How long do you expect to keep this money invested?",
        text_zh="您计划这笔资金的投资期限是多久？",
        help_en="Until you expect to need most of it.",
        help_zh="即预计需要动用这笔资金中大部分之前的时间。",
        options=(
            Option("under_1", "Less than 1 year", "1年以内", 0),
            Option("1_3", "1 to 3 years", "1–3年", 1),
            Option("3_5", "3 to 5 years", "3–5年", 2),
            Option("5_10", "5 to 10 years", "5–10年", 3),
            Option("over_10", "More than 10 years", "10年以上", 4),
        ),
    ),
    Question(
        key="reaction_to_fall",
        dimension=WILLINGNESS,
        text_en="If your investments fell 20 % within a few months, what would you most likely do?",
        text_zh="如果您的投资在几个月内下跌了20%，您最可能怎么做？",
        # Holding through a fall is most of what a long-term investor needs, so it scores close to buying more.
        options=(
            Option("sell_all", "Sell everything to avoid further losses", "全部卖出，避免进一步亏损", 0),
            Option("sell_some", "Sell part of it", "卖出一部分", 1),
            Option("hold", "Hold and wait for a recovery", "继续持有，等待回升", 3),
            Option("buy_more", "Buy more at the lower price", "趁低价追加投资", 4),
        ),
    ),
    Question(
        key="max_annual_loss",
        dimension=WILLINGNESS,
        text_en="What is the largest loss in a single year you could accept on this investment?",
        text_zh="在一年内，您最多能接受这笔投资亏损多少？",
        options=(
            Option("none", "None: I cannot accept any loss", "不能接受任何亏损", 0),
            Option("up_to_5", "Up to 5 %", "5%以内", 1),
            Option("up_to_10", "Up to 10 %", "10%以内", 2),
            Option("up_to_20", "Up to 20 %", "20%以内", 3),
            Option("30_plus", "30 % or more", "30%及以上", 4),
        ),
    ),
    Question(
        key="return_risk_choice",
        dimension=WILLINGNESS,
        text_en="Which portfolio would you choose? Each shows a possible return in a good year and a possible loss in a bad year.",
        text_zh="您会选择以下哪种投资组合？每项列出了行情好的年份可能的收益和行情差的年份可能的亏损。",
        options=(
            Option("stable", "Good year +3 %, bad year 0 %", "好年份收益+3%，差年份收益0%", 0),
            Option("cautious", "Good year +6 %, bad year −5 %", "好年份收益+6%，差年份亏损5%", 1),
            Option("balanced", "Good year +10 %, bad year −10 %", "好年份收益+10%，差年份亏损10%", 2),
            Option("growth", "Good year +16 %, bad year −20 %", "好年份收益+16%，差年份亏损20%", 3),
            Option("max_growth", "Good year +25 %, bad year −30 %", "好年份收益+25%，差年份亏损30%", 4),
        ),
    ),
    Question(
        key="sustainability",
        dimension=SUSTAINABILITY,
        text_en="Should sustainability (ESG: environmental, social and governance) factors be considered in your investments?",
        text_zh="您是否希望在投资中考虑可持续发展（ESG：环境、社会和公司治理）因素？",
        help_en="This does not change your risk level; it tells us which products to prefer.",
        help_zh="该选项不影响您的风险等级，仅用于优先推荐符合您偏好的产品。",
        # Points measure the strength of the preference for its dimension score only; they never reach the level.
        options=(
            Option("none", "No preference", "没有特别偏好", 0),
            Option("prefer_esg", "Prefer ESG products when they are otherwise comparable", "在其他条件相近时，优先选择ESG产品", 1),
            Option("only_esg", "Only ESG products", "只投资ESG产品", 2),
        ),
    ),
)

_BY_KEY: dict[str, Question] = {question.key: question for question in QUESTIONS}

# A representative number of years for each horizon answer: the middle of the band, 15 for "more than 10".
HORIZON_YEARS: dict[str, float] = {"under_1": 0.5, "1_3": 2.0, "3_5": 4.0, "5_10": 7.5, "over_10": 15.0}
HORIZON_CAPS: dict[str, int] = {"under_1": 2, "1_3": 3}
KNOWLEDGE_CAP_LEVEL = 3
SHORT_HORIZONS = frozenset(HORIZON_CAPS)  # under 3 years
AGGRESSIVE_OBJECTIVES = frozenset({"growth", "max_growth"})
LARGE_LOSSES = frozenset({"up_to_20", "30_plus"})  # accepts a loss of 20 % or more in a year
HIGH_RISK_CHOICES = frozenset({"growth", "max_growth"})  # portfolios that can lose 20 % or more in a bad year
CONCENTRATED_SHARES = frozenset({"50_75", "over_75"})  # more than half of liquid wealth
AGGRESSIVE_WILLINGNESS_LEVEL = 4

# Band boundaries, in percent of the maximum points: below 20 % is R1, 20 % to below 40 % R2, ... 80 % and up R5.
_BAND_FLOORS_PERCENT = (20, 40, 60, 80)


def question_by_key(key: str) -> Question:
    """The question with this key; raises KeyError for a key the questionnaire does not have."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"No question {key!r} in questionnaire {VERSION}.") from None


def text(obj: Question | Option | Flag, language: str) -> str:
    """The customer-facing text of a question, option or flag: Chinese for any "zh*" language, English otherwise."""
    chinese = language.lower().startswith("zh")
    if isinstance(obj, Flag):
        return obj.message_zh if chinese else obj.message_en
    return obj.text_zh if chinese else obj.text_en


def validate_answers(answers: Mapping[str, str]) -> dict[str, str]:
    """Check that every question is answered with one of its options and nothing else was sent.

    Returns a copy of the answers in questionnaire order. Raises QuestionnaireError whose `errors` name every
    missing question, every unknown key and every unknown option at once, so a form can show them all together.
    """
    errors: dict[str, str] = {}
    for key in answers:
        if key not in _BY_KEY:
            errors[str(key)] = "Unknown question."
    cleaned: dict[str, str] = {}
    for question in QUESTIONS:
        if question.key not in answers:
            errors[question.key] = "This question must be answered."
            continue
        value = answers[question.key]
        allowed = [option.value for option in question.options]
        if value not in allowed:
            errors[question.key] = f"Unknown option {value!r}; expected one of: {', '.join(allowed)}."
            continue
        cleaned[question.key] = value
    if errors:
        raise QuestionnaireError(errors)
    return cleaned


def score_answers(answers: Mapping[str, str], *, today: date) -> RiskProfile:
    """Score a completed questionnaire into a risk level R1–R5 (see the module docstring for the rule).

    Deterministic: the same answers and `today` always give the same profile. Raises QuestionnaireError when the
    answers are incomplete or invalid (see `validate_answers`).
    """
    cleaned = validate_answers(answers)
    points: dict[str, int] = dict.fromkeys(DIMENSIONS, 0)
    maximum: dict[str, int] = dict.fromkeys(DIMENSIONS, 0)
    for question in QUESTIONS:
        points[question.dimension] += question.option(cleaned[question.key]).points
        maximum[question.dimension] += question.max_points
    scores = {dimension: _percent(points[dimension], maximum[dimension]) for dimension in DIMENSIONS}

    willingness_level = _band(points[WILLINGNESS] + points[OBJECTIVE], maximum[WILLINGNESS] + maximum[OBJECTIVE])
    capacity_level = _band(points[CAPACITY] + points[HORIZON], maximum[CAPACITY] + maximum[HORIZON])
    uncapped = min(willingness_level, capacity_level)

    # Every cap is compared with the uncapped level, so when two caps both bind the customer hears about both
    # (a short horizon and missing knowledge are two things to fix), even though only the tighter one sets the level.
    flags: list[Flag] = []
    level = uncapped
    horizon = cleaned["horizon"]
    horizon_cap = HORIZON_CAPS.get(horizon)
    if horizon_cap is not None and horizon_cap < uncapped:
        level = min(level, horizon_cap)
        option = question_by_key("horizon").option(horizon)
        flags.append(Flag(
            HORIZON_CAP,
            f"An investment horizon of {option.text_en.lower()} limits the risk level to R{horizon_cap} (otherwise R{uncapped}).",
            f"投资期限为{option.text_zh}，风险等级最高为R{horizon_cap}（否则为R{uncapped}）。",
        ))
    if _fails_knowledge(cleaned) and KNOWLEDGE_CAP_LEVEL < uncapped:
        level = min(level, KNOWLEDGE_CAP_LEVEL)
        flags.append(Flag(
            KNOWLEDGE_CAP,
            f"With no investment experience and the knowledge question not answered correctly, the risk level is limited to R{KNOWLEDGE_CAP_LEVEL} (otherwise R{uncapped}).",
            f"您尚无投资经验且知识题未答对，风险等级最高为R{KNOWLEDGE_CAP_LEVEL}（否则为R{uncapped}）。",
        ))
    flags.extend(_inconsistencies(cleaned, willingness_level=willingness_level))

    return RiskProfile(
        level=level,
        scores=scores,
        capacity_level=capacity_level,
        willingness_level=willingness_level,
        horizon_years=HORIZON_YEARS[horizon],
        sustainability=cleaned["sustainability"],
        flags=tuple(flags),
        reassess_by=today + (REASSESS_AFTER_FLAGGED if flags else REASSESS_AFTER),
        answers=cleaned,
        version=VERSION,
    )


def _fails_knowledge(answers: Mapping[str, str]) -> bool:
    return answers["experience"] == "none" and answers["knowledge_check"] != "falls"


def _inconsistencies(answers: Mapping[str, str], *, willingness_level: int) -> list[Flag]:
    flags: list[Flag] = []
    short_horizon = answers["horizon"] in SHORT_HORIZONS
    large_loss = answers["max_annual_loss"] in LARGE_LOSSES
    if short_horizon and answers["objective"] in AGGRESSIVE_OBJECTIVES:
        flags.append(Flag(
            HORIZON_VS_OBJECTIVE,
            "A horizon under 3 years does not fit a growth objective: growth investments need years to recover from a fall.",
            "投资期限不足3年，与追求增值的投资目标不匹配：增长型投资通常需要数年时间才能从下跌中恢复。",
        ))
    if short_horizon and large_loss:
        flags.append(Flag(
            HORIZON_VS_LOSS,
            "A horizon under 3 years leaves little time to recover from the loss of 20 % or more you said you could accept.",
            "投资期限不足3年，难以从您表示可以接受的20%及以上的亏损中恢复。",
        ))
    if answers["reaction_to_fall"] == "sell_all" and large_loss:
        flags.append(Flag(
            REACTION_VS_LOSS,
            "You would sell everything after a 20 % fall, yet said you could accept a loss of 20 % or more in a year.",
            "您表示投资下跌20%时会全部卖出，但又表示一年内可以接受20%及以上的亏损。",
        ))
    if answers["objective"] == "preserve" and answers["return_risk_choice"] == "max_growth":
        flags.append(Flag(
            OBJECTIVE_VS_CHOICE,
            "Your objective is to preserve capital, yet you chose the portfolio with the highest return and the largest possible loss.",
            "您的投资目标是保本，但选择了收益最高、可能亏损也最大的投资组合。",
        ))
    if (answers["investment_share"] in CONCENTRATED_SHARES and answers["emergency_fund"] == "none"
            and willingness_level >= AGGRESSIVE_WILLINGNESS_LEVEL):
        flags.append(Flag(
            CONCENTRATION_WITHOUT_RESERVE,
            "This investment is more than half of your liquid assets and you have no emergency fund, yet your answers show a high willingness to take risk.",
            "本次投资超过您可投资金融资产的一半，且您没有应急备用金，但您的回答显示出较高的风险偏好。",
        ))
    if answers["experience"] == "none" and answers["return_risk_choice"] in HIGH_RISK_CHOICES:
        flags.append(Flag(
            EXPERIENCE_VS_CHOICE,
            "You have no investment experience, yet chose a portfolio that can lose 20 % or more in a bad year.",
            "您尚无投资经验，但选择了行情差的年份可能亏损20%及以上的投资组合。",
        ))
    return flags


def _band(points: int, maximum: int) -> int:
    # Integer comparisons, so a total exactly on a boundary lands in the same band on every platform.
    level = 1
    for floor in _BAND_FLOORS_PERCENT:
        if points * 100 >= floor * maximum:
            level += 1
    return level


def _percent(points: int, maximum: int) -> int:
    if maximum == 0:
        return 0
    return (200 * points + maximum) // (2 * maximum)  # rounds half up, unlike round()
