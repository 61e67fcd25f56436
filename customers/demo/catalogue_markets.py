# ruff: noqa: E501 -- the catalogue is bilingual prose, one product per row; wrapping it hurts reading.
"""The demo catalogue's market products: mutual funds (money-market to sector and QDII) and bonds."""

from __future__ import annotations

from datetime import date

from customers.demo.catalogue import D, ProductSpec
from products.models import Liquidity, ProductType

_FUND_HOUSES = ["Harvest Peak Asset Management", "Eastern Bridge Fund Management", "Jade River Funds",
                "Silver Pine Investments", "Great Wall Horizon Funds"]


def _fund(code: str, name_en: str, name_zh: str, desc_en: str, desc_zh: str, *, risk: int, low: str,
          high: str, fee: str, sub_fee: str, house: int, tags: list[str], launched: date,
          liquidity: str = Liquidity.DAILY, min_amount: str = "10", term: int | None = None,
          currency: str = "CNY", residency: list[str] | None = None) -> ProductSpec:
    return ProductSpec(
        code=code, type=ProductType.FUND, name_en=name_en, name_zh=name_zh, description_en=desc_en,
        description_zh=desc_zh, risk_level=risk, return_min=D(low), return_max=D(high), term_months=term,
        min_amount=D(min_amount), liquidity=liquidity, provider=_FUND_HOUSES[house], currency=currency,
        management_fee_pct=D(fee), subscription_fee_pct=D(sub_fee), allows_multiple=True,
        residency=residency or [], tags=["fund", *tags], launched_on=launched,
    )


