# ruff: noqa: E501 -- the catalogue is bilingual prose, one product per row; wrapping it hurts reading.
"""The demo catalogue's credit and protection products: credit cards, loans and insurance.

For cards and loans the return range is the annual rate the customer pays (card purchase APR, loan APR).
"""

from __future__ import annotations

from datetime import date

from customers.demo.catalogue import D, ProductSpec
from products.models import Liquidity, ProductType

# Purchase APR of a card that is not repaid in full: 0.05% a day.
_CARD_APR = ("18.250", "18.250")


def _card(code: str, name_en: str, name_zh: str, desc_en: str, desc_zh: str, *, fee: str, income: str,
          tags: list[str], min_age: int = 18, max_age: int | None = None, risk: int = 2,
          launched: date = date(2019, 5, 20), kyc: bool = True) -> ProductSpec:
    return ProductSpec(
        code=code, type=ProductType.CREDIT_CARD, name_en=name_en, name_zh=name_zh, description_en=desc_en,
        description_zh=desc_zh, risk_level=risk, return_min=D(_CARD_APR[0]), return_max=D(_CARD_APR[1]),
        term_months=None, min_amount=D("0"), liquidity=Liquidity.NOT_APPLICABLE, annual_fee=D(fee),
        min_age=min_age, max_age=max_age, min_annual_income=D(income), kyc_required=kyc,
        allows_multiple=False, tags=["card", *tags], launched_on=launched,
    )


