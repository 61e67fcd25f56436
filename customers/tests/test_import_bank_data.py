import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from customers.importing import FILE_KINDS, ImportFailed, import_bank_data
from customers.importing.parsing import decimal, iso_timestamp
from customers.models import Account, Customer, Holding, ProductInteraction, Transaction
from customers.tests.factories import AccountFactory, CustomerFactory, TransactionFactory, UserFactory
from products.models import Product
from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SAMPLE = Path(settings.BASE_DIR) / "docs" / "sample-import"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MODELS = (Product, Customer, Account, Transaction, Holding, ProductInteraction)


def sample_paths(folder: Path = SAMPLE) -> dict[str, Path]:
    return {kind: folder / f"{kind}.csv" for kind in FILE_KINDS}


def copy_sample(tmp_path: Path) -> dict[str, Path]:
    for kind in FILE_KINDS:
        shutil.copy(SAMPLE / f"{kind}.csv", tmp_path / f"{kind}.csv")
    return sample_paths(tmp_path)


def table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def errors_of(paths: dict[str, Path]) -> list[str]:
    with pytest.raises(ImportFailed) as failed:
        import_bank_data(paths=paths, dry_run=False)
    return [str(error) for error in failed.value.errors]


def write(path: Path, text: str) -> dict[str, Path]:
    path.write_text(text, encoding="utf-8")
    return {path.stem: path}


# --- the sample set -----------------------------------------------------------------------------------


def test_sample_set_imports_with_exact_values():
    report = import_bank_data(paths=sample_paths(), dry_run=False)

    assert [(f.kind, f.rows, f.created, f.updated) for f in report.files] == [
        ("products", 3, 3, 0),
        ("customers", 3, 3, 0),
        ("accounts", 5, 5, 0),
        ("transactions", 7, 7, 0),
        ("holdings", 3, 3, 0),
        ("interactions", 4, 4, 0),
    ]
    assert table_counts() == {
        "Product": 3,
        "Customer": 3,
        "Account": 5,
        "Transaction": 7,
        "Holding": 3,
        "ProductInteraction": 4,
    }

    fund = Product.objects.get(code="IMP-FUND-BAL")
    assert (fund.type, fund.risk_level, fund.name_zh) == ("fund", 3, "平衡成长基金")
    assert (fund.expected_return_min, fund.expected_return_max) == (Decimal("3.000"), Decimal("7.500"))
    assert (fund.term_months, fund.min_amount, fund.min_annual_income) == (
        None,
        Decimal("500.00"),
        Decimal("50000.00"),
    )
    assert (fund.residency, fund.tags, fund.max_age, fund.launched_on) == (
        ["CN", "HK"],
        ["fund", "balanced"],
        75,
        date(2024, 6, 1),
    )
    assert fund.search_document is not None
    card_product = Product.objects.get(code="IMP-CARD-PLAT")
    assert (card_product.residency, card_product.allows_multiple, card_product.liquidity) == (
        [],
        False,
        "n/a",
    )

    wang = Customer.objects.get(external_ref="CIF-100002")
    assert wang.user is None
    assert (wang.full_name, wang.birth_date, wang.gender, wang.national_id) == (
        "Wang Fang",
        date(1995, 11, 2),
        "F",
        "",
    )
    assert (wang.declared_annual_income, wang.risk_tolerance, wang.preferred_language) == (
        Decimal("180000.00"),
        2,
        "en",
    )
    # A naive timestamp is wall-clock time in settings.TIME_ZONE (Asia/Shanghai).
    assert wang.kyc_verified_at == datetime(2025, 5, 20, 9, 15, tzinfo=SHANGHAI)
    assert wang.risk_assessed_at is None
    assert (wang.consent_marketing, wang.consent_profiling, wang.customer_since) == (
        False,
        True,
        date(2023, 3, 15),
    )
    assert Customer.objects.get(external_ref="CIF-100003").full_name == "Chen, Jun"

    card = Account.objects.get(number="6222000010000002")
    assert (card.customer.external_ref, card.type, card.balance, card.credit_limit) == (
        "CIF-100001",
        "credit_card",
        Decimal("3120.00"),
        Decimal("80000.00"),
    )
    assert (card.product.code, card.opened_on, card.interest_rate) == (
        "IMP-CARD-PLAT",
        date(2021, 9, 10),
        None,
    )
    assert Account.objects.get(number="6222000010000001").interest_rate == Decimal("0.250")

    flight = Transaction.objects.get(external_ref="TX-0004")
    assert (flight.amount, flight.merchant, flight.category, flight.channel) == (
        Decimal("-2399.00"),
        "Sky Air, Inc.",
        "travel",
        "online",
    )
    assert flight.timestamp == datetime(2026, 10, 4, 3, 5, tzinfo=UTC)
    assert flight.customer.external_ref == "CIF-100001"
    groceries = Transaction.objects.get(external_ref="TX-0003")
    assert (groceries.currency, groceries.description) == ("CNY", "")  # empty currency: the account's
    atm = Transaction.objects.get(external_ref__isnull=True)
    assert (atm.account.number, atm.amount, atm.timestamp) == (
        "6222000010000005",
        Decimal("-500.00"),
        datetime(2026, 10, 5, 2, 20, tzinfo=UTC),
    )

    fund_holding = Holding.objects.get(product__code="IMP-FUND-BAL")
    assert (fund_holding.customer.external_ref, fund_holding.account, fund_holding.amount) == (
        "CIF-100001",
        None,
        Decimal("120000.00"),
    )
    deposit = Holding.objects.get(product__code="IMP-DEP-12M")
    assert (deposit.account.number, deposit.maturity_date) == ("6222000010000004", date(2027, 1, 20))

    click = ProductInteraction.objects.get(idempotency_key="import:INT-0002")
    assert (click.customer.external_ref, click.product.code, click.event, click.channel) == (
        "CIF-100002",
        "IMP-FUND-BAL",
        "click",
        "app",
    )
    assert click.timestamp == datetime(2026, 10, 5, 9, 1, 30, tzinfo=SHANGHAI)