def funds() -> list[ProductSpec]:
    items = [
        _fund("FND-MMF-01", "Harvest Peak Money Market Fund", "嘉峰货币市场基金",
              "A money-market fund investing in deposits, repos and bills, priced at 1 yuan a unit with "
              "income accrued daily; redeem any business day. R1, a home for idle cash.",
              "投资于存款、回购及短期票据的货币市场基金，每日计提收益，工作日可赎回。风险等级R1，适合存放闲置资金。",
              risk=1, low="1.40", high="1.80", fee="0.25", sub_fee="0", house=0,
              tags=["money-market", "liquidity"], launched=date(2014, 5, 6), min_amount="1"),
        _fund("FND-MMF-02", "Eastern Bridge Cash Reserve Fund", "东桥现金储备货币基金",
              "A money-market fund with instant redemption up to CNY 10,000 a day, used by many customers as "
              "a better-paying current account. R1.",
              "支持每日1万元内快速赎回的货币基金，许多客户把它当作收益更高的活期账户。风险等级R1。",
              risk=1, low="1.35", high="1.75", fee="0.20", sub_fee="0", house=1,
              tags=["money-market", "liquidity"], launched=date(2015, 2, 2), min_amount="0.01"),
        _fund("FND-MMF-USD", "Silver Pine US Dollar Money Fund", "银松美元货币基金",
              "A US dollar money-market fund holding high-grade short-term dollar paper, redeemable daily. "
              "R2 because its value in yuan moves with the exchange rate.",
              "投资高等级美元短期票据的美元货币基金，每日可赎回。因人民币计价价值随汇率波动，风险等级R2。",
              risk=2, low="4.00", high="4.80", fee="0.30", sub_fee="0", house=3, currency="USD",
              tags=["money-market", "usd", "qdii"], launched=date(2019, 8, 12), min_amount="700"),
        _fund("FND-SBOND-01", "Jade River Short-Term Bond Fund", "玉川短债基金",
              "A short-term bond fund holding government and high-grade bonds under one year, with small "
              "day-to-day moves. R2, for cash you may need within months.",
              "主要投资一年以内的国债及高等级债券，净值日常波动小。风险等级R2，适合数月内可能动用的资金。",
              risk=2, low="2.00", high="3.00", fee="0.30", sub_fee="0", house=2,
              tags=["bond", "short-duration"], launched=date(2019, 11, 4)),
        _fund("FND-SBOND-02", "Great Wall Horizon 60-Day Holding Bond Fund", "长城远景60天持有期债券基金",
              "A short bond fund where each subscription is held at least 60 days, which lets the manager "
              "hold slightly longer bonds. R2, for cautious investors.",
              "每笔申购需持有满60天的短债基金，基金经理可配置期限稍长的债券。风险等级R2，适合稳健型投资者。",
              risk=2, low="2.20", high="3.20", fee="0.30", sub_fee="0", house=4, liquidity=Liquidity.MONTHLY,
              tags=["bond", "short-duration", "holding-period"], launched=date(2021, 6, 21)),
    ]
    for i, (name_en, name_zh, low, high) in enumerate((
            ("Pure Bond", "纯债", "2.50", "4.50"),
            ("Policy Bank Bond", "政金债", "2.30", "4.00"),
            ("Credit Select Bond", "信用精选债券", "2.80", "5.20"))):
        items.append(_fund(
            f"FND-BOND-{i + 1:02d}", f"{_FUND_HOUSES[i].split()[0]} {name_en} Fund",
            f"{['嘉峰', '东桥', '玉川'][i]}{name_zh}基金",
            f"A bond fund investing only in bonds ({name_en.lower()} focus), with no equities. Its value "
            f"falls when interest rates rise; R2, for investors seeking steady income over a year or more.",
            f"只投资债券、不投资股票的债券基金（侧重{name_zh}）。利率上行时净值会下跌。"
            f"风险等级R2，适合追求一年以上稳定收益的投资者。",
            risk=2, low=low, high=high, fee="0.30", sub_fee="0.80", house=i, tags=["bond"],
            launched=date(2016 + i, 3, 1)))
    items.append(_fund(
        "FND-CONVERT", "Silver Pine Convertible Bond Fund", "银松可转债基金",
        "A fund investing in convertible bonds, which behave partly like shares: it can fall by a fifth in a "
        "bad year. R4, for growth investors.",
        "投资可转换债券的基金，兼具股性，行情不佳时年内可能下跌两成。风险等级R4，适合成长型投资者。",
        risk=4, low="-12.00", high="18.00", fee="1.00", sub_fee="1.20", house=3,
        tags=["bond", "convertible"], launched=date(2018, 4, 9)))
    for i, (code, name_en, name_zh, equity) in enumerate((
            ("FND-BAL-CONS", "Conservative Allocation", "稳健配置混合", 30),
            ("FND-BAL-MOD", "Balanced Allocation", "均衡配置混合", 50),
            ("FND-BAL-FLEX", "Flexible Allocation", "灵活配置混合", 70))):
        risk = 3 if equity <= 50 else 4
        items.append(_fund(
            code, f"{_FUND_HOUSES[i + 1].split()[0]} {name_en} Fund", f"{['东桥', '玉川', '银松'][i]}{name_zh}基金",
            f"A balanced fund keeping about {equity}% in Chinese equities and the rest in bonds, rebalanced "
            f"as markets move. R{risk}, for investors with a horizon of three years or more.",
            f"股票仓位约{equity}%、其余投资债券的混合基金，随市场变化再平衡。风险等级R{risk}，"
            f"适合投资期限三年以上的投资者。",
            risk=risk, low=f"{-equity / 4:.2f}", high=f"{equity / 3:.2f}", fee="1.20", sub_fee="1.50",
            house=i + 1, tags=["balanced", "mixed"], launched=date(2017, 5 + i, 8)))
    indices = (
        ("FND-IDX-CSI300", "CSI 300 Index Fund", "沪深300指数基金", "the 300 largest A-share companies", "A股市值最大的300家公司", 4, "CNY", None),
        ("FND-IDX-CSI500", "CSI 500 Index Fund", "中证500指数基金", "500 mid-sized A-share companies", "500家A股中型公司", 4, "CNY", None),
        ("FND-IDX-CHINEXT", "ChiNext Index Fund", "创业板指数基金", "100 growth companies on the ChiNext board", "创业板100家成长型公司", 5, "CNY", None),
        ("FND-IDX-DIVLOW", "Dividend Low-Volatility Index Fund", "红利低波指数基金", "high-dividend, low-volatility A-shares", "高股息、低波动的A股", 3, "CNY", None),
        ("FND-IDX-HSI", "Hang Seng Index QDII Fund", "恒生指数QDII基金", "the Hang Seng Index of Hong Kong's largest companies", "香港恒生指数成分股", 4, "CNY", None),
        ("FND-IDX-SPX", "S&P 500 Index QDII Fund", "标普500指数QDII基金", "the 500 largest US companies", "美国500家大型上市公司", 4, "CNY", None),
        ("FND-IDX-NDX", "Nasdaq-100 Index QDII Fund", "纳斯达克100指数QDII基金", "100 large US technology-led companies", "美国100家以科技为主的大型公司", 5, "CNY", None),
    )
    for i, (code, name_en, name_zh, what_en, what_zh, risk, currency, residency) in enumerate(indices):
        qdii = "QDII" in name_en
        items.append(_fund(
            code, f"{_FUND_HOUSES[i % 5].split()[0]} {name_en}", f"{['嘉峰', '东桥', '玉川', '银松', '长城'][i % 5]}{name_zh}",
            f"A low-cost index fund tracking {what_en}; it rises and falls with that market"
            f"{' and with the exchange rate' if qdii else ''}. R{risk}, for long-term investors who want "
            f"broad market exposure.",
            f"跟踪{what_zh}的低费率指数基金，净值随市场{'及汇率' if qdii else ''}涨跌。风险等级R{risk}，"
            f"适合希望长期、分散投资市场的投资者。",
            risk=risk, low="-25.00" if risk == 5 else "-20.00", high="30.00" if risk == 5 else "22.00",
            fee="0.50", sub_fee="0.12" if not qdii else "0.80", house=i % 5,
            tags=["index", "equity", *(["qdii", "global"] if qdii else ["a-share"])],
            launched=date(2015 + i % 6, 1 + i, 15), currency=currency, residency=residency,
            liquidity=Liquidity.DAILY if not qdii else Liquidity.WEEKLY))
    actives = (
        ("FND-EQ-VALUE", "Value Select Equity Fund", "价值精选股票基金", "undervalued, cash-generating companies", "被低估、现金流充沛的公司", 4, ["value"]),
        ("FND-EQ-GROWTH", "Growth Pioneer Equity Fund", "成长先锋股票基金", "fast-growing companies in new industries", "新兴产业中的高成长公司", 5, ["growth"]),
        ("FND-EQ-DIVIDEND", "Dividend Income Equity Fund", "红利收益股票基金", "companies paying steady dividends", "分红稳定的公司", 4, ["dividend", "income"]),
        ("FND-SEC-HEALTH", "Healthcare Innovation Fund", "医疗创新股票基金", "pharmaceutical, medical-device and healthcare-service companies", "医药、医疗器械及医疗服务公司", 5, ["sector", "healthcare"]),
        ("FND-SEC-TECH", "Technology Leaders Fund", "科技龙头股票基金", "software, internet and hardware leaders", "软件、互联网及硬件龙头企业", 5, ["sector", "technology"]),
        ("FND-SEC-ENERGY", "New Energy Fund", "新能源产业股票基金", "solar, wind, battery and electric-vehicle makers", "光伏、风电、电池及新能源汽车企业", 5, ["sector", "new-energy", "esg"]),
        ("FND-SEC-CONSUMER", "Consumer Upgrade Fund", "消费升级股票基金", "consumer brands, retail and travel companies", "消费品牌、零售及出行公司", 4, ["sector", "consumer"]),
        ("FND-SEC-SEMI", "Semiconductor Industry Fund", "半导体产业股票基金", "chip designers, manufacturers and equipment makers", "芯片设计、制造及设备企业", 5, ["sector", "semiconductor", "technology"]),
        ("FND-QDII-GLOBAL", "Global Equity QDII Fund", "全球股票QDII基金", "listed companies across the US, Europe and Japan", "美国、欧洲及日本上市公司", 4, ["qdii", "global"]),
        ("FND-QDII-ASIABOND", "Asia Pacific Bond QDII Fund", "亚太债券QDII基金", "US dollar bonds of Asian governments and companies", "亚洲政府及企业发行的美元债券", 3, ["qdii", "bond", "global"]),
    )
    for i, (code, name_en, name_zh, what_en, what_zh, risk, tags) in enumerate(actives):
        bond = "bond" in tags
        items.append(_fund(
            code, f"{_FUND_HOUSES[(i + 2) % 5].split()[0]} {name_en}",
            f"{['玉川', '银松', '长城', '嘉峰', '东桥'][i % 5]}{name_zh}",
            f"An actively managed fund investing in {what_en}. "
            f"{'Prices move with rates and currencies' if bond else 'It can lose a third of its value in a bad year'}; "
            f"R{risk}, for {'balanced' if risk == 3 else 'experienced'} investors with a horizon of five years.",
            f"主动管理型基金，投资于{what_zh}。{'净值随利率及汇率波动' if bond else '行情不佳时年内可能下跌三分之一'}；"
            f"风险等级R{risk}，适合投资期限五年以上的{'平衡型' if risk == 3 else '有经验的'}投资者。",
            risk=risk, low="-5.00" if bond else "-30.00", high="8.00" if bond else "35.00",
            fee="1.20" if not bond else "0.80", sub_fee="1.50", house=(i + 2) % 5,
            tags=["equity" if not bond else "fixed-income", *tags], launched=date(2016 + i % 7, 1 + i, 10),
            liquidity=Liquidity.WEEKLY if "qdii" in tags else Liquidity.DAILY))
    for year, risk, equity in ((2035, 3, 40), (2045, 4, 60), (2055, 4, 75)):
        items.append(_fund(
            f"FND-TDF-{year}", f"Target Date {year} Pension FOF", f"目标日期{year}养老FOF",
            f"A fund of funds for people retiring around {year}: about {equity}% in equity funds today, "
            f"gliding towards bonds as the date nears; each purchase is held at least a year. R{risk}, "
            f"eligible for the personal pension account.",
            f"面向{year}年前后退休人群的基金中基金，目前权益类基金约占{equity}%，随目标日期临近逐步转向债券；"
            f"每笔申购持有至少一年。风险等级R{risk}，可纳入个人养老金账户。",
            risk=risk, low=f"{-equity / 4:.2f}", high=f"{equity / 3.5:.2f}", fee="0.60", sub_fee="0",
            house=year % 5, tags=["fof", "pension", "retirement", "target-date"],
            launched=date(2019, 10, 1), liquidity=Liquidity.AT_MATURITY, term=12, min_amount="1",
            residency=["CN"]))
    return items


