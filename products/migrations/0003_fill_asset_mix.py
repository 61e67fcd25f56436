"""Give every existing investment product the asset mix the catalogue rules assign (staff can edit it)."""

from django.db import migrations


def fill(apps, schema_editor):
    from products.asset_mix import default_asset_mix

    Product = apps.get_model("products", "Product")
    for product in Product.objects.filter(asset_mix={}):
        mix = default_asset_mix(type=product.type, code=product.code, tags=product.tags)
        if mix:
            product.asset_mix = mix
            product.save(update_fields=["asset_mix"])


class Migration(migrations.Migration):
    dependencies = [("products", "0002_product_asset_mix")]
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