def test_reimporting_the_sample_set_is_idempotent():
    import_bank_data(paths=sample_paths(), dry_run=False)
    before = {
        "customers": list(
            Customer.objects.values_list(
                "external_ref", "full_name", "declared_annual_income", "kyc_verified_at", "public_id"
            )
        ),
        "accounts": list(
            Account.objects.values_list("number", "customer_id", "balance", "credit_limit", "pk")
        ),
        "transactions": list(
            Transaction.objects.filter(external_ref__isnull=False).values_list(
                "external_ref", "amount", "timestamp", "pk"
            )
        ),
    }

    report = import_bank_data(paths=sample_paths(), dry_run=False)

    # The one transaction without a transaction_id is appended again, as documented; everything else matches.
    assert [(f.kind, f.created, f.updated) for f in report.files] == [
        ("products", 0, 3),
        ("customers", 0, 3),
        ("accounts", 0, 5),
        ("transactions", 1, 6),
        ("holdings", 0, 3),
        ("interactions", 0, 4),
    ]
    assert table_counts() == {
        "Product": 3,
        "Customer": 3,
        "Account": 5,
        "Transaction": 8,
        "Holding": 3,
        "ProductInteraction": 4,
    }
    assert (
        list(
            Customer.objects.values_list(
                "external_ref", "full_name", "declared_annual_income", "kyc_verified_at", "public_id"
            )
        )
        == before["customers"]
    )
    assert (
        list(Account.objects.values_list("number", "customer_id", "balance", "credit_limit", "pk"))
        == (before["accounts"])
    )
    assert (
        list(
            Transaction.objects.filter(external_ref__isnull=False).values_list(
                "external_ref", "amount", "timestamp", "pk"
            )
        )
        == before["transactions"]
    )


def test_an_update_keeps_the_login_user_and_untouched_columns(tmp_path):
    user = UserFactory()
    customer = CustomerFactory(external_ref="CIF-7", user=user, city="Suzhou", full_name="Old Name")

    report = import_bank_data(
        paths=write(
            tmp_path / "customers.csv", "external_ref,full_name,birth_date\nCIF-7,New Name,1990-05-17\n"
        ),
        dry_run=False,
    )

    customer.refresh_from_db()
    assert (report.files[0].created, report.files[0].updated) == (0, 1)
    assert (customer.full_name, customer.user, customer.city) == ("New Name", user, "Suzhou")


def test_references_may_point_at_rows_already_in_the_database(tmp_path):
    CustomerFactory(external_ref="CIF-DB")

    import_bank_data(
        paths=write(tmp_path / "accounts.csv", "number,customer_ref,type\n62220099,CIF-DB,savings\n"),
        dry_run=False,
    )

    account = Account.objects.get(number="62220099")
    assert (account.customer.external_ref, account.type, account.balance) == (
        "CIF-DB",
        "savings",
        Decimal("0"),
    )


