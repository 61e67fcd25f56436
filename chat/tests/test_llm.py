"""Generation through both backends, each answer checked against its sources before a customer sees it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bank import llm
from chat.answers import answer_question

pytestmark = [pytest.mark.django_db, pytest.mark.model]


class FakeModelServer:
    """An OpenAI-compatible /chat/completions endpoint on a real socket, answering what it is told to."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": outer.answer}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def model_server(settings, assistant_bank):
    servers = []

    def start(answer: str) -> FakeModelServer:
        server = FakeModelServer(answer)
        servers.append(server)
        settings.CHAT_LLM_BACKEND, settings.CHAT_LLM_URL = "openai", server.url
        settings.CHAT_LLM_MODEL, settings.CHAT_LLM_API_KEY = "bank-llm", "secret-key"
        llm.forget_loaded_model()
        return server

    yield start
    for server in servers:
        server.close()
    llm.forget_loaded_model()


def test_a_faithful_generated_answer_is_used_and_cited(model_server):
    server = model_server("Standard delivery is free and takes 5–7 working days; express delivery takes 1–3.")

    answer = answer_question("How long does card delivery take?", intent="card_delivery_estimate", language="en")

    assert answer.mode == "generated:bank-llm"
    assert answer.text.startswith("Standard delivery is free")
    assert answer.citations[0]["id"] == "card-delivery"
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer secret-key"
    assert sent["body"]["temperature"] == 0 and "Sources:" in sent["body"]["messages"][1]["content"]


def test_an_answer_with_an_invented_number_falls_back_to_the_sources_own_words(model_server):
    model_server("Your card arrives in 36 hours by drone.")

    answer = answer_question("How long does card delivery take?", intent="card_delivery_estimate", language="en")

    assert answer.mode == "extractive"
    assert answer.rejected[0] == "numbers not in the sources: 36"
    assert "36" not in answer.text and "5–7" in answer.text


def test_an_unreachable_model_server_falls_back_to_extractive(settings, assistant_bank):
    settings.CHAT_LLM_BACKEND, settings.CHAT_LLM_URL, settings.CHAT_LLM_TIMEOUT = "openai", "http://127.0.0.1:9/v1", 1
    llm.forget_loaded_model()

    answer = answer_question("How long does card delivery take?", intent="card_delivery_estimate", language="en")

    assert answer.mode == "extractive" and "5–7" in answer.text
    llm.forget_loaded_model()


def test_the_local_smollm2_model_loads_from_its_gguf_and_generates(settings, assistant_bank):
    settings.CHAT_LLM_BACKEND = "local"
    llm.forget_loaded_model()
    model = llm.chat_model()

    text = model.complete([{"role": "user", "content": "Say hello to a bank customer."}], max_tokens=12)
    answer = answer_question("How long does card delivery take?", intent="card_delivery_estimate", language="en")

    assert model.name == "smollm2-135m-instruct" and text.strip()
    # Whatever the toy-sized model wrote, the customer gets a grounded answer: its own words only if they pass.
    assert answer.mode in ("generated:smollm2-135m-instruct", "extractive")
    assert answer.mode == "extractive" or not answer.rejected
    assert (settings.MODEL_ARTIFACT_DIR / "llm" / "smollm2-135m-instruct" / "config.json").exists()
    llm.forget_loaded_model()