def bonds() -> list[ProductSpec]:
    items: list[ProductSpec] = []
    for years, rate, kind_en, kind_zh in ((3, "2.38", "Certificate", "凭证式"), (5, "2.50", "Certificate", "凭证式"),
                                          (3, "2.38", "Electronic", "电子式"), (5, "2.50", "Electronic", "电子式")):
        items.append(ProductSpec(
            code=f"BND-SAV-{kind_en[:4].upper()}-{years}Y", type=ProductType.BOND, provider="Ministry of Finance",
            name_en=f"{years}-Year Savings Treasury Bond ({kind_en})", name_zh=f"{years}年期{kind_zh}储蓄国债",
            description_en=f"A {years}-year government savings bond sold to individuals at a fixed coupon, "
                           f"{'paid at maturity' if kind_en == 'Certificate' else 'paid yearly'}; redeemable "
                           f"early for a small charge. Backed by the state, R1, for savers.",
            description_zh=f"面向个人发行的{years}年期储蓄国债，票面利率固定，"
                           f"{'到期一次还本付息' if kind_en == 'Certificate' else '按年付息'}；可提前兑取，收取少量手续费。"
                           f"国家信用，风险等级R1，适合储蓄型客户。",
            risk_level=1, return_min=D(rate), return_max=D(rate), term_months=years * 12, min_amount=D("100"),
            liquidity=Liquidity.AT_MATURITY, allows_multiple=True, residency=["CN"],
            tags=["bond", "government", "savings-bond", "capital-protected"], launched_on=date(2024, 3, 10),
        ))
    for years, low, high in ((2, "1.40", "1.60"), (5, "1.55", "1.75"), (10, "1.70", "1.95"), (30, "1.95", "2.25")):
        items.append(ProductSpec(
            code=f"BND-CGB-{years}Y", type=ProductType.BOND, provider="Ministry of Finance",
            name_en=f"{years}-Year China Government Bond", name_zh=f"{years}年期记账式国债",
            description_en=f"A {years}-year book-entry government bond bought and sold over the bank counter "
                           f"at market prices. No credit risk, but its price moves with interest rates"
                           f"{', strongly at this length' if years >= 10 else ''}. R{1 if years <= 5 else 2}.",
            description_zh=f"{years}年期记账式国债，可在柜台按市价买卖。无信用风险，但价格随利率变动"
                           f"{'，期限越长波动越大' if years >= 10 else ''}。风险等级R{1 if years <= 5 else 2}。",
            risk_level=1 if years <= 5 else 2, return_min=D(low), return_max=D(high), term_months=years * 12,
            min_amount=D("100"), liquidity=Liquidity.DAILY, allows_multiple=True,
            tags=["bond", "government", "tradable"], launched_on=date(2023, 6, 1),
        ))
    for code, issuer_en, issuer_zh, years, low, high in (
            ("BND-LGB-SH-5Y", "Shanghai Municipal", "上海市地方政府", 5, "1.80", "2.00"),
            ("BND-LGB-GD-10Y", "Guangdong Provincial", "广东省地方政府", 10, "2.00", "2.20"),
            ("BND-CDB-3Y", "China Development Bank", "国家开发银行", 3, "1.75", "1.95"),
            ("BND-CDB-10Y", "China Development Bank", "国家开发银行", 10, "2.05", "2.25"),
            ("BND-ADBC-5Y", "Agricultural Development Bank", "农业发展银行", 5, "1.90", "2.10"),
            ("BND-EXIM-5Y", "Export-Import Bank", "进出口银行", 5, "1.90", "2.10")):
        policy = "Bank" in issuer_en
        items.append(ProductSpec(
            code=code, type=ProductType.BOND, provider=issuer_en,
            name_en=f"{issuer_en} {years}-Year {'Financial' if policy else 'Government'} Bond",
            name_zh=f"{issuer_zh}{years}年期{'金融债' if policy else '债券'}",
            description_en=f"A {years}-year {'policy-bank' if policy else 'local-government'} bond issued by "
                           f"{issuer_en}, paying a fixed annual coupon; sold over the counter from CNY 100. "
                           f"Very high credit quality, price moves with rates; R{1 if years <= 5 else 2}.",
            description_zh=f"{issuer_zh}发行的{years}年期{'政策性金融债' if policy else '地方政府债'}，按年付固定利息，"
                           f"柜台100元起购。信用等级很高，价格随利率波动；风险等级R{1 if years <= 5 else 2}。",
            risk_level=1 if years <= 5 else 2, return_min=D(low), return_max=D(high), term_months=years * 12,
            min_amount=D("100"), liquidity=Liquidity.DAILY, allows_multiple=True, residency=["CN"],
            tags=["bond", "policy-bank" if policy else "local-government", "tradable"],
            launched_on=date(2023, 9, 1),
        ))
    for code, name_en, name_zh, rating, years, risk, low, high, tags in (
            ("BND-CORP-AAA-3Y", "State Power Group AAA 3-Year Note", "国网集团AAA三年期中期票据", "AAA", 3, 2, "2.10", "2.40", ["corporate"]),
            ("BND-CORP-AA-5Y", "Metro Infrastructure AA+ 5-Year Bond", "城投基建AA+五年期企业债", "AA+", 5, 3, "2.80", "3.40", ["corporate"]),
            ("BND-GREEN-3Y", "Clean Power Green Bond 3-Year", "清洁能源三年期绿色债券", "AAA", 3, 2, "2.20", "2.50", ["corporate", "green", "esg"]),
            ("BND-BANKPERP", "Bank Capital Perpetual Bond", "银行永续债", "AAA", 60, 3, "2.40", "2.90", ["bank-capital", "perpetual"]),
            ("BND-HY-USD", "Asia High-Yield Dollar Bond Basket", "亚洲高收益美元债组合", "BB", 4, 4, "5.50", "8.00", ["corporate", "high-yield", "usd"])):
        items.append(ProductSpec(
            code=code, type=ProductType.BOND, provider="Bank Securities Desk",
            currency="USD" if "usd" in tags else "CNY", name_en=name_en, name_zh=name_zh,
            description_en=f"A {rating}-rated {'perpetual' if years == 60 else f'{years}-year'} bond paying a "
                           f"fixed coupon above government bonds for taking the issuer's credit risk; "
                           f"it can be sold before maturity at market prices. R{risk}.",
            description_zh=f"评级{rating}的{'永续' if years == 60 else f'{years}年期'}债券，因承担发行人信用风险，"
                           f"票面利率高于国债；到期前可按市价卖出。风险等级R{risk}。",
            risk_level=risk, return_min=D(low), return_max=D(high), term_months=years * 12 if years != 60 else None,
            min_amount=D("100000") if risk >= 3 else D("1000"), liquidity=Liquidity.WEEKLY,
            allows_multiple=True, min_annual_income=D("300000") if risk >= 4 else D("0"),
            tags=["bond", *tags], launched_on=date(2024, 1, 15),
        ))
    return items