# --- all or nothing -----------------------------------------------------------------------------------


def test_one_bad_row_among_good_ones_writes_nothing_in_any_table(tmp_path):
    TransactionFactory()
    paths = copy_sample(tmp_path)
    with paths["transactions"].open("a", encoding="utf-8") as handle:
        handle.write("TX-0099,6222000010000001,12.3x,CNY,2026-10-09T10:00:00+08:00,dining,pos,Cafe,,\n")
    before = table_counts()

    assert errors_of(paths) == [
        "transactions.csv:9: amount: '12.3x' is not a decimal number (digits and '.', e.g. 1234.50)",
    ]
    assert table_counts() == before


def test_the_command_lists_the_errors_and_exits_non_zero(tmp_path):
    paths = copy_sample(tmp_path)
    text = paths["accounts"].read_text(encoding="utf-8").replace("CIF-100003", "CIF-999999")
    paths["accounts"].write_text(text, encoding="utf-8")
    before = table_counts()

    with pytest.raises(CommandError) as failed:
        call_command("import_bank_data", "--dir", str(tmp_path), stdout=StringIO())

    assert str(failed.value) == (
        "2 error(s); nothing was imported.\n"
        "  accounts.csv:6: customer_ref: unknown customer 'CIF-999999'\n"
        "  transactions.csv:8: account_number: unknown account '6222000010000005'"
    )
    assert table_counts() == before


def test_the_command_imports_a_folder_and_prints_a_summary():
    out = StringIO()

    call_command("import_bank_data", "--dir", str(SAMPLE), stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines[:6]] == [
        "products.csv: 3 rows, 3 created, 0 updated",
        "customers.csv: 3 rows, 3 created, 0 updated",
        "accounts.csv: 5 rows, 5 created, 0 updated",
        "transactions.csv: 7 rows, 7 created, 0 updated",
        "holdings.csv: 3 rows, 3 created, 0 updated",
        "interactions.csv: 4 rows, 4 created, 0 updated",
    ]
    assert lines[6] == "Import committed."
    assert table_counts()["Transaction"] == 7


def test_dry_run_checks_everything_and_writes_nothing():
    out = StringIO()

    call_command("import_bank_data", "--dir", str(SAMPLE), "--dry-run", stdout=out)
    report = import_bank_data(paths=sample_paths(), dry_run=True)

    assert [(f.kind, f.created) for f in report.files] == [
        ("products", 3),
        ("customers", 3),
        ("accounts", 5),
        ("transactions", 7),
        ("holdings", 3),
        ("interactions", 4),
    ]
    assert "Dry run: every row is valid; nothing was written." in out.getvalue()
    assert table_counts() == dict.fromkeys(
        ["Product", "Customer", "Account", "Transaction", "Holding", "ProductInteraction"], 0
    )


def test_dry_run_still_reports_errors(tmp_path):
    paths = write(tmp_path / "customers.csv", "external_ref,full_name,birth_date\nC1,A,1990-02-30\n")

    with pytest.raises(ImportFailed) as failed:
        import_bank_data(paths=paths, dry_run=True)

    assert [str(e) for e in failed.value.errors] == [
        "customers.csv:2: birth_date: '1990-02-30' is not a valid calendar date"
    ]


# --- kinds of bad input -------------------------------------------------------------------------------


def test_unknown_enum_value(tmp_path):
    paths = copy_sample(tmp_path)
    paths["interactions"].write_text(
        "customer_ref,product_code,event,timestamp\nCIF-100001,IMP-FUND-BAL,like,2026-10-01T10:00:00+08:00\n",
        encoding="utf-8",
    )

    assert errors_of(paths) == [
        "interactions.csv:2: event: unknown value 'like' (allowed: impression, click, dismiss, purchase)"
    ]


def test_bad_decimals(tmp_path):
    paths = write(
        tmp_path / "customers.csv",
        "external_ref,full_name,birth_date,declared_annual_income\n"
        "C1,A,1990-01-01,1200.005\n"
        'C2,B,1990-01-01,"1,200.00"\n'
        "C3,C,1990-01-01,1200.5\n",
    )

    assert errors_of(paths) == [
        "customers.csv:2: declared_annual_income: '1200.005' has more than 2 decimal places",
        "customers.csv:3: declared_annual_income: '1,200.00' is not a decimal number "
        "(digits and '.', e.g. 1234.50)",
    ]


