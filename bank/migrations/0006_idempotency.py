from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("bank", "0005_audit_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("caller", models.CharField(help_text="partner:<id> for a partner token, user:<id> for a login.",
                                            max_length=80)),
                ("method", models.CharField(max_length=10)),
                ("path", models.CharField(max_length=400)),
                ("key", models.CharField(max_length=200)),
                ("request_sha256", models.CharField(help_text="Hash of the canonical request body and query.",
                                                    max_length=64)),
                ("state", models.CharField(choices=[("in_flight", "In flight"), ("done", "Done")], default="in_flight",
                                           max_length=10)),
                ("claim", models.UUIDField()),
                ("claimed_at", models.DateTimeField()),
                ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("response_body", models.TextField(blank=True)),
                ("response_headers", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("completed_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("caller", "method", "path", "key"),
                                                        name="idempotency_unique_key")],
            },
        ),
    ]
