"""The catalogue's version (products.CatalogueVersion) and the triggers that raise it (products.catalogue_triggers)."""

from django.db import migrations, models

from products import catalogue_triggers


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0004_product_updated_at_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='CatalogueVersion',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('version', models.BigIntegerField(default=1)),
                ('changed_at', models.DateTimeField()),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='catalogue_version_single_row')],
            },
        ),
        migrations.RunPython(catalogue_triggers.install, catalogue_triggers.uninstall),
    ]