def test_unknown_references(tmp_path):
    paths = copy_sample(tmp_path)
    paths["holdings"].write_text(
        "customer_ref,product_code,account_number,opened_on\n"
        "CIF-100001,NO-SUCH-PRODUCT,,2026-01-01\n"
        "CIF-100001,IMP-DEP-12M,6222000099999999,2026-01-01\n"
        "CIF-100001,IMP-DEP-12M,6222000010000004,2026-01-01\n",
        encoding="utf-8",
    )

    assert errors_of(paths) == [
        "holdings.csv:2: product_code: unknown product 'NO-SUCH-PRODUCT'",
        "holdings.csv:3: account_number: unknown account '6222000099999999'",
        "holdings.csv:4: account_number: account '6222000010000004' belongs to customer 'CIF-100002'",
    ]


def test_a_missing_required_column_is_reported_once(tmp_path):
    paths = write(
        tmp_path / "transactions.csv",
        "account_number,amount,timestamp,category\n"
        "1,-1.00,2026-10-01T10:00:00+08:00,dining\n"
        "1,-2.00,2026-10-01T10:00:00+08:00,dining\n",
    )

    assert errors_of(paths) == ["transactions.csv:1: channel: missing required column"]


def test_an_unknown_column_is_an_error(tmp_path):
    paths = write(
        tmp_path / "customers.csv", "external_ref,full_name,birth_date,emial\nC1,A,1990-01-01,a@b.cn\n"
    )

    errors = errors_of(paths)

    assert len(errors) == 1
    assert errors[0].startswith("customers.csv:1: emial: unknown column (expected: external_ref, full_name,")


def test_duplicate_keys_within_a_file(tmp_path):
    paths = write(
        tmp_path / "products.csv",
        "code,type,name_en,name_zh,description_en,description_zh,risk_level\n"
        "P-1,deposit,A,甲,a,甲,1\n"
        "P-2,deposit,B,乙,b,乙,1\n"
        "P-1,fund,C,丙,c,丙,3\n",
    )

    assert errors_of(paths) == ["products.csv:4: code: duplicate key 'P-1' (first on line 2)"]
    assert Product.objects.count() == 0


def test_card_without_a_credit_limit_and_limit_on_a_current_account(tmp_path):
    CustomerFactory(external_ref="CIF-1")
    paths = write(
        tmp_path / "accounts.csv",
        "number,customer_ref,type,credit_limit\nA1,CIF-1,credit_card,\nA2,CIF-1,current,5000.00\n",
    )

    assert errors_of(paths) == [
        "accounts.csv:2: credit_limit: required for a credit_card account",
        "accounts.csv:3: credit_limit: only credit_card accounts have a credit limit (type is current)",
    ]


def test_an_account_cannot_move_to_another_customer(tmp_path):
    AccountFactory(number="A1", customer=CustomerFactory(external_ref="CIF-1"))
    CustomerFactory(external_ref="CIF-2")
    paths = write(tmp_path / "accounts.csv", "number,customer_ref,type\nA1,CIF-2,current\n")

    assert errors_of(paths) == ["accounts.csv:2: customer_ref: account 'A1' belongs to customer 'CIF-1'"]
    assert Account.objects.get(number="A1").customer.external_ref == "CIF-1"


