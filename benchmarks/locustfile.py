"""The portal + API mix for the load test; run by benchmarks/load.py (which seeds, serves and reports).

Portal customers log in once, then read their dashboard, search products, open their recommendations and
their transactions. API partners (the demo partner's token, all scopes) list and search products, read one
customer's recommendations and post feedback (with an Idempotency-Key, as a client that retries would).

Reads its inputs from the environment: LOAD_CUSTOMER_USERNAME, LOAD_PASSWORD, LOAD_PARTNER_TOKEN,
LOAD_CUSTOMER_IDS (comma-separated public ids consented to the partner) and LOAD_PRODUCT_CODES.
"""

from __future__ import annotations

import os
import random
import re
import uuid

from locust import HttpUser, between, task

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SEARCHES = ["travel card", "deposit", "fund", "loan", "insurance", "low risk", "旅行", "理财"]


def _env_list(name: str) -> list[str]:
    return [item for item in os.environ.get(name, "").split(",") if item]


class PortalCustomer(HttpUser):
    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        page = self.client.get("/login/", name="portal: login page")
        match = CSRF_FIELD.search(page.text)
        token = match.group(1) if match else ""
        with self.client.post(
            "/login/", name="portal: login",
            data={"username": os.environ["LOAD_CUSTOMER_USERNAME"], "password": os.environ["LOAD_PASSWORD"],
                  "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/login/"}, catch_response=True, allow_redirects=False,
        ) as response:
            # A successful login redirects; a failed one re-renders the form with 200.
            if response.status_code != 302:
                response.failure(f"login failed: {response.status_code}")

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/", name="portal: dashboard")

    @task(2)
    def product_search(self) -> None:
        self.client.get("/products/", params={"q": random.choice(SEARCHES)},  # nosec B311  # load mix
                        name="portal: products search")

    @task(2)
    def recommendations(self) -> None:
        self.client.get("/recommendations/", name="portal: recommendations")

    @task(2)
    def transactions(self) -> None:
        self.client.get("/transactions/", name="portal: transactions")


class ApiPartner(HttpUser):
    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {os.environ['LOAD_PARTNER_TOKEN']}"
        self.customers = _env_list("LOAD_CUSTOMER_IDS")
        self.products = _env_list("LOAD_PRODUCT_CODES")

    @task(3)
    def products_search(self) -> None:
        self.client.get("/api/v1/products/", params={"q": random.choice(SEARCHES)},  # nosec B311  # load mix
                        name="api: products search")

    @task(1)
    def product_detail(self) -> None:
        code = random.choice(self.products)  # nosec B311  # load mix
        self.client.get(f"/api/v1/products/{code}/", name="api: product detail")

    @task(2)
    def recommendations(self) -> None:
        customer = random.choice(self.customers)  # nosec B311  # load mix
        self.client.get(f"/api/v1/customers/{customer}/recommendations/", name="api: recommendations")

    @task(1)
    def feedback(self) -> None:
        customer = random.choice(self.customers)  # nosec B311  # load mix
        self.client.post(
            f"/api/v1/customers/{customer}/recommendations/feedback/", name="api: feedback POST",
            json={"product": random.choice(self.products), "event": "click"},  # nosec B311  # load mix
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
