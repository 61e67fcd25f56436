"""Drop four single-column foreign-key indexes that a composite index already covers (it starts with the same
column), so every recommendation written updates fewer indexes.

Only the indexes go: Django's own AlterField would also drop and re-add each foreign-key constraint, which
re-validates it over the whole table under a lock. DROP INDEX CONCURRENTLY takes no lock that blocks writers,
hence a non-atomic migration.
"""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = [
    "advisor_blockedcandidate_customer_id_96e2f0d9",
    "advisor_recommendation_customer_id_a47866fb",
    "advisor_recommendation_recommendation_set_id_9934ba57",
    "advisor_recommendationset_customer_id_68f8ce9d",
]
RESTORE = {
    "advisor_blockedcandidate_customer_id_96e2f0d9": ("advisor_blockedcandidate", "customer_id"),
    "advisor_recommendation_customer_id_a47866fb": ("advisor_recommendation", "customer_id"),
    "advisor_recommendation_recommendation_set_id_9934ba57": ("advisor_recommendation", "recommendation_set_id"),
    "advisor_recommendationset_customer_id_68f8ce9d": ("advisor_recommendationset", "customer_id"),
}


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("advisor", "0007_batch_recommendations"),
        ("customers", "0010_encrypt_account_numbers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="blockedcandidate",
                    name="customer",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="customers.customer"),
                ),
                migrations.AlterField(
                    model_name="recommendation",
                    name="customer",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="customers.customer"),
                ),
                migrations.AlterField(
                    model_name="recommendation",
                    name="recommendation_set",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="items", to="advisor.recommendationset"),
                ),
                migrations.AlterField(
                    model_name="recommendationset",
                    name="customer",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="recommendation_sets", to="customers.customer"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{RESTORE[name][0]}" '
                                f'("{RESTORE[name][1]}")',
                )
                for name in DROPPED
            ],
        ),
    ]
