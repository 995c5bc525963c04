# Instrument and Quote move from `brokers` to `market` in Django's state only: the tables (brokers_instrument,
# brokers_quote), their indexes, constraints and rows stay as they are.

import django.db.models.deletion
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Keep admin permissions granted on the moved models: their content types follow them."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("instrument", "quote"):
        if not ContentType.objects.filter(app_label="market", model=model).exists():
            ContentType.objects.filter(app_label="brokers", model=model).update(app_label="market")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("instrument", "quote"):
        if not ContentType.objects.filter(app_label="brokers", model=model).exists():
            ContentType.objects.filter(app_label="market", model=model).update(app_label="brokers")


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0002_calendar_horizon'),
        ('brokers', '0004_quote_updated_at_no_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Instrument',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('exchange', models.CharField(max_length=8)),
                        ('tradingsymbol', models.CharField(max_length=48)),
                        ('kind', models.CharField(choices=[('INDEX', 'Index'), ('OPTION', 'Option')], max_length=8)),
                        ('underlying', models.CharField(db_index=True, max_length=24)),
                        ('expiry', models.DateField(blank=True, null=True)),
                        ('strike', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                        ('option_type', models.CharField(blank=True, choices=[('CE', 'Call'), ('PE', 'Put')], default='', max_length=2)),
                        ('lot_size', models.PositiveIntegerField(default=1)),
                        ('tick_size', models.DecimalField(decimal_places=2, default='0.05', max_digits=8)),
                        ('freeze_quantity', models.PositiveIntegerField(blank=True, null=True)),
                        ('strike_step', models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                        ('broker_tokens', models.JSONField(blank=True, default=dict)),
                        ('active', models.BooleanField(default=True)),
                    ],
                    options={
                        'db_table': 'brokers_instrument',
                        'ordering': ['underlying', 'expiry', 'strike', 'option_type'],
                    },
                ),
                migrations.CreateModel(
                    name='Quote',
                    fields=[
                        ('instrument', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='quote', serialize=False, to='market.instrument')),
                        ('ltp', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('bid', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                        ('ask', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                        ('oi', models.BigIntegerField(blank=True, null=True)),
                        ('iv', models.DecimalField(blank=True, decimal_places=4, max_digits=8, null=True)),
                        ('delta', models.DecimalField(blank=True, decimal_places=4, max_digits=8, null=True)),
                        ('updated_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'brokers_quote',
                    },
                ),
                migrations.AddIndex(
                    model_name='instrument',
                    index=models.Index(fields=['underlying', 'kind', 'expiry', 'option_type', 'strike'], name='brokers_ins_underly_367f63_idx'),
                ),
                migrations.AddConstraint(
                    model_name='instrument',
                    constraint=models.UniqueConstraint(fields=('exchange', 'tradingsymbol'), name='uniq_instrument_symbol'),
                ),
                migrations.AddConstraint(
                    model_name='instrument',
                    constraint=models.CheckConstraint(condition=models.Q(('lot_size__gte', 1)), name='instrument_lot_size_positive'),
                ),
                migrations.AddConstraint(
                    model_name='instrument',
                    constraint=models.CheckConstraint(condition=models.Q(('kind', 'INDEX'), models.Q(('expiry__isnull', False), ('strike__isnull', False), models.Q(('option_type', ''), _negated=True)), _connector='OR'), name='instrument_option_has_contract_fields'),
                ),
                migrations.AddConstraint(
                    model_name='quote',
                    constraint=models.CheckConstraint(condition=models.Q(('ltp__gte', 0)), name='quote_ltp_not_negative'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
