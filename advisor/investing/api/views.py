"""The investment advisor's API: the questionnaire, a customer's risk profile, allocation advice with its
suitability report, goal projections and rebalancing.

Customers are resolved through customers.selectors like every customer route: one the caller may not see is a
404. Partners need `investments:read` to read and `investments:write` (and the customer's consent) to submit a
questionnaire or ask for advice; staff read here and act in the admin. Advice that cannot be given yet (no risk
profile, an expired one, no assumptions) is a 409 with a code saying why; bad input is a 400 and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from advisor.investing import questionnaire, services
from advisor.investing.api.serializers import (
    AdviceOut,
    AllocationIn,
    AssessmentIn,
    AssessmentOut,
    GoalIn,
    GoalOut,
    QuestionnaireOut,
)
from advisor.investing.models import AssessmentChannel, InvestmentAdvice
from bank.api.errors import raise_first_error
from bank.api.idempotency import idempotent
from bank.api.schema import error_responses
from customers.api.views import PUBLIC_ID, CustomerScopedView
from customers.models import Customer, PartnerScope, PartnerToken

if TYPE_CHECKING:
    # The stubs' name for what get_permissions returns (permission objects with has_permission).
    from rest_framework.permissions import _SupportsHasPermission


class AdviceNotPossible(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "advice_unavailable"

    def __init__(self, error: services.AdviceUnavailable) -> None:
        super().__init__(detail=str(error), code=error.code)


def _language(request: Request) -> str:
    return getattr(request, "LANGUAGE_CODE", "en") or "en"


class _InvestmentWriteView(CustomerScopedView):
    required_scopes = (PartnerScope.INVESTMENTS_WRITE,)

    def acting_customer(self) -> Customer:
        """The customer, when the caller may act for them: the customer themself, or a consented partner."""
        customer = self.customer()
        if not isinstance(self.request.auth, PartnerToken) and customer.user_id != self.request.user.pk:
            raise PermissionDenied("Only the customer (or a partner they consented to) may do this; staff use "
                                   "the back office.")
        return customer

    def channel(self) -> str:
        return AssessmentChannel.API


class QuestionnaireView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    pagination_class = None

    @extend_schema(operation_id="risk_questionnaire", summary="The risk-tolerance questionnaire",
                   description="Questions and options in the request's language (Accept-Language: zh or en).",
                   responses={200: QuestionnaireOut, **error_responses(401)})
    def get(self, request: Request) -> Response:
        language = _language(request)
        questions = [
            {"key": q.key, "dimension": q.dimension, "text": questionnaire.text(q, language),
             "options": [{"value": o.value, "text": questionnaire.text(o, language)} for o in q.options]}
            for q in questionnaire.QUESTIONS
        ]
        return Response(QuestionnaireOut({"version": questionnaire.VERSION, "questions": questions}).data)


class RiskProfileView(_InvestmentWriteView):
    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        self.required_scopes = ((PartnerScope.INVESTMENTS_READ,) if self.request.method == "GET"
                                else (PartnerScope.INVESTMENTS_WRITE,))
        return super().get_permissions()

    @extend_schema(operation_id="customers_risk_profile", summary="A customer's current risk profile",
                   parameters=[PUBLIC_ID], responses={200: AssessmentOut, **error_responses(401, 403, 404, 409)})
    def get(self, request: Request, public_id: str) -> Response:
        assessment = services.latest_assessment(customer=self.customer())
        if assessment is None:
            raise AdviceNotPossible(services.AdviceUnavailable("The customer has not completed the risk "
                                                               "questionnaire.", code="risk_profile_missing"))
        return Response(AssessmentOut(assessment).data)

    @extend_schema(
        operation_id="customers_risk_profile_assess", summary="Submit a completed risk questionnaire",
        description="Scores the answers into R1–R5 (the lower of capacity and willingness, capped by horizon and "
                    "knowledge), flags inconsistent answers and sets the customer's risk tolerance. Every "
                    "question must be answered; errors name each bad answer.",
        parameters=[PUBLIC_ID], request=AssessmentIn,
        responses={201: AssessmentOut, **error_responses(400, 401, 403, 404)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        customer = self.acting_customer()
        body = AssessmentIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        try:
            assessment = services.assess_risk(customer=customer, answers=body.validated_data["answers"],
                                              channel=self.channel(), by=request.user)
        except questionnaire.QuestionnaireError as error:
            raise ValidationError({"answers": error.errors}) from None
        return Response(AssessmentOut(assessment).data, status=status.HTTP_201_CREATED)


class AllocationView(_InvestmentWriteView):
    @extend_schema(
        operation_id="customers_allocation", summary="Advise a strategic allocation of an amount",
        description="Mean-variance (default) or risk parity within the risk level's bounds, mapped onto products "
                    "the customer may buy (never above their risk level), stored with a suitability report.",
        parameters=[PUBLIC_ID], request=AllocationIn,
        responses={201: AdviceOut, **error_responses(400, 401, 403, 404, 409)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        customer = self.acting_customer()
        body = AllocationIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        try:
            advice = services.advise_allocation(customer=customer, amount=body.validated_data["amount"],
                                                method=body.validated_data["method"], channel=self.channel(),
                                                by=request.user)
        except services.AdviceUnavailable as error:
            raise AdviceNotPossible(error) from None
        return Response(AdviceOut(advice).data, status=status.HTTP_201_CREATED)


class RebalancingView(_InvestmentWriteView):
    @extend_schema(
        operation_id="customers_rebalancing", summary="Advise trades back toward the target allocation",
        description="A trade list within a 25 % turnover cap, no trade under CNY 500, nothing locked until "
                    "maturity sold; stored with its report. Needs a previous allocation (409 otherwise).",
        parameters=[PUBLIC_ID], request=None,
        responses={201: AdviceOut, **error_responses(401, 403, 404, 409)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        customer = self.acting_customer()
        try:
            advice = services.advise_rebalance(customer=customer, channel=self.channel(), by=request.user)
        except services.AdviceUnavailable as error:
            raise AdviceNotPossible(error) from None
        return Response(AdviceOut(advice).data, status=status.HTTP_201_CREATED)


class GoalProjectionView(_InvestmentWriteView):
    @extend_schema(
        operation_id="customers_goal_projection", summary="Project a savings goal by Monte Carlo",
        description="The probability of reaching the target by the date under the customer's latest allocation "
                    "(5,000 paths, seeded and stored), percentiles by year for a fan chart, and the monthly "
                    "contribution that gives an 80 % chance.",
        parameters=[PUBLIC_ID], request=GoalIn, responses={201: GoalOut, **error_responses(400, 401, 403, 404, 409)},
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        customer = self.acting_customer()
        body = GoalIn(data=request.data)
        if not body.is_valid():
            raise_first_error(body.errors)
        try:
            plan = services.plan_goal(customer=customer, **body.validated_data)
        except ValueError as error:
            raise ValidationError({"target_date": [str(error)]}) from None
        except services.AdviceUnavailable as error:
            raise AdviceNotPossible(error) from None
        return Response(GoalOut(plan).data, status=status.HTTP_201_CREATED)


class AdviceListView(CustomerScopedView):
    required_scopes = (PartnerScope.INVESTMENTS_READ,)

    @extend_schema(operation_id="customers_advice_list", summary="A customer's investment advice, newest first",
                   parameters=[PUBLIC_ID], responses={200: AdviceOut(many=True), **error_responses(401, 403, 404)})
    def get(self, request: Request, public_id: str) -> Response:
        rows = (InvestmentAdvice.objects.filter(customer=self.customer())
                .select_related("assessment", "assumptions").order_by("-created_at", "-id")[:50])
        return Response(AdviceOut(rows, many=True).data)