def cards() -> list[ProductSpec]:
    return [
        _card("CC-CLASSIC", "Classic Credit Card", "经典信用卡",
              "An everyday credit card with up to 50 days interest-free, instalments on large purchases and "
              "no annual fee after six purchases a year. For salaried customers from CNY 36,000 a year.",
              "日常消费信用卡，最长50天免息，大额消费可分期，年刷卡满6次免年费。适合年收入3.6万元以上的工薪客户。",
              fee="100", income="36000", tags=["everyday"]),
        _card("CC-GOLD", "Gold Credit Card", "金卡信用卡",
              "A higher-limit card with points on every purchase, airport fast-track twice a year and "
              "purchase protection. For customers earning CNY 120,000 a year or more.",
              "额度更高的金卡，消费累积积分，每年两次机场快速通道及购物保障。适合年收入12万元以上的客户。",
              fee="300", income="120000", tags=["points", "everyday"]),
        _card("CC-PLATINUM", "Platinum Credit Card", "白金信用卡",
              "A platinum card with unlimited airport lounges, travel accident cover of CNY 5 million, "
              "concierge and golf privileges. Annual fee waived against points; for customers earning "
              "CNY 300,000 a year or more.",
              "白金信用卡，机场贵宾厅无限次、500万元航空意外险、礼宾及高尔夫权益，年费可积分抵扣。"
              "适合年收入30万元以上的客户。",
              fee="2000", income="300000", tags=["premium", "lounge", "travel"], risk=2),
        _card("CC-INFINITE", "Infinite Private Credit Card", "无限卡私行信用卡",
              "An invitation-level card for private-banking customers: no preset spending limit, a personal "
              "relationship team, hotel status and global medical assistance.",
              "面向私人银行客户的无限卡：无预设消费上限、专属服务团队、酒店会籍及全球医疗救援。",
              fee="10000", income="1000000", tags=["premium", "private-banking", "travel"]),
        _card("CC-TRAVEL", "World Traveller Credit Card", "环球旅行信用卡",
              "A travel card with no foreign-transaction fee, 3x points on flights and hotels, free travel "
              "insurance when you pay for the trip with the card, and lounge visits. For frequent travellers "
              "earning CNY 80,000 a year or more.",
              "免货币转换费的旅行信用卡，机票酒店3倍积分，用卡支付行程赠送旅行险，含贵宾厅权益。"
              "适合年收入8万元以上、经常出行的客户。",
              fee="600", income="80000", tags=["travel", "no-fx-fee", "points", "lounge"]),
        _card("CC-AIRLINE", "SkyMiles Co-branded Credit Card", "航空联名信用卡",
              "A co-branded airline card earning one mile per CNY 10 spent, priority check-in and an extra "
              "baggage allowance. For customers who fly regularly.",
              "航空联名信用卡，每消费10元累积1公里里程，享优先值机及额外行李额。适合经常乘机的客户。",
              fee="480", income="60000", tags=["travel", "miles"]),
        _card("CC-CASHBACK", "Everyday Cash-Back Credit Card", "日常返现信用卡",
              "A card that pays 1% cash back on all spending and 5% at supermarkets in the first month of "
              "each quarter, credited to the statement. No annual fee; for customers who prefer money off "
              "over points.",
              "所有消费返现1%，每季度首月超市消费返现5%，直接抵扣账单，免年费。适合偏爱返现而非积分的客户。",
              fee="0", income="36000", tags=["cash-back", "groceries", "everyday"]),
        _card("CC-DINING", "Foodie Credit Card", "美食信用卡",
              "A card with 10% off at partner restaurants on weekends, 3x points on dining and food delivery "
              "and a birthday-month treat. For customers who eat out often.",
              "合作餐厅周末消费立减10%，餐饮及外卖3倍积分，生日月专属礼遇。适合经常外出就餐的客户。",
              fee="200", income="48000", tags=["dining", "points", "lifestyle"]),
        _card("CC-SHOPPING", "Online Shopping Credit Card", "网购信用卡",
              "A card with extra points on the major e-commerce platforms, interest-free instalments on "
              "electronics and purchase protection against damage for 90 days.",
              "主流电商平台消费额外积分，数码产品免息分期，90天购物损坏保障。",
              fee="0", income="36000", tags=["shopping", "online", "instalments"]),
        _card("CC-STUDENT", "Campus Credit Card", "校园信用卡",
              "A starter card for full-time university students with a modest limit, no annual fee and "
              "guidance on building a good credit record; a guardian's consent is required.",
              "面向全日制在校大学生的入门信用卡，额度适中、免年费，帮助建立良好信用记录；需监护人同意。",
              fee="0", income="0", tags=["student", "starter"], max_age=26, launched=date(2020, 9, 1)),
        _card("CC-YOUNG", "Young Professional Credit Card", "青年信用卡",
              "A card for customers aged 18 to 30 with bonus points on subscriptions, ride-hailing and "
              "coffee, and the annual fee waived in the first year.",
              "面向18至30岁客户的信用卡，订阅服务、网约车及咖啡消费额外积分，首年免年费。",
              fee="200", income="48000", tags=["young", "lifestyle"], max_age=30),
        _card("CC-DRIVER", "Motorist Credit Card", "车主信用卡",
              "A card for car owners with 5% back on fuel and charging, free roadside assistance and "
              "discounts on car washes and parking.",
              "车主专属信用卡，加油及充电返现5%，免费道路救援，洗车停车优惠。",
              fee="200", income="60000", tags=["car", "fuel", "transport"]),
        _card("CC-BUSINESS", "Business Owner Credit Card", "小微企业主信用卡",
              "A card for small-business owners that separates business spending, with up to 56 days "
              "interest-free and monthly expense reports.",
              "小微企业主信用卡，区分经营消费，最长56天免息，按月提供支出报表。",
              fee="500", income="150000", tags=["business", "sme"]),
    ]


