from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BankConfig(AppConfig):
    name = "bank"
    verbose_name = "Platform"

    def ready(self) -> None:
        from bank import roles

        # Permissions of models added by later migrations exist only after migrate has run, so the staff
        # groups are brought up to date after every migrate (idempotent). No models are loaded here.
        post_migrate.connect(roles.sync_after_migrate, sender=self, dispatch_uid="bank.sync_staff_groups")
        # A login locked out by django-axes is written to the audit log.
        from axes.signals import user_locked_out

        from bank.security import record_lockout

        user_locked_out.connect(record_lockout, dispatch_uid="bank.audit_login_lockout")
