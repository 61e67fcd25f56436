from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdvisorConfig(AppConfig):
    """Recommendations, suitability and investment advice (issues 3 and 6)."""

    name = "advisor"
    verbose_name = _("Advisor")
