from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    """The customer-service assistant (issue 4)."""

    name = "chat"
    verbose_name = _("Chat")
