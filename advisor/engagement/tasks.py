"""django-q2 entry points of personalised messages. They take ids and call services that are safe to rerun: a
message is unique per (campaign, customer, occurrence), so a redelivered task never messages anyone twice."""

from __future__ import annotations

from bank.jobs import Progress, run_job


def send_messages_task() -> dict[str, object]:
    """Every few minutes: deliver what waited out quiet hours (consent checked again), then launch the scheduled
    campaigns that are due. Each campaign launch is its own Job, so staff can follow it in the admin."""
    from django.utils import timezone

    from advisor.engagement.services import deliver_due_messages, due_campaigns

    now = timezone.now()
    delivered = deliver_due_messages(now=now)
    launched = []
    for campaign in due_campaigns(now=now):
        launch_campaign_task(campaign_id=campaign.pk)
        launched.append(campaign.code)
    return {**delivered, "launched": launched}


def launch_campaign_task(job_id: int | None = None, *, campaign_id: int) -> int:
    """Send scheduled campaign `campaign_id` to its audience, followed as a Job; returns the customers reached.
    Rerunning (or a redelivered task) only adds customers who joined the audience since."""
    from advisor.engagement.audience import audience_queryset
    from advisor.engagement.models import Campaign
    from advisor.engagement.services import bank_tz, launch_campaign

    def work(progress: Progress) -> dict[str, object]:
        from django.utils import timezone

        campaign = Campaign.objects.select_related("product").get(pk=campaign_id)
        now = timezone.now()
        size = audience_queryset(campaign.audience, today=now.astimezone(bank_tz()).date()).count()
        result = launch_campaign(campaign=campaign, now=now, advance=progress(f"Sending {campaign.code}", size))
        return {"campaign": campaign.code, "audience": result.audience, "new": result.created, **result.by_status}

    job = run_job(job_id, kind="Send campaign", task="advisor.engagement.tasks.launch_campaign_task", work=work)
    return int(job.result.get("audience", 0))


def scan_triggers_task() -> dict[str, object]:
    """Hourly: birthdays, salaries, maturing deposits and idle balances, for every active trigger campaign."""
    from advisor.engagement.triggers import scan_triggers

    return dict(scan_triggers())