def _loan(code: str, name_en: str, name_zh: str, desc_en: str, desc_zh: str, *, apr: tuple[str, str],
          term: int, min_amount: str, income: str, tags: list[str], min_age: int = 18, max_age: int = 65,
          multiple: bool = False, residency: list[str] | None = None, fee: str = "0",
          risk: int = 2) -> ProductSpec:
    return ProductSpec(
        code=code, type=ProductType.LOAN, name_en=name_en, name_zh=name_zh, description_en=desc_en,
        description_zh=desc_zh, risk_level=risk, return_min=D(apr[0]), return_max=D(apr[1]), term_months=term,
        min_amount=D(min_amount), liquidity=Liquidity.NOT_APPLICABLE, subscription_fee_pct=D(fee),
        min_age=min_age, max_age=max_age, min_annual_income=D(income), residency=residency or ["CN"],
        allows_multiple=multiple, tags=["loan", *tags], launched_on=date(2020, 1, 6),
    )


def loans() -> list[ProductSpec]:
    return [
        _loan("LN-PERSONAL-E", "Instant e-Loan", "快e贷",
              "An unsecured personal loan applied for in the app and paid out in minutes, up to CNY 300,000 "
              "over 12 months, repaid monthly. For salaried customers with a good credit record.",
              "手机银行线上申请、分钟级放款的无抵押个人消费贷款，最高30万元，期限12个月，按月还款。适合信用良好的工薪客户。",
              apr=("3.45", "8.50"), term=12, min_amount="1000", income="60000", tags=["personal", "unsecured", "online"]),
        _loan("LN-PERSONAL-PREM", "Premier Personal Loan", "优享个人信用贷款",
              "A larger unsecured loan up to CNY 1,000,000 over 36 months for customers with stable, "
              "high income, for home furnishing, weddings or other big expenses.",
              "面向收入稳定较高客户的无抵押信用贷款，最高100万元，期限36个月，可用于装修、婚庆等大额支出。",
              apr=("3.20", "6.50"), term=36, min_amount="50000", income="240000", tags=["personal", "unsecured"]),
        _loan("LN-CAR-NEW", "New Car Loan", "新车贷款",
              "A car loan for a new vehicle from a partner dealer, up to 80% of the price over 3 to 5 years, "
              "secured on the car.",
              "在合作经销商购买新车的汽车贷款，最高贷车价80%，期限3至5年，以车辆抵押。",
              apr=("3.50", "6.00"), term=60, min_amount="30000", income="72000", tags=["car", "secured"]),
        _loan("LN-CAR-EV", "Electric Vehicle Loan", "新能源汽车贷款",
              "A green car loan for electric and plug-in hybrid cars, with a lower rate than the standard "
              "car loan and up to 85% financed over 5 years.",
              "面向纯电及插电混动车型的绿色汽车贷款，利率低于普通车贷，最高贷85%，期限5年。",
              apr=("2.90", "5.00"), term=60, min_amount="30000", income="72000", tags=["car", "secured", "green", "esg"]),
        _loan("LN-CAR-USED", "Used Car Loan", "二手车贷款",
              "A loan for a used car up to eight years old, up to 70% of its valuation over 3 years.",
              "车龄八年以内二手车贷款，最高贷评估价70%，期限3年。",
              apr=("4.80", "8.00"), term=36, min_amount="20000", income="60000", tags=["car", "secured"]),
        _loan("LN-MORTGAGE-1ST", "First Home Mortgage", "首套住房按揭贷款",
              "A mortgage for a first home at the LPR-linked first-home rate, up to 30 years and 80% of the "
              "price, equal monthly instalments or equal principal.",
              "首套住房按揭贷款，执行首套房LPR定价，最长30年、最高贷房价80%，可选等额本息或等额本金。",
              apr=("3.10", "3.60"), term=360, min_amount="100000", income="96000", tags=["mortgage", "home", "secured"],
              max_age=70),
        _loan("LN-MORTGAGE-2ND", "Second Home Mortgage", "二套住房按揭贷款",
              "A mortgage for a second home at the second-home rate, up to 25 years and 70% of the price.",
              "二套住房按揭贷款，执行二套房利率，最长25年、最高贷房价70%。",
              apr=("3.50", "4.00"), term=300, min_amount="100000", income="180000", tags=["mortgage", "home", "secured"],
              max_age=70),
        _loan("LN-MORTGAGE-HPF", "Housing Provident Fund Combination Mortgage", "公积金组合贷款",
              "A combined mortgage that uses the housing provident fund loan first at its lower rate and "
              "tops up with a commercial loan, up to 30 years.",
              "优先使用利率较低的住房公积金贷款，不足部分以商业贷款补充的组合贷款，最长30年。",
              apr=("2.85", "3.30"), term=360, min_amount="100000", income="72000", tags=["mortgage", "home", "provident-fund"],
              max_age=70),
        _loan("LN-HOME-IMPROVE", "Home Renovation Loan", "家装分期贷款",
              "A loan for renovating a home you own, paid directly to the decorator in stages, up to "
              "CNY 500,000 over 5 years.",
              "为自有住房装修提供的贷款，分阶段直接支付给装修公司，最高50万元，期限5年。",
              apr=("3.60", "6.00"), term=60, min_amount="20000", income="96000", tags=["home", "renovation"]),
        _loan("LN-EDU-DOMESTIC", "Student Tuition Loan", "助学贷款",
              "A subsidised loan for university tuition and living costs, interest-free while studying and "
              "repaid over up to 15 years after graduation.",
              "用于大学学费及生活费的助学贷款，在校期间免息，毕业后最长15年还清。",
              apr=("2.30", "2.80"), term=180, min_amount="1000", income="0", tags=["education", "student"], max_age=30),
        _loan("LN-EDU-ABROAD", "Study Abroad Loan", "留学贷款",
              "A loan for a child's study abroad covering tuition, living costs and the deposit proof for "
              "a visa, up to CNY 1,000,000 over 10 years, repaid by the parent.",
              "用于子女出国留学的贷款，可覆盖学费、生活费及签证存款证明，最高100万元，期限10年，由家长还款。",
              apr=("3.80", "5.50"), term=120, min_amount="50000", income="200000", tags=["education", "family", "abroad"]),
        _loan("LN-SME-MICRO", "Inclusive Micro Business Loan", "普惠小微经营贷款",
              "A working-capital loan for self-employed customers and micro businesses, up to CNY 1,000,000, "
              "drawn and repaid as needed within 12 months.",
              "面向个体工商户及小微企业的流动资金贷款，最高100万元，12个月内随借随还。",
              apr=("3.20", "4.80"), term=12, min_amount="10000", income="60000", tags=["business", "sme"], multiple=True),
        _loan("LN-SME-TAX", "Tax-Record Business e-Loan", "税e贷",
              "An unsecured online business loan sized on the company's tax records, up to CNY 3,000,000 "
              "over 12 months.",
              "依据企业纳税记录核定额度的线上无抵押经营贷款，最高300万元，期限12个月。",
              apr=("3.50", "5.50"), term=12, min_amount="50000", income="150000", tags=["business", "sme", "online"]),
        _loan("LN-SME-SECURED", "Property-Secured Business Loan", "房产抵押经营贷款",
              "A business loan secured on residential or commercial property, up to 70% of its value over "
              "up to 10 years.",
              "以住宅或商业房产抵押的经营贷款，最高评估价70%，期限最长10年。",
              apr=("2.90", "4.20"), term=120, min_amount="200000", income="200000", tags=["business", "sme", "secured"]),
    ]


