"""Staff roles and what each may do in the back office.

Groups are created by a migration (bank 0002) and their permissions are brought up to date after every
`migrate`, so a model added by a later issue only needs a line here. Object-level rules (a relationship
manager sees only their own book) are enforced in the admin querysets, not by these model permissions.
"""

from __future__ import annotations

from typing import Any

RELATIONSHIP_MANAGER = "Relationship manager"
RISK_OFFICER = "Risk officer"
COMPLIANCE_OFFICER = "Compliance officer"
SUPPORT_AGENT = "Support agent"
ADMINISTRATOR = "Administrator"

STAFF_GROUPS = [RELATIONSHIP_MANAGER, RISK_OFFICER, COMPLIANCE_OFFICER, SUPPORT_AGENT, ADMINISTRATOR]

# role -> {"app_label.model": actions}; actions are Django's view/add/change/delete.
VIEW = ("view",)
EDIT = ("view", "add", "change")
ALL = ("view", "add", "change", "delete")

ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    RELATIONSHIP_MANAGER: {
        # unmask: personal details and card numbers in full (own book only, every time audited).
        "customers.customer": ("view", "change", "unmask"),
        "customers.account": VIEW,
        "customers.transaction": VIEW,
        "customers.holding": VIEW,
        "customers.productinteraction": VIEW,
        "customers.profilesnapshot": VIEW,
        "customers.segment": VIEW,  # segments: sizes, what defines them, drift; re-run by the weekly task
        "customers.segmentationrun": VIEW,
        "products.product": VIEW,
        "advisor.recommendationset": VIEW,
        "advisor.recommendation": VIEW,
        "advisor.riskassessment": VIEW,
        "advisor.investmentadvice": VIEW,
        "advisor.goalplan": VIEW,
        "advisor.capitalmarketassumptions": VIEW,
        "advisor.assetclassassumption": VIEW,
        "advisor.portfolioalert": ("view", "change"),
        # Referred applications: relationship managers and risk officers decide them (the staff queue).
        "advisor.application": ("view", "decide"),
        "advisor.applicationevent": VIEW,
        "risk.customerriskgrade": VIEW,
        "risk.creditscore": VIEW,
        # Messages: what their customers were sent, or why not (their own book only, like everything else).
        "advisor.campaign": VIEW,
        "advisor.campaignvariant": VIEW,
        "advisor.message": VIEW,
    },
    RISK_OFFICER: {
        "customers.customer": VIEW,
        "customers.account": ("view", "change"),
        "customers.transaction": VIEW,
        "customers.holding": VIEW,
        "customers.profilesnapshot": VIEW,
        "customers.segment": VIEW,  # segments: sizes, what defines them, drift; re-run by the weekly task
        "customers.segmentationrun": VIEW,
        "products.product": VIEW,
        "bank.modelversion": ("view", "change"),
        "bank.job": VIEW,
        # Risk officers run monitoring and credit risk: rules, alerts, cases, interventions (maker and checker;
        # never both on one intervention), the credit policy.
        "risk.monitoringrule": EDIT,
        "risk.alert": ("view", "change"),
        "risk.case": EDIT,
        "risk.casenote": ("view", "add"),
        "risk.intervention": ("view", "add", "change", "approve"),
        "risk.interventionevent": VIEW,
        "risk.customernotice": VIEW,
        "risk.creditscore": VIEW,
        "risk.creditpolicy": ("view", "change"),
        "risk.driftreport": VIEW,
        "risk.customerriskgrade": VIEW,
        "advisor.application": ("view", "decide"),
        "advisor.applicationevent": VIEW,
    },
    COMPLIANCE_OFFICER: {
        "customers.customer": ("view", "unmask"),
        "customers.account": VIEW,
        "customers.transaction": VIEW,
        "customers.holding": VIEW,
        "customers.productinteraction": VIEW,
        "customers.profilesnapshot": VIEW,
        "customers.segment": VIEW,  # segments: sizes, what defines them, drift; re-run by the weekly task
        "customers.segmentationrun": VIEW,
        "customers.partner": VIEW,
        "customers.partnertoken": VIEW,
        "customers.partnerconsent": VIEW,
        "products.product": VIEW,
        "bank.modelversion": VIEW,
        "bank.job": VIEW,
        "bank.auditevent": VIEW,
        "advisor.recommendationset": VIEW,
        "advisor.recommendation": VIEW,
        "advisor.blockedcandidate": VIEW,
        "advisor.riskassessment": VIEW,
        "advisor.investmentadvice": VIEW,
        "advisor.goalplan": VIEW,
        "advisor.capitalmarketassumptions": VIEW,
        "advisor.assetclassassumption": VIEW,
        "advisor.portfolioalert": VIEW,
        "advisor.application": VIEW,
        "advisor.applicationevent": VIEW,
        # Every message sent or suppressed, with the reason: consent and frequency are compliance questions.
        "advisor.campaign": VIEW,
        "advisor.campaignvariant": VIEW,
        "advisor.message": VIEW,
        # Compliance sees everything risk decided and why, and changes none of it.
        "risk.monitoringrule": VIEW,
        "risk.alert": VIEW,
        "risk.case": VIEW,
        "risk.casenote": VIEW,
        "risk.intervention": VIEW,
        "risk.interventionevent": VIEW,
        "risk.customernotice": VIEW,
        "risk.creditscore": VIEW,
        "risk.creditpolicy": VIEW,
        "risk.driftreport": VIEW,
        "risk.customerriskgrade": VIEW,
        "chat.conversation": VIEW,
        "chat.handoff": VIEW,
        "chat.chataction": VIEW,
        "chat.knowledgearticle": VIEW,
    },
    SUPPORT_AGENT: {
        "customers.customer": VIEW,
        "customers.account": VIEW,
        "customers.transaction": VIEW,
        "products.product": VIEW,
        # The hand-off inbox: read the conversation, reply, resolve; and keep the FAQ the assistant cites.
        "chat.handoff": ("view", "change"),
        "chat.conversation": VIEW,
        "chat.chataction": VIEW,
        "chat.knowledgearticle": EDIT,
        "risk.customernotice": VIEW,  # to explain to a customer what they were told
        # To tell a customer where their application stands; deciding is for RMs and risk officers.
        "advisor.application": VIEW,
        "advisor.applicationevent": VIEW,
    },
    ADMINISTRATOR: {
        "customers.customer": (*ALL, "unmask"),
        "customers.account": ALL,
        "customers.transaction": VIEW,
        "customers.holding": ALL,
        "customers.productinteraction": VIEW,
        "customers.profilesnapshot": VIEW,
        "customers.segment": ("view", "change"),  # change: may start a re-segmentation from the admin
        "customers.segmentationrun": VIEW,
        "customers.partner": ALL,
        "customers.partnertoken": ALL,
        "customers.partnerconsent": ALL,
        "products.product": ALL,
        "bank.modelversion": ("view", "change"),
        "bank.job": VIEW,
        "advisor.recommendationset": VIEW,
        "advisor.recommendation": VIEW,
        "advisor.blockedcandidate": VIEW,
        "advisor.riskassessment": VIEW,
        "advisor.investmentadvice": VIEW,
        "advisor.goalplan": VIEW,
        "advisor.portfolioalert": ("view", "change"),
        # The investment office's capital-market assumptions: a new set is added with a later effective date.
        "advisor.capitalmarketassumptions": EDIT,
        "advisor.assetclassassumption": ALL,
        "advisor.application": VIEW,
        "advisor.applicationevent": VIEW,
        # Campaigns: staff define audience, texts, schedule and A/B split; messages are records.
        "advisor.campaign": EDIT,
        "advisor.campaignvariant": ALL,
        "advisor.message": VIEW,
        "risk.monitoringrule": EDIT,
        "risk.alert": VIEW,
        "risk.case": VIEW,
        "risk.casenote": VIEW,
        "risk.intervention": VIEW,
        "risk.interventionevent": VIEW,
        "risk.customernotice": VIEW,
        "risk.creditscore": VIEW,
        "risk.creditpolicy": ("view", "change"),
        "risk.driftreport": VIEW,
        "risk.customerriskgrade": VIEW,
        "chat.conversation": VIEW,
        "chat.handoff": ("view", "change"),
        "chat.chataction": VIEW,
        "chat.knowledgearticle": ALL,
        "bank.auditevent": VIEW,
        "auth.user": ALL,
        "auth.group": VIEW,
        "django_q.schedule": ALL,
        "django_q.success": VIEW,
        "django_q.failure": ("view", "delete"),
        "django_q.ormq": VIEW,
    },
}


def sync_staff_groups(group_model: Any, permission_model: Any) -> None:
    """Create the staff groups and set each one's permissions to exactly ROLE_PERMISSIONS (idempotent)."""
    for role in STAFF_GROUPS:
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for model_label, actions in ROLE_PERMISSIONS.get(role, {}).items():
            app_label, model = model_label.split(".")
            wanted.extend(
                permission_model.objects.filter(
                    content_type__app_label=app_label,
                    codename__in=[f"{action}_{model}" for action in actions],
                )
            )
        group.permissions.set(wanted)


def sync_after_migrate(**kwargs: Any) -> None:
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # post_migrate runs app by app; apps after `bank` would not have their permissions yet.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"))
    sync_staff_groups(Group, Permission)
