from django.db import migrations


def create_defaults(apps, schema_editor):
    from risk.monitoring.rules import DEFAULT_RULES, validate_params

    rule = apps.get_model("risk", "MonitoringRule")
    for spec in DEFAULT_RULES:
        rule.objects.get_or_create(
            code=spec["code"],
            defaults={
                "name": spec["name"], "kind": spec["kind"], "severity": spec["severity"], "action": spec["action"],
                "params": validate_params(spec["kind"], spec["params"]),
            },
        )
    apps.get_model("risk", "CreditPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