def test_a_file_with_a_bom_imports(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes("\ufeffexternal_ref,full_name,birth_date\r\nC1,李伟,1988-03-14\r\n".encode())

    import_bank_data(paths={"customers": path}, dry_run=False)

    assert list(Customer.objects.values_list("external_ref", "full_name", "birth_date")) == [
        ("C1", "李伟", date(1988, 3, 14))
    ]


def test_bad_encoding_names_the_line(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(b"external_ref,full_name,birth_date\nC1,A,1990-01-01\nC2,Gr\xfcn,1990-01-01\n")

    assert errors_of({"customers": path}) == ["customers.csv:3: not valid UTF-8 (byte 0xfc at position 6)"]


def test_wrong_field_count_and_quoted_newlines_keep_line_numbers(tmp_path):
    paths = write(
        tmp_path / "customers.csv",
        "external_ref,full_name,birth_date,address\n"
        'C1,A,1990-01-01,"Line one\nLine two"\n'
        "C2,B,1990-01-01\n"
        "\n"
        "C3,C,1990-13-01,x\n",
    )

    assert errors_of(paths) == [
        "customers.csv:4: expected 4 fields, found 3",
        "customers.csv:6: birth_date: '1990-13-01' is not a valid calendar date",
    ]


def test_a_missing_file_is_reported():
    assert errors_of({"products": Path("/nonexistent/products.csv")}) == [
        "products.csv: cannot open: No such file or directory"
    ]


def test_errors_from_several_files_are_all_collected(tmp_path):
    paths = copy_sample(tmp_path)
    paths["customers"].write_text(
        paths["customers"].read_text(encoding="utf-8").replace("young_family", "young_families"),
        encoding="utf-8",
    )
    paths["transactions"].write_text(
        paths["transactions"]
        .read_text(encoding="utf-8")
        .replace(
            "TX-0006,6222000010000003,-86.00,CNY,2026-10-02T19:45:00+08:00",
            "TX-0006,6222000010000003,-86.00,CNY,2026-10-02",
        ),
        encoding="utf-8",
    )

    errors = errors_of(paths)

    # Customer CIF-100001 was rejected, so its accounts, their transactions and holdings cannot be resolved:
    # every consequence is listed, each at its own line.
    assert errors[0] == (
        "customers.csv:2: life_stage: unknown value 'young_families' (allowed: student, "
        "young_professional, young_family, established, pre_retirement, retired)"
    )
    assert errors[1:] == [
        "accounts.csv:2: customer_ref: unknown customer 'CIF-100001'",
        "accounts.csv:3: customer_ref: unknown customer 'CIF-100001'",
        "transactions.csv:2: account_number: unknown account '6222000010000001'",
        "transactions.csv:3: account_number: unknown account '6222000010000001'",
        "transactions.csv:4: account_number: unknown account '6222000010000002'",
        "transactions.csv:5: account_number: unknown account '6222000010000002'",
        "transactions.csv:7: timestamp: '2026-10-02' is not a timestamp (YYYY-MM-DDTHH:MM[:SS][+HH:MM])",
        "holdings.csv:2: customer_ref: unknown customer 'CIF-100001'",
        "holdings.csv:4: customer_ref: unknown customer 'CIF-100001'",
        "interactions.csv:5: customer_ref: unknown customer 'CIF-100001'",
    ]
    assert table_counts() == dict.fromkeys(
        ["Product", "Customer", "Account", "Transaction", "Holding", "ProductInteraction"], 0
    )


# --- pure parsers -------------------------------------------------------------------------------------


def test_decimal_parser_limits():
    parse = decimal(places=2, max_digits=6)

    assert parse("1234.5") == Decimal("1234.50")
    assert parse("-0.01") == Decimal("-0.01")
    with pytest.raises(ValueError, match=r"'12345.00' is too large \(at most 4 digits before '.'\)"):
        parse("12345.00")
    with pytest.raises(ValueError, match="is not a decimal number"):
        parse("1e3")


def test_timestamp_parser_offsets_and_naive_times():
    assert iso_timestamp("2026-10-03T12:30:00+08:00") == datetime(2026, 10, 3, 4, 30, tzinfo=UTC)
    assert iso_timestamp("2026-10-03T04:30Z") == datetime(2026, 10, 3, 4, 30, tzinfo=UTC)
    assert iso_timestamp("2026-10-03 12:30:00") == datetime(2026, 10, 3, 12, 30, tzinfo=SHANGHAI)
    with pytest.raises(ValueError, match="is not a timestamp"):
        iso_timestamp("03/10/2026 12:30")


def test_a_database_constraint_the_parser_cannot_see_fails_the_run(tmp_path):
    # expected_return_max is not in the file: the stored 1.800 stays, and 5.000 as the minimum breaks the
    # ordering constraint only the database can check.
    ProductFactory(code="P-1", expected_return_max=Decimal("1.800"))
    paths = write(
        tmp_path / "products.csv",
        "code,type,name_en,name_zh,description_en,description_zh,risk_level,expected_return_min\n"
        "P-1,deposit,A,甲,a,甲,1,5.000\n",
    )

    errors = errors_of(paths)

    assert len(errors) == 1
    assert errors[0].startswith("products.csv:2: the database rejected the rows on lines 2-2: ")
    assert "product_return_range_ordered" in errors[0]
    assert Product.objects.get(code="P-1").expected_return_min == Decimal("1.500")
