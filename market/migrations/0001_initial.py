# The calendar models move from `execution` to `market` in Django's state only: the tables
# (execution_holiday, execution_tradingsession), their constraints and their rows stay as they are.

from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Keep admin permissions granted on the calendar models: their content types follow the models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("holiday", "tradingsession"):
        if not ContentType.objects.filter(app_label="market", model=model).exists():
            ContentType.objects.filter(app_label="execution", model=model).update(app_label="market")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("holiday", "tradingsession"):
        if not ContentType.objects.filter(app_label="execution", model=model).exists():
            ContentType.objects.filter(app_label="market", model=model).update(app_label="execution")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("execution", "0006_order_strategy_account_day_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Holiday",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("exchange", models.CharField(choices=[("NSE", "Nse"), ("BSE", "Bse")], max_length=4)),
                        ("date", models.DateField()),
                        ("description", models.CharField(blank=True, default="", max_length=120)),
                    ],
                    options={
                        "db_table": "execution_holiday",
                        "ordering": ["date", "exchange"],
                        "constraints": [
                            models.UniqueConstraint(fields=("exchange", "date"), name="uniq_holiday_exchange_date")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="TradingSession",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("exchange", models.CharField(choices=[("NSE", "Nse"), ("BSE", "Bse")], max_length=4)),
                        ("date", models.DateField()),
                        ("open_time", models.TimeField()),
                        ("close_time", models.TimeField()),
                        ("note", models.CharField(blank=True, default="", max_length=120)),
                    ],
                    options={
                        "db_table": "execution_tradingsession",
                        "ordering": ["date", "exchange"],
                        "constraints": [
                            models.UniqueConstraint(fields=("exchange", "date"), name="uniq_session_exchange_date"),
                            models.CheckConstraint(
                                condition=models.Q(("open_time__lt", models.F("close_time"))),
                                name="session_open_before_close",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
