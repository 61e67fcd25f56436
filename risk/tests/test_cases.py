import pytest
from django.test import Client

from customers.tests.factories import CustomerFactory
from risk.models import Alert, Case, CustomerRiskGrade
from risk.selectors import risk_grade_of, rule_performance
from risk.services.cases import CaseError, close_case, open_case, start_investigation
from risk.tests.factories import AlertFactory

pytestmark = pytest.mark.django_db


def test_alerts_of_one_customer_open_a_case(risk_officer):
    customer = CustomerFactory()
    alerts = [AlertFactory(customer=customer), AlertFactory(customer=customer, rule_codes=["rapid-payments"])]

    case = open_case(alerts=alerts, by=risk_officer, assign_to=risk_officer)

    assert case.status == "open" and case.assigned_to == risk_officer and case.customer == customer
    assert case.title == "2 alert(s): amount-far-above-history, rapid-payments"
    assert set(Alert.objects.values_list("status", "case")) == {("in_case", case.pk)}


def test_a_case_is_about_one_customer(risk_officer):
    with pytest.raises(CaseError, match="one customer"):
        open_case(alerts=[AlertFactory(), AlertFactory()], by=risk_officer)
    assert not Case.objects.exists()
    assert set(Alert.objects.values_list("status", flat=True)) == {"new"}


def test_closing_labels_every_alert_and_feeds_the_grade_and_rule_precision(risk_officer):
    customer = CustomerFactory()
    alerts = [AlertFactory(customer=customer, severity=3) for _ in range(2)]
    case = start_investigation(case=open_case(alerts=alerts, by=risk_officer), by=risk_officer)

    close_case(case=case, outcome="fraud_confirmed", by=risk_officer, note="card cloned")

    case.refresh_from_db()
    assert (case.status, case.outcome, case.closed_by) == ("closed", "fraud_confirmed", risk_officer)
    assert set(Alert.objects.values_list("label", "status")) == {("true_positive", "closed")}
    assert rule_performance()["amount-far-above-history"] == {"alerts": 2, "true_positive": 2, "false_positive": 0}
    grade = CustomerRiskGrade.objects.get(customer=customer)
    assert (grade.grade, grade.components["monitoring"]) == ("C", 30)
    assert risk_grade_of(customer=customer).grade == "C"
    assert case.notes.last().text == "Closed: Fraud confirmed; 2 alert(s) labelled true_positive. card cloned"


def test_a_false_positive_clears_the_alerts_from_the_grade(risk_officer):
    customer = CustomerFactory()
    case = open_case(alerts=[AlertFactory(customer=customer, severity=4)], by=risk_officer)

    close_case(case=case, outcome="genuine", by=risk_officer)

    assert Alert.objects.get().label == "false_positive"
    assert CustomerRiskGrade.objects.get(customer=customer).points == 0


def test_the_admin_opens_and_closes_a_case(risk_officer):
    customer = CustomerFactory()
    alert = AlertFactory(customer=customer)
    client = Client()
    client.force_login(risk_officer)

    client.post("/admin/risk/alert/", {"action": "open_case", "_selected_action": [alert.pk]})
    case = Case.objects.get()
    form = {"title": case.title, "status": "closed", "outcome": "", "assigned_to": risk_officer.pk,
            "notes-TOTAL_FORMS": 1, "notes-INITIAL_FORMS": 0, "notes-0-text": "",
            "alerts-TOTAL_FORMS": 1, "alerts-INITIAL_FORMS": 1, "alerts-0-id": alert.pk, "alerts-0-case": case.pk,
            "interventions-TOTAL_FORMS": 0, "interventions-INITIAL_FORMS": 0}
    refused = client.post(f"/admin/risk/case/{case.pk}/change/", form)
    closed = client.post(f"/admin/risk/case/{case.pk}/change/", {**form, "outcome": "genuine",
                                                                 "notes-0-text": "customer confirmed"})

    assert refused.status_code == 200 and "Say how the case ended." in refused.content.decode()
    assert closed.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "genuine")
    assert list(case.notes.values_list("text", flat=True))[-2:] == [
        "Closed: Genuine activity (false positive); 1 alert(s) labelled false_positive.", "customer confirmed"]
