# Orders, fills and positions now point at market.Instrument (the same table, brokers_instrument): state only.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('execution', '0011_order_unwind_execution_lifecycle'),
        ('market', '0003_instrument_quote'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='fill',
                    name='instrument',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='fills', to='market.instrument'),
                ),
                migrations.AlterField(
                    model_name='order',
                    name='instrument',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='market.instrument'),
                ),
                migrations.AlterField(
                    model_name='position',
                    name='instrument',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='positions', to='market.instrument'),
                ),
            ],
            database_operations=[],
        ),
    ]
