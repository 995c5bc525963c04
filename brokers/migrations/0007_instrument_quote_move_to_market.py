# Instrument and Quote now belong to `market` (market/0003_instrument_quote): state only, tables untouched.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('brokers', '0006_paper_illiquid_fault'),
        ('execution', '0012_instrument_moves_to_market'),
        ('market', '0003_instrument_quote'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='paperorder',
                    name='instrument',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='paper_orders', to='market.instrument'),
                ),
                migrations.RemoveField(
                    model_name='quote',
                    name='instrument',
                ),
                migrations.DeleteModel(
                    name='Instrument',
                ),
                migrations.DeleteModel(
                    name='Quote',
                ),
            ],
            database_operations=[],
        ),
    ]