def _insurance(code: str, name_en: str, name_zh: str, desc_en: str, desc_zh: str, *, premium: str,
               term: int | None, risk: int, tags: list[str], min_age: int = 18, max_age: int | None = 60,
               returns: tuple[str, str] | None = None, liquidity: str = Liquidity.NOT_APPLICABLE,
               income: str = "0", provider: str = "Harmony Life Insurance") -> ProductSpec:
    return ProductSpec(
        code=code, type=ProductType.INSURANCE, name_en=name_en, name_zh=name_zh, description_en=desc_en,
        description_zh=desc_zh, risk_level=risk, return_min=D(returns[0]) if returns else None,
        return_max=D(returns[1]) if returns else None, term_months=term, min_amount=D(premium),
        liquidity=liquidity, provider=provider, min_age=min_age, max_age=max_age, min_annual_income=D(income),
        allows_multiple=False, tags=["insurance", *tags], launched_on=date(2021, 7, 1),
    )


def insurance() -> list[ProductSpec]:
    items = []
    for years in (10, 20, 30):
        items.append(_insurance(
            f"INS-TERM-{years}Y", f"{years}-Year Term Life Cover", f"{years}年定期寿险",
            f"Pure life cover for {years} years that pays the sum assured, from CNY 500,000, to your family "
            f"if you die or become totally disabled. Low annual premiums, no savings element; for "
            f"breadwinners with a mortgage or children.",
            f"保障期{years}年的纯保障寿险，身故或全残时向家人给付保额（50万元起）。年缴保费低、无储蓄功能，"
            f"适合有房贷或子女的家庭经济支柱。",
            premium="600", term=years * 12, risk=1, tags=["life", "protection", "family"],
            max_age=60 - years // 2))
    items += [
        _insurance("INS-CI-WHOLE", "Critical Illness Cover", "重大疾病保险",
                   "Pays a lump sum on diagnosis of any of 120 serious illnesses, including cancer, heart "
                   "attack and stroke, with cover to age 85. For customers who want income protection if "
                   "illness stops them working.",
                   "确诊120种重大疾病（含癌症、心梗、脑卒中）即一次性给付保险金，保障至85岁。适合希望患病无法工作时保障收入的客户。",
                   premium="3000", term=None, risk=1, tags=["critical-illness", "protection", "health"], max_age=55),
        _insurance("INS-CI-YOUNG", "Young Adult Critical Illness Plan", "青年重疾险",
                   "A 30-year critical-illness plan priced for adults under 40, paying out up to three times "
                   "for illnesses in different groups.",
                   "面向40岁以下成年人定价的30年期重疾保险，不同组别疾病最多可赔付三次。",
                   premium="1200", term=360, risk=1, tags=["critical-illness", "protection", "young", "health"],
                   max_age=40),
        _insurance("INS-MED-MILLION", "Million Medical Insurance", "百万医疗险",
                   "Annual hospital cover up to CNY 3 million after a CNY 10,000 deductible, including "
                   "cancer treatment and imported drugs; renewable yearly. For anyone who wants protection "
                   "against large medical bills.",
                   "年度住院医疗保障最高300万元，免赔额1万元，含癌症治疗及进口药，每年续保。适合希望防范大额医疗费用的客户。",
                   premium="300", term=12, risk=1, tags=["medical", "health", "protection"], min_age=0, max_age=65),
        _insurance("INS-MED-OUTPATIENT", "Outpatient and Dental Plan", "门诊及齿科医疗险",
                   "Covers outpatient visits, dental check-ups and children's vaccinations at partner "
                   "hospitals, with direct billing. Annual, for families.",
                   "合作医院门诊、洁牙检查及儿童疫苗费用保障，可直付结算。一年期，适合家庭。",
                   premium="2400", term=12, risk=1, tags=["medical", "health", "family"], min_age=0, max_age=60),
        _insurance("INS-MED-SENIOR", "Silver Health Medical Insurance", "银发医疗险",
                   "Hospital cover for customers aged 55 to 80 with pre-existing conditions accepted after a "
                   "waiting period; renewable yearly.",
                   "面向55至80岁客户的住院医疗保险，既往症经等待期后可保，每年续保。",
                   premium="1500", term=12, risk=1, tags=["medical", "health", "senior"], min_age=55, max_age=80),
        _insurance("INS-ANNUITY-PENSION", "Deferred Pension Annuity", "递延型养老年金保险",
                   "Pay premiums for 10 years and receive a guaranteed income every month from age 60 for "
                   "life, with a bonus that is not guaranteed. Early surrender returns less than paid in; "
                   "R2, for customers building retirement income.",
                   "缴费10年，60岁起每月领取终身保证年金，另有不保证的分红。提前退保可能低于已交保费；风险等级R2，适合积累养老收入的客户。",
                   premium="10000", term=120, risk=2, tags=["annuity", "pension", "retirement", "savings"],
                   returns=("2.00", "3.00"), liquidity=Liquidity.AT_MATURITY, max_age=55, income="60000"),
        _insurance("INS-ANNUITY-EDU", "Children's Education Annuity", "少儿教育年金保险",
                   "Parents pay for 5 years and the policy pays the child a sum each year from age 18 to 21 "
                   "for university costs. Guaranteed payouts; R2, for young families.",
                   "父母缴费5年，孩子18至21岁每年领取教育金用于大学费用。给付有保证；风险等级R2，适合年轻家庭。",
                   premium="12000", term=60, risk=2, tags=["annuity", "education", "family", "savings"],
                   returns=("1.80", "2.50"), liquidity=Liquidity.AT_MATURITY, min_age=22, max_age=50),
        _insurance("INS-ANNUITY-IMMED", "Immediate Income Annuity", "即期年金保险",
                   "Turn a lump sum into a guaranteed monthly income for life, starting the month after "
                   "purchase. For retirees who want certainty.",
                   "一次性交费，次月起终身按月领取保证年金。适合追求确定收入的退休客户。",
                   premium="100000", term=None, risk=2, tags=["annuity", "retirement", "income"],
                   returns=("2.00", "2.50"), liquidity=Liquidity.AT_MATURITY, min_age=55, max_age=80),
        _insurance("INS-TRAVEL-TRIP", "Single Trip Travel Insurance", "单次境外旅行保险",
                   "Cover for one trip abroad of up to 30 days: emergency medical care to CNY 1 million, "
                   "evacuation, trip cancellation and lost luggage. Accepted for Schengen visas.",
                   "单次境外旅行保障，最长30天：紧急医疗100万元、医疗转运、行程取消及行李丢失。可用于申根签证。",
                   premium="80", term=1, risk=1, tags=["travel", "protection"], min_age=0, max_age=80,
                   provider="Harmony General Insurance"),
        _insurance("INS-TRAVEL-ANNUAL", "Annual Multi-Trip Travel Insurance", "年度多次境外旅行保险",
                   "Year-round travel cover for any number of trips of up to 90 days each, for customers "
                   "who travel abroad several times a year.",
                   "全年不限次数的境外旅行保障，单次最长90天，适合一年多次出境的客户。",
                   premium="600", term=12, risk=1, tags=["travel", "protection", "frequent-traveller"],
                   min_age=0, max_age=75, provider="Harmony General Insurance"),
        _insurance("INS-ACCIDENT", "Personal Accident Cover", "个人意外伤害保险",
                   "A year of cover for accidental death, disability and accident medical costs, including "
                   "while driving or commuting.",
                   "一年期意外身故、伤残及意外医疗保障，含驾乘及通勤途中意外。",
                   premium="150", term=12, risk=1, tags=["accident", "protection"], max_age=65,
                   provider="Harmony General Insurance"),
        _insurance("INS-HOME", "Home and Contents Insurance", "家庭财产保险",
                   "Covers your home's structure and contents against fire, water damage and theft, with "
                   "liability to neighbours. Annual, for home owners and tenants.",
                   "保障房屋结构及室内财产遭受火灾、水渍及盗抢损失，含对邻居的责任。一年期，适合业主及租户。",
                   premium="200", term=12, risk=1, tags=["home", "protection", "property"], max_age=None,
                   provider="Harmony General Insurance"),
    ]
    return items
