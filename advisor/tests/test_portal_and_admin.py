"""The portal's "Recommended for you" page and the back office for recommendations."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from advisor import services
from advisor.models import BlockedCandidate, Channel, RecommendationSet
from bank.models import Job, ModelVersion
from bank.roles import COMPLIANCE_OFFICER, RELATIONSHIP_MANAGER
from customers.models import InteractionEvent, ProductInteraction
from customers.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.model]
PAGE = "/recommendations/"


@pytest.fixture
def customer_client(client, trained_bank):
    client.force_login(trained_bank.customer.user)
    return client


def test_the_page_shows_suitable_products_with_reasons_and_records_impressions_once(customer_client, trained_bank):
    first = customer_client.get(PAGE)
    again = customer_client.get(PAGE)

    assert first.status_code == again.status_code == 200
    items = first.context["items"]
    assert items and len(items) <= 6
    page = first.content.decode()
    assert "Why we suggest it" in page and items[0]["reasons"][0] in page
    # The second visit shows the same list (nothing happened in between) and does not count it as seen twice.
    assert again.context["recommendation_set"] == first.context["recommendation_set"]
    assert RecommendationSet.objects.filter(customer=trained_bank.customer).count() == 1
    impressions = ProductInteraction.objects.filter(customer=trained_bank.customer, event=InteractionEvent.IMPRESSION,
                                                    model_version=trained_bank.model)
    assert impressions.count() == len(items)


def test_a_need_typed_in_chinese_is_shown_back(customer_client):
    response = customer_client.get(
        PAGE, {"q": "我想要一年期、低风险、收益比存款高的理财"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert response.status_code == 200
    assert any("一年期" in line for line in response.context["understood"])


def test_not_for_me_removes_the_product_and_tell_me_more_opens_it(customer_client, trained_bank):
    shown = customer_client.get(PAGE).context
    dismissed = shown["items"][0]["product"]
    clicked = shown["items"][1]["product"]
    set_id = str(shown["recommendation_set"].public_id)

    gone = customer_client.post(reverse("portal:recommendation_feedback"),
                                {"product": dismissed.code, "event": "dismiss", "recommendation": set_id})
    opened = customer_client.post(reverse("portal:recommendation_feedback"),
                                  {"product": clicked.code, "event": "click", "recommendation": set_id})
    after = customer_client.get(PAGE)

    assert gone.status_code == 302 and gone["Location"] == PAGE
    assert opened.status_code == 302 and opened["Location"] == reverse("portal:product_detail", args=[clicked.code])
    assert dismissed not in [entry["product"] for entry in after.context["items"]]
    assert after.context["recommendation_set"].pk != shown["recommendation_set"].pk


def test_feedback_with_an_unknown_event_or_product_writes_nothing(customer_client, trained_bank):
    before = ProductInteraction.objects.count()

    customer_client.post(reverse("portal:recommendation_feedback"), {"product": "NOPE", "event": "click"})
    customer_client.post(reverse("portal:recommendation_feedback"), {"product": "NOPE", "event": "purchase"})

    assert ProductInteraction.objects.count() == before


def test_feedback_needs_a_post_and_a_login(client, trained_bank):
    assert client.get(reverse("portal:recommendation_feedback")).status_code in (302, 405)
    response = client.post(reverse("portal:recommendation_feedback"), {"product": "x", "event": "click"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def _staff(role: str, username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_compliance_reads_blocked_candidates_and_cannot_change_or_delete_them(client, trained_bank):
    result = services.recommend_products(customer=trained_bank.customer, k=5, channel=Channel.API)
    blocked = BlockedCandidate.objects.create(
        recommendation_set=result, customer=trained_bank.customer, product=result.items.first().product,
        model_version=trained_bank.model, score=1.0, reasons=["risk_above_tolerance"], detail="test",
    )
    client.force_login(_staff(COMPLIANCE_OFFICER, "compliance-test"))

    listing = client.get(reverse("admin:advisor_blockedcandidate_changelist"), {"reason": "risk_above_tolerance"})
    change = client.post(reverse("admin:advisor_blockedcandidate_change", args=[blocked.pk]), {"detail": "edited"})
    delete = client.post(reverse("admin:advisor_blockedcandidate_delete", args=[blocked.pk]), {"post": "yes"})

    assert listing.status_code == 200 and "Risk above the customer" in listing.content.decode()
    assert change.status_code == 403 and delete.status_code == 403
    blocked.refresh_from_db()
    assert blocked.detail == "test"


def test_the_performance_dashboard_draws_ctr_per_model_and_segment(client, trained_bank):
    result = services.recommend_products(customer=trained_bank.customer, k=4, channel=Channel.PORTAL)
    services.record_impressions(recommendation_set=result, channel="online")
    services.record_feedback(customer=trained_bank.customer, product=result.items.first().product, event="click",
                             channel="online", recommendation_set=result)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.get(reverse("admin:advisor_performance"))

    assert response.status_code == 200
    by_model = {series.label: series for series in response.context["by_model"]}
    mine = by_model[trained_bank.model.label]
    assert (mine.total_impressions, sum(mine.clicks), mine.ctr) == (4, 1, 0.25)
    assert "<polyline" in response.content.decode()


def test_a_relationship_manager_sees_only_their_books_recommendations(client, trained_bank):
    rm = _staff(RELATIONSHIP_MANAGER, "rm-portal-test")
    services.recommend_products(customer=trained_bank.customer, k=2, channel=Channel.API)
    client.force_login(rm)

    response = client.get(reverse("admin:advisor_recommendationset_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_feedback_with_a_malformed_list_id_is_recorded_without_the_list(customer_client, trained_bank):
    product = customer_client.get(PAGE).context["items"][0]["product"]

    response = customer_client.post(reverse("portal:recommendation_feedback"),
                                    {"product": product.code, "event": "click", "recommendation": "not-a-uuid"})

    assert response.status_code == 302
    click = ProductInteraction.objects.get(customer=trained_bank.customer, product=product, event="click")
    assert click.model_version_id is None


def test_retrain_queues_a_job_on_the_ml_cluster_for_those_allowed(client, trained_bank, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *a, **kw: queued.append((func, kw)))
    client.force_login(_staff(COMPLIANCE_OFFICER, "compliance-retrain"))
    with django_capture_on_commit_callbacks(execute=True):
        denied = client.post(reverse("admin:advisor_retrain"))
    assert denied.status_code == 403
    assert (Job.objects.count(), queued) == (0, [])

    client.force_login(UserFactory(username="root-retrain", is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:advisor_retrain"))

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?job={job.pk}")
    assert (job.kind, job.state) == ("Train advisor.recommender", Job.State.QUEUED)
    assert queued == [("advisor.tasks.train_recommender_task", {"job_id": job.pk, "cluster": "ml"})]
    page = client.get(reverse("admin:advisor_performance")).content.decode()
    assert "Retrain now" in page and "<progress" in page and 'http-equiv="refresh"' in page


def test_the_training_task_reports_progress_and_the_new_version_on_its_job(trained_bank):
    from advisor.tasks import train_recommender_task

    job = Job.objects.create(kind="Train advisor.recommender", task="advisor.tasks.train_recommender_task")

    version_id = train_recommender_task(job_id=job.pk)

    job.refresh_from_db()
    new = ModelVersion.objects.get(pk=version_id)
    assert (job.state, job.result["version"], job.result["activated"]) == (Job.State.DONE, new.label, False)
    assert job.attempts == 1 and job.started_at <= job.finished_at
    assert new.status == ModelVersion.Status.READY  # a retrain never replaces what serves by itself
    assert job.total and job.done == job.total  # the last step it announced was finished
    # Redelivered after it finished: nothing runs again.
    assert train_recommender_task(job_id=job.pk) == version_id
    assert ModelVersion.objects.filter(name="advisor.recommender").count() == 2
