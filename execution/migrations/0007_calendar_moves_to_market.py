# Holiday and TradingSession now belong to the `market` app (market/0001_initial takes them over in state);
# the tables and their rows are not touched.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("execution", "0006_order_strategy_account_day_index"),
        ("market", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Holiday"),
                migrations.DeleteModel(name="TradingSession"),
            ],
            database_operations=[],
        ),
    ]
