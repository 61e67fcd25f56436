"""Who the demo customers are: life stage first, and from it age, income, risk, consents and hidden tastes.

Vectorised over a chunk of customers with one seeded numpy generator, so a chunk is the same for the same
seed whatever else happens. Customer 1 (C00000001) is the showcase: a well-off young professional in Shanghai
who travels and eats out, with a card, savings, investments and a varied ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from customers.demo.truth import PERSONAS, PRODUCT_TYPES, SPEND_CATEGORIES, LatentPreferences

STAGES = ["student", "young_professional", "young_family", "established", "pre_retirement", "retired"]
STAGE_P = np.array([0.10, 0.25, 0.22, 0.20, 0.12, 0.11])
AGE_RANGE = np.array([[18, 24], [22, 34], [27, 41], [38, 53], [50, 62], [60, 83]])
INCOME_MEDIAN = np.array([14_000, 160_000, 210_000, 280_000, 240_000, 78_000], dtype=float)
RISK_BASE = np.array([2.6, 3.3, 2.9, 3.0, 2.4, 1.7])
# Dirichlet concentration of the product-type affinity per stage, in PRODUCT_TYPES order.
TYPE_ALPHA = np.array(
    [
        [2.0, 0.4, 1.0, 0.2, 3.0, 1.0, 0.5],
        [1.5, 1.5, 2.5, 0.5, 3.0, 1.5, 1.0],
        [1.5, 1.5, 1.5, 0.7, 2.0, 3.0, 2.5],
        [2.0, 2.5, 2.0, 1.5, 1.5, 1.5, 2.0],
        [3.0, 3.0, 1.5, 2.5, 1.0, 0.5, 2.0],
        [4.0, 2.5, 0.7, 3.0, 0.5, 0.2, 1.5],
    ]
)
# Persona probabilities per stage, in PERSONAS order.
PERSONA_P = np.array(
    [
        [0.15, 0.15, 0.25, 0.00, 0.30, 0.15],
        [0.15, 0.25, 0.25, 0.00, 0.20, 0.15],
        [0.20, 0.10, 0.10, 0.45, 0.10, 0.05],
        [0.20, 0.15, 0.10, 0.35, 0.10, 0.10],
        [0.35, 0.20, 0.10, 0.05, 0.05, 0.25],
        [0.40, 0.15, 0.05, 0.00, 0.05, 0.35],
    ]
)
# Dirichlet concentration of the spending mix per persona, in SPEND_CATEGORIES order.
SPEND_ALPHA = np.array(
    [
        [5.0, 1.5, 0.4, 2.0, 1.0, 1.0, 0.4, 0.6],
        [2.0, 3.0, 5.0, 2.0, 1.5, 0.6, 0.3, 1.5],
        [2.5, 6.0, 0.8, 1.5, 1.0, 0.6, 0.3, 2.0],
        [4.0, 1.5, 0.8, 1.5, 2.0, 2.0, 4.0, 1.0],
        [2.0, 2.0, 0.8, 1.5, 6.0, 0.6, 0.3, 2.0],
        [4.0, 1.5, 0.3, 1.0, 2.0, 1.5, 0.3, 3.0],
    ]
)
# A persona tilts which product types the customer leans to (multiplies the affinity, then renormalised).
PERSONA_TYPE_TILT = np.array(
    [
        [1.8, 1.3, 0.8, 1.3, 0.6, 0.6, 1.0],
        [0.9, 1.0, 1.2, 0.8, 1.8, 0.8, 1.2],
        [1.0, 1.0, 1.0, 0.8, 1.6, 1.0, 0.9],
        [1.0, 1.0, 0.9, 0.9, 1.0, 1.5, 1.6],
        [0.8, 0.9, 1.1, 0.7, 1.8, 1.2, 0.8],
        [1.3, 1.1, 0.8, 1.1, 0.9, 0.8, 1.1],
    ]
)

CITIES = [
    ("Shanghai", 1),
    ("Beijing", 1),
    ("Shenzhen", 1),
    ("Guangzhou", 1),
    ("Hangzhou", 2),
    ("Chengdu", 2),
    ("Nanjing", 2),
    ("Wuhan", 2),
    ("Suzhou", 2),
    ("Xi'an", 2),
    ("Tianjin", 2),
    ("Chongqing", 2),
    ("Qingdao", 2),
    ("Changsha", 2),
    ("Hefei", 3),
    ("Kunming", 3),
    ("Xiamen", 3),
    ("Harbin", 3),
    ("Nanning", 3),
    ("Lanzhou", 3),
]
CITY_P = np.array(
    [
        0.12,
        0.11,
        0.08,
        0.07,
        0.06,
        0.06,
        0.05,
        0.05,
        0.05,
        0.04,
        0.04,
        0.05,
        0.03,
        0.03,
        0.03,
        0.03,
        0.03,
        0.03,
        0.02,
        0.02,
    ]
)
TIER_INCOME = {1: 1.35, 2: 1.0, 3: 0.72}
CITY_AREA_CODE = {"Shanghai": "310115", "Beijing": "110105", "Shenzhen": "440305", "Guangzhou": "440106"}
RESIDENCIES = ["CN", "HK", "SG", "US"]
RESIDENCY_P = np.array([0.94, 0.03, 0.02, 0.01])
KYC = ["verified", "pending", "expired", "rejected"]
KYC_P = np.array([0.88, 0.07, 0.04, 0.01])

SURNAMES = [
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("林", "Lin"),
    ("罗", "Luo"),
    ("高", "Gao"),
    ("郑", "Zheng"),
    ("梁", "Liang"),
    ("谢", "Xie"),
    ("宋", "Song"),
    ("唐", "Tang"),
    ("许", "Xu"),
    ("韩", "Han"),
    ("冯", "Feng"),
    ("邓", "Deng"),
    ("曹", "Cao"),
]
GIVEN = [
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
    ("勇", "Yong"),
    ("艳", "Yan"),
    ("杰", "Jie"),
    ("娟", "Juan"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀", "Xiu"),
    ("霞", "Xia"),
    ("平", "Ping"),
    ("刚", "Gang"),
    ("桂", "Gui"),
    ("文", "Wen"),
    ("华", "Hua"),
    ("欣", "Xin"),
    ("宇", "Yu"),
    ("浩", "Hao"),
    ("婷", "Ting"),
    ("雪", "Xue"),
    ("晨", "Chen"),
    ("子", "Zi"),
    ("涵", "Han"),
    ("思", "Si"),
    ("博", "Bo"),
    ("嘉", "Jia"),
    ("怡", "Yi"),
    ("俊", "Jun"),
    ("琳", "Lin"),
    ("凯", "Kai"),
    ("悦", "Yue"),
]
WESTERN_FIRST = ["James", "Emily", "Daniel", "Sophie", "Michael", "Olivia", "David", "Grace", "Ryan", "Chloe"]
WESTERN_LAST = ["Smith", "Brown", "Taylor", "Wilson", "Clark", "Walker", "Young", "King", "Wright", "Scott"]
OCCUPATIONS = [
    ["University student", "Graduate student", "Intern"],
    [
        "Software engineer",
        "Product manager",
        "Accountant",
        "Marketing specialist",
        "Designer",
        "Sales manager",
        "Consultant",
        "Data analyst",
    ],
    [
        "Teacher",
        "Engineer",
        "Nurse",
        "Civil servant",
        "Sales manager",
        "Lawyer",
        "Doctor",
        "Small business owner",
    ],
    ["Senior manager", "Doctor", "Business owner", "Professor", "Architect", "Finance director", "Lawyer"],
    ["Senior manager", "Civil servant", "Business owner", "Engineer", "Teacher", "Accountant"],
    ["Retired", "Retired teacher", "Retired civil servant", "Retired engineer"],
]
STREETS = [
    "Century Avenue",
    "Renmin Road",
    "Zhongshan Road",
    "Jiefang Road",
    "Huaihai Road",
    "Jianshe Road",
    "Heping Road",
    "Wenhua Road",
    "Xinhua Road",
    "Dongfeng Road",
    "Binjiang Avenue",
    "Keji Road",
]
CHECK_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK_CHARS = np.array(list("10X98765432"))


@dataclass
class Population:
    index: np.ndarray  # global 0-based customer number
    stage: np.ndarray  # index into STAGES
    age: np.ndarray
    birth_date: list[date]
    gender: np.ndarray
    income: np.ndarray  # annual, CNY
    city: np.ndarray
    tier: np.ndarray
    residency: np.ndarray
    kyc: np.ndarray
    risk_tolerance: np.ndarray
    consent_marketing: np.ndarray
    consent_profiling: np.ndarray
    full_name: list[str]
    email: list[str]
    phone: list[str]
    national_id: list[str]
    address: list[str]
    occupation: list[str]
    language: np.ndarray
    customer_since: list[date]
    latent: LatentPreferences

    @property
    def external_refs(self) -> np.ndarray:
        return self.latent.external_refs

    def __len__(self) -> int:
        return len(self.index)


def external_ref(index: int) -> str:
    return f"C{index + 1:08d}"


def draw_population(rng: np.random.Generator, *, start: int, n: int, as_of: date) -> Population:
    idx = np.arange(start, start + n)
    stage = rng.choice(len(STAGES), size=n, p=STAGE_P)
    persona = np.array([rng.choice(len(PERSONAS), p=PERSONA_P[s]) for s in stage]) if n else np.zeros(0, int)
    city = rng.choice(len(CITIES), size=n, p=CITY_P / CITY_P.sum())
    residency = rng.choice(len(RESIDENCIES), size=n, p=RESIDENCY_P)
    kyc = rng.choice(len(KYC), size=n, p=KYC_P)
    lo, hi = AGE_RANGE[stage, 0], AGE_RANGE[stage, 1]
    age = rng.integers(lo, hi + 1)
    gender = rng.choice(np.array(["F", "M", "X"]), size=n, p=[0.49, 0.49, 0.02])
    noise = rng.normal(0.0, 0.8, size=n)
    income_noise = rng.normal(0.0, 0.55, size=n)
    appetite_noise = rng.normal(0.0, 0.5, size=n)
    liquidity_need = rng.beta(2.0, 2.0, size=n)
    type_aff = np.vstack([rng.dirichlet(TYPE_ALPHA[s]) for s in stage]) if n else np.zeros((0, 7))
    spend_mix = np.vstack([rng.dirichlet(SPEND_ALPHA[p]) for p in persona]) if n else np.zeros((0, 8))
    wealth_ratio = rng.lognormal(0.0, 0.9, size=n)
    consent_marketing = rng.random(n) < 0.70
    consent_profiling = rng.random(n) < 0.80
    legacy = rng.random(n) < 0.04
    day_of_year = rng.integers(0, 365, size=n)
    tenure_days = rng.integers(30, 15 * 365, size=n)
    surname = rng.integers(0, len(SURNAMES), size=n)
    given1 = rng.integers(0, len(GIVEN), size=n)
    given2 = rng.integers(-len(GIVEN) // 2, len(GIVEN), size=n)  # negative: a one-character given name
    western = rng.integers(0, 10, size=(n, 2))
    phone_digits = rng.integers(0, 100_000_000, size=n)
    phone_prefix = rng.choice(
        np.array(["138", "139", "135", "136", "150", "158", "186", "187", "189"]), size=n
    )
    id_seq = rng.integers(0, 1000, size=n)
    house_no = rng.integers(1, 999, size=n)
    room_no = rng.integers(101, 3200, size=n)
    street = rng.integers(0, len(STREETS), size=n)
    occupation_pick = rng.random(n)
    english = rng.random(n) < 0.15

    if n and start == 0:
        # The showcase customer: varied enough to show every page of the portal with something on it.
        stage[0], persona[0], city[0], residency[0], kyc[0], age[0] = 1, 1, 0, 0, 0, 31
        income_noise[0], noise[0], appetite_noise[0], wealth_ratio[0] = 1.1, 0.9, 0.3, 2.5
        consent_marketing[0] = consent_profiling[0] = True
        legacy[0], liquidity_need[0], gender[0] = False, 0.35, "F"
        type_aff[0] = np.array([0.12, 0.15, 0.25, 0.05, 0.25, 0.08, 0.10])
        spend_mix[0] = np.array([0.12, 0.24, 0.28, 0.08, 0.14, 0.04, 0.02, 0.08])
        surname[0], given1[0], given2[0] = 11, 39, -1

    tier = np.array([CITIES[c][1] for c in city])
    tier_mult = np.array([TIER_INCOME[t] for t in tier])
    income = INCOME_MEDIAN[stage] * tier_mult * np.exp(income_noise)
    income = np.round(income / 100) * 100
    rel_income = np.log(np.maximum(income, 1000) / 180_000)
    tolerance = np.clip(np.round(RISK_BASE[stage] + 0.5 * rel_income + noise), 1, 5).astype(int)
    appetite = np.clip(tolerance + appetite_noise, 0.5, 5.5)
    tilt = type_aff * PERSONA_TYPE_TILT[persona]
    type_aff = tilt / tilt.sum(axis=1, keepdims=True)
    liquid_wealth = np.round(income * wealth_ratio * np.where(stage >= 4, 2.5, 0.8), 2)

    refs = np.array([external_ref(int(i)) for i in idx])
    birth, since, names, emails, phones, ids, addresses, occupations = [], [], [], [], [], [], [], []
    for i in range(n):
        born = as_of - timedelta(days=int(age[i] * 365.25) + int(day_of_year[i]))
        birth.append(born)
        since.append(max(as_of - timedelta(days=int(tenure_days[i])), born + timedelta(days=18 * 366)))
        sur_zh, sur_py = SURNAMES[surname[i]]
        g1_zh, g1_py = GIVEN[given1[i]]
        g2_zh, g2_py = GIVEN[given2[i]] if given2[i] >= 0 else ("", "")
        if RESIDENCIES[residency[i]] == "US":
            first, last = WESTERN_FIRST[western[i, 0]], WESTERN_LAST[western[i, 1]]
            names.append(f"{first} {last}")
            emails.append(f"{first.lower()}.{last.lower()}{idx[i] % 1000}@mail.example.com")
        else:
            names.append(f"{sur_zh}{g1_zh}{g2_zh}")
            emails.append(f"{(g1_py + g2_py).lower()}.{sur_py.lower()}{idx[i] % 1000}@mail.example.cn")
        phones.append(f"+86{phone_prefix[i]}{phone_digits[i]:08d}")
        area = CITY_AREA_CODE.get(CITIES[city[i]][0], f"{320100 + city[i] * 100}")
        body = f"{area}{born:%Y%m%d}{id_seq[i]:03d}"
        check = CHECK_CHARS[int(np.dot(np.array([int(c) for c in body]), CHECK_WEIGHTS)) % 11]
        ids.append(body + check)
        addresses.append(f"Room {room_no[i]}, No. {house_no[i]} {STREETS[street[i]]}, {CITIES[city[i]][0]}")
        jobs = OCCUPATIONS[stage[i]]
        occupations.append(jobs[int(occupation_pick[i] * len(jobs))])
    if n and start == 0:
        occupations[0] = "Product manager"

    latent = LatentPreferences(
        external_refs=refs,
        life_stage=np.array([STAGES[s] for s in stage]),
        persona=np.array([PERSONAS[p] for p in persona]),
        risk_tolerance=tolerance,
        risk_appetite=appetite,
        liquidity_need=liquidity_need,
        liquid_wealth=liquid_wealth,
        type_affinity=type_aff,
        spend_mix=spend_mix,
        legacy_unsuitable=legacy,
    )
    if type_aff.shape[1] != len(PRODUCT_TYPES) or spend_mix.shape[1] != len(SPEND_CATEGORIES):
        raise ValueError("the population's affinity and spending columns do not match the product types and "
                         "spending categories")
    return Population(
        index=idx,
        stage=stage,
        age=age,
        birth_date=birth,
        gender=gender,
        income=income,
        city=np.array([CITIES[c][0] for c in city]),
        tier=tier,
        residency=np.array([RESIDENCIES[r] for r in residency]),
        kyc=np.array([KYC[k] for k in kyc]),
        risk_tolerance=tolerance,
        consent_marketing=consent_marketing,
        consent_profiling=consent_profiling,
        full_name=names,
        email=emails,
        phone=phones,
        national_id=ids,
        address=addresses,
        occupation=occupations,
        language=np.where(english | (residency == 3), "en", "zh-hans"),
        customer_since=since,
        latent=latent,
    )
