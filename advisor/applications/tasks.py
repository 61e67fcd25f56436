"""django-q2 entry points for applications: they take ids and call services that are safe to run twice."""

from __future__ import annotations


def decide_application_task(application_id: int) -> str:
    """Decide a submitted application (a redelivered task finds it decided and changes nothing)."""
    from advisor.applications.services import decide_application

    return str(decide_application(application_id=application_id).state)


def expire_offers_task() -> int:
    """Expire approved offers the customers did not take up in time."""
    from advisor.applications.services import expire_offers

    return expire_offers()
