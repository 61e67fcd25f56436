from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("bank", "0006_idempotency"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateLimitWindow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(help_text="Who is counted and for what, e.g. token:12:read.", max_length=120)),
                ("window_start", models.DateTimeField()),
                ("count", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["window_start"], name="rate_limit_window_start")],
                "constraints": [
                    models.UniqueConstraint(fields=("key", "window_start"), name="rate_limit_window_unique")
                ],
            },
        ),
    ]
