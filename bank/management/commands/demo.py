"""`python manage.py demo`: the whole platform with the demo bank, from an empty machine, in one command.

Steps, each idempotent: migrate; seed the demo bank if there are no customers; embed the catalogue and
compute customer profiles and segments (in-process, with progress bars); demo logins; collect static files;
then run the web server (gunicorn) and the two django-q2 clusters (light tasks, and "ml" for training and scoring)
until Ctrl-C. `--no-serve` stops after the set-up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

# The smallest demo bank whose credit model reaches its quality floor (risk.ml.training.MIN_CREDIT_AUC): 1,000
# customers give about 28 defaults and an AUC of 0.76 / 0.79 (GBM / scorecard).
MIN_DEMO_CUSTOMERS = 1_000


def customers_without_todays_profile() -> list[int]:
    """Consenting customers with no profile snapshot of today (the bank's day): a later start the same day
    recomputes nothing; the nightly schedule recomputes everyone."""
    from django.utils import timezone

    from customers.models import Customer

    return list(Customer.objects.filter(consent_profiling=True).exclude(profiles__as_of=timezone.localdate())
                .order_by("pk").values_list("pk", flat=True))


class Command(BaseCommand):
    help = "Set up the demo bank (idempotently) and run the web server and workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-serve", action="store_true", help="Set up, print the logins, and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        from customers.models import Customer

        started = time.monotonic()
        self._step("Database: migrating")
        call_command("migrate", interactive=False, verbosity=0)

        if not Customer.objects.exists():
            if options["customers"] < MIN_DEMO_CUSTOMERS:
                # Refused before minutes of seeding and training: the credit model would stop the set-up anyway.
                raise CommandError(
                    f"--customers {options['customers']:,}: the demo bank needs at least {MIN_DEMO_CUSTOMERS:,} "
                    "customers. With fewer, too few borrowers default for the credit model to learn from: 500 "
                    "customers give about 14 defaults and a model worse than chance, which its quality floor "
                    "refuses to serve."
                )
            self._step(f"Demo bank: generating {options['customers']:,} customers (seed {options['seed']})")
            call_command("seed_demo", customers=options["customers"], seed=options["seed"])
        else:
            self._step(f"Demo bank: {Customer.objects.count():,} customers already there")

        from bank.embeddings import text_embedder

        # Here, before any worker starts: the first start exports MiniLM to ONNX once (about 10 s), and the web and
        # django-q2 workers only load the file.
        self._step("Models: the text encoder (on a CPU, exported to ONNX on the first start)")
        self.stdout.write(f"    {text_embedder().runtime_label}")
        self._step("Products: search index and embeddings (MiniLM + multilingual-e5)")
        call_command("embed_products")
        missing = customers_without_todays_profile()
        if missing:
            self._step(f"Customers: profiles and profile embeddings ({len(missing):,} without today's)")
            call_command("compute_profiles", customers=",".join(map(str, missing)))
        else:
            self._step("Customers: every profile is today's")
        self._step("Customers: segments (k-means, k by silhouette; known segments keep their codes)")
        call_command("segment_customers")
        from bank.registry import active_version

        if (recommender := active_version("advisor.recommender")) is None:
            self._step("Advisor: training the recommender (candidates + learned ranker)")
            call_command("train_recommender", activate=True)
        else:
            self._step(f"Advisor: recommender {recommender.label} is active")
        if (credit := active_version("risk.credit")) is None:
            self._step("Risk: training the credit model (calibrated GBM + scorecard) and scoring every customer")
            call_command("train_credit", activate=True, score=True)
        else:
            self._step(f"Risk: credit model {credit.label} is active")
        if active_version("risk.anomaly") is None:
            self._step("Risk: training the transaction-monitoring anomaly model")
            call_command("train_anomaly", activate=True)

        self._step("Chat: knowledge base (bilingual FAQ) and its index")
        call_command("load_knowledge_base")
        if (intents := active_version("chat.intents")) is None:
            self._step("Chat: training the intent model (Banking77 + English and Chinese examples, both encoders)")
            call_command("train_intents", activate=True)
        else:
            self._step(f"Chat: intent model {intents.label} is active")

        self._step("Messages: demo campaigns (an A/B offer with a holdout, birthday, maturity, idle balance)")
        from advisor.engagement.demo import run_demo_campaigns

        sent = run_demo_campaigns()
        self.stdout.write(f"    {sent}")

        from bank.demo_logins import DEMO_PASSWORD, ensure_demo_logins
        from bank.schedules import ensure_schedules

        logins = ensure_demo_logins()
        self._step("Applications: a handful across outcomes (approved, declined, referred to staff, activated)")
        from advisor.applications.demo import run_demo_applications

        self.stdout.write(f"    {run_demo_applications(showcase_username=logins.customer_username)}")
        ensure_schedules()
        self._queue_first_night()
        call_command("collectstatic", interactive=False, verbosity=0)
        self._step(f"Set-up done in {time.monotonic() - started:.0f} s")

        base = f"http://{options['host']}:{options['port']}"
        self._print_welcome(base, logins, DEMO_PASSWORD)
        if options["no_serve"]:
            return
        self._serve(options)

    def _queue_first_night(self) -> None:
        # The nightly schedules first run tonight (bank.schedules): the set-up above has done the rest of their
        # work. What the back office shows only from a night's run is queued for the workers now, once: the
        # portfolio review's valuations and alerts, and the credit model's drift report.
        from advisor.investing.models import PortfolioValuation
        from bank.jobs import start_job
        from bank.tasks import enqueue
        from risk.models import DriftReport

        if not PortfolioValuation.objects.exists():
            self._step("Investments: the first portfolio review, queued for the workers (admin → Jobs)")
            start_job(kind="Review portfolios", task="advisor.tasks.review_portfolios_task")
        if not DriftReport.objects.exists():
            enqueue("risk.tasks.credit_drift_task", ml=True)

    def _step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))

    def _print_welcome(self, base: str, logins: Any, password: str) -> None:
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS("The demo bank is ready."))
        w(f"  Customer portal   {base}/            login: {logins.customer_username} / {password}"
          f"  ({logins.customer_name})")
        w(f"  Staff back office {base}/admin/      password for every role: {password}")
        for username, role in logins.staff.items():
            w(f"      {username:<11} {role}")
        w(f"  Portal, for you   {base}/recommendations/")
        w(f"  Portal, investing {base}/invest/    (risk questionnaire, allocation, goals, rebalancing)")
        w(f"  Portal, chat      {base}/chat/      help centre {base}/help/")
        w(f"  Portal, messages  {base}/inbox/     campaigns and uplift: {base}/admin/advisor/campaign/")
        w(f"  Hand-off inbox    {base}/admin/chat/handoff/   (support agent: support)")
        w(f"  Recommendation performance  {base}/admin/advisor/recommendationset/performance/")
        w(f"  API               {base}/api/v1/products/")
        w(f"  API docs          {base}/api/docs/   (OpenAPI schema: {base}/api/schema/)")
        w(f"  Partner token     {logins.partner_token}")
        w(f"      scopes: {', '.join(logins.partner_scopes)}")
        w(f"      curl -H 'Authorization: Bearer {logins.partner_token}' {base}/api/v1/products/?q=travel+card")
        w("")

    def _serve(self, options: dict[str, Any]) -> None:
        python = sys.executable
        env = dict(os.environ)
        # The children join the embedded database this process started (or DATABASE_URL's server). Each leads a
        # process group of its own (gunicorn's workers, a cluster's guard and workers), so that stopping can end
        # the whole group: killing a cluster's main process alone left its busy workers running, orphaned.
        processes = {
            "web": subprocess.Popen(  # nosec B603  # fixed argv (this interpreter, our options), no shell
                [python, "-m", "gunicorn", "bank.wsgi", "--bind", f"{options['host']}:{options['port']}",
                 "--workers", str(options["web_workers"]), "--access-logfile", "-", "--timeout", "60"],
                env=env, start_new_session=True,
            ),
            "worker": subprocess.Popen(  # nosec B603  # fixed argv, no shell
                [python, "manage.py", "qcluster"], env=env, start_new_session=True
            ),
            "ml-worker": subprocess.Popen(  # nosec B603  # fixed argv, no shell
                [python, "manage.py", "qcluster"], env={**env, "Q_CLUSTER_NAME": settings.ML_CLUSTER},
                start_new_session=True,
            ),
        }
        self.stdout.write(f"Running web + workers (pids {', '.join(str(p.pid) for p in processes.values())}). "
                          "Ctrl-C stops everything.")

        def stop(*_: Any) -> None:
            # A graceful stop first (gunicorn finishes its requests, a cluster its tasks), then, after 20 s, the
            # whole group: a task still running then is retried by the next start (django-q2 redelivers it).
            for proc in processes.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            for proc in processes.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            for proc in processes.values():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the group outlives its leader; ends what is left
            # Gone, every one, before this process exits: the embedded server stops with its last holder, and a
            # worker still dying then would leave it running.
            for proc in processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
                give_up = time.monotonic() + 5
                while time.monotonic() < give_up:
                    try:
                        os.killpg(proc.pid, 0)
                    except (ProcessLookupError, PermissionError):
                        break
                    time.sleep(0.05)

        def stop_and_exit(*_: Any) -> None:
            stop()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop_and_exit)
        try:
            while True:
                for name, proc in processes.items():
                    code = proc.poll()
                    if code is not None:
                        self.stderr.write(f"{name} exited with status {code}; stopping the others")
                        stop()
                        sys.exit(code or 1)
                time.sleep(1)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
            stop()
