from django.db import migrations, models
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        # Every app's embeddings live in this one database: the extension is enabled before any vector column.
        VectorExtension(),
        migrations.CreateModel(
            name="ModelVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="What the model does, e.g. 'embedding.text'.", max_length=100)),
                ("version", models.PositiveIntegerField()),
                ("status", models.CharField(choices=[("training", "Training"), ("ready", "Ready"), ("active", "Active"), ("retired", "Retired"), ("failed", "Failed")], db_index=True, default="training", max_length=10)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("activated_at", models.DateTimeField(blank=True, null=True)),
                ("retired_at", models.DateTimeField(blank=True, null=True)),
                ("artifact_path", models.CharField(blank=True, max_length=500)),
                ("sha256", models.CharField(blank=True, max_length=64)),
                ("metrics", models.JSONField(blank=True, default=dict)),
                ("params", models.JSONField(blank=True, default=dict)),
                ("training_data", models.JSONField(blank=True, default=dict, help_text="What the model was trained on: source, rows, time range, hash.")),
                ("device", models.CharField(blank=True, max_length=40)),
                ("notes", models.TextField(blank=True)),
            ],
            options={"ordering": ["name", "-version"]},
        ),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.UniqueConstraint(fields=("name", "version"), name="modelversion_unique_name_version"),
        ),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.UniqueConstraint(condition=models.Q(("status", "active")), fields=("name",), name="modelversion_one_active_per_name"),
        ),
    ]
