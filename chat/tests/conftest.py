"""A bank the assistant can work in: a small demo bank with a trained recommender, the real knowledge base
indexed with the real embedding models, a quick intent model (both encoders, a sample of the training data),
and two customers whose accounts the tests know by their last four digits.

The intent model is trained once per test session (about a minute on two cores) and registered per module;
the rest is built once per module inside an outer transaction that is rolled back at its end, each test
running in its own savepoint (the way Django's setUpTestData works).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from bank.models import ModelVersion
from customers.models import Account, Customer
from customers.tests.factories import AccountFactory, CreditCardFactory, CustomerFactory, TransactionFactory


@dataclass(frozen=True)
class AssistantBank:
    customer: Customer  # current •••1111 (¥10,000), savings •••2222 (¥50,000), credit card •••3333
    other: Customer  # someone else: current •••4444, credit card •••5555
    intents: ModelVersion


@pytest.fixture(scope="session")
def quick_intent_model():
    """Both encoders + logistic regression on 12 examples per intent and file (no database needed)."""
    from chat.ml.intents import IntentModel, encode
    from chat.ml.training import load_examples, training_files

    examples = load_examples(training_files(), max_per_intent=12, seed=0)
    return IntentModel.fit(encode([e.text for e in examples]), [e.intent for e in examples],
                           sources=[e.source for e in examples])


@pytest.fixture(scope="module")
def assistant_bank(django_db_setup, django_db_blocker, tmp_path_factory, quick_intent_model):
    from advisor.ml import scoring as advisor_scoring
    from advisor.ml.training import train_recommender
    from bank.registry import activate, register_artifact
    from chat.knowledge import index_articles, seed_knowledge_base
    from chat.ml import scoring as chat_scoring
    from chat.ml.training import MODEL_NAME

    folder = tmp_path_factory.mktemp("assistant")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=folder, MODEL_ARTIFACT_DIR=folder / "models",
                                                       CHAT_LLM_BACKEND="none"):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", customers=150, seed=3, months=2, quiet=True)
            call_command("embed_products", stdout=(folder / "embed.log").open("w"))  # product search's index
            train_recommender(activate=True, evaluate_first=False)
            seed_knowledge_base()
            index_articles()
            intents = activate(register_artifact(name=MODEL_NAME, write=quick_intent_model.save))
            customer = CustomerFactory(external_ref="CHAT0001", risk_tolerance=3, preferred_language="en")
            AccountFactory(customer=customer, number="6222000000001111", balance=Decimal("10000.00"))
            AccountFactory(customer=customer, number="6222000000002222", type="savings",
                           balance=Decimal("50000.00"))
            CreditCardFactory(customer=customer, number="6222000000003333", balance=Decimal("1200.00"),
                              credit_limit=Decimal("20000.00"))
            TransactionFactory(account=Account.objects.get(number="6222000000001111"), merchant="FreshMart")
            other = CustomerFactory(external_ref="CHAT0002")
            AccountFactory(customer=other, number="6222000000004444", balance=Decimal("777777.00"))
            CreditCardFactory(customer=other, number="6222000000005555")
            yield AssistantBank(customer=customer, other=other, intents=intents)
        finally:
            advisor_scoring.forget_loaded_model()
            chat_scoring.forget_loaded_model()
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def conversation(assistant_bank):
    from chat.services import start_conversation

    return start_conversation(customer=assistant_bank.customer, channel="portal", language="en")


@pytest.fixture
def say(conversation, assistant_bank):
    """say("text") -> the Exchange; the customer's own login is the actor."""
    from chat.services import send_message

    def _say(text: str, **kwargs):
        return send_message(conversation=conversation, text=text, actor=assistant_bank.customer.user,
                            channel="portal", **kwargs)

    return _say
