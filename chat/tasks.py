"""django-q2 entry points of the assistant. They take ids and call services that are safe to rerun."""

from __future__ import annotations

from bank.jobs import Progress, run_job


def train_intents_task(job_id: int | None = None) -> int:
    """Train, evaluate and register a `chat.intents` version (activated only when none is active); returns its
    ModelVersion id. Followed as a bank Job; a Job that already finished is not run again."""
    from bank.registry import quality_failures
    from chat.ml.training import MODEL_NAME, train_intents

    def work(progress: Progress) -> dict[str, object]:
        result = train_intents(progress=progress)
        return {"version": result.version.label, "version_id": result.version.pk, "activated": result.activated,
                "seconds": result.seconds, "below_quality_floor": quality_failures(result.version),
                **{f"{name} accuracy": round(r.accuracy, 4) for name, r in result.reports.items()}}

    job = run_job(job_id, kind=f"Train {MODEL_NAME}", task="chat.tasks.train_intents_task", work=work)
    return int(job.result.get("version_id", 0))


def index_articles_task(article_ids: list[int] | None = None) -> int:
    """Re-index the knowledge-base articles whose text changed (all when None). Idempotent."""
    from chat.knowledge import index_articles

    return index_articles(article_ids=article_ids)
