from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    """Credit scoring, transaction monitoring and interventions (issue 5)."""

    name = "risk"
    verbose_name = _("Risk")
