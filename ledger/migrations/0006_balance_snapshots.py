"""Point-in-time balances whose cost does not grow with the account.

A read "as of A, as known at T" summed every posting of the account effective by A and recorded by T: 300 ms
for an account with 1.1 million postings (a token's supply account gets one per mint). Now the read walks
the account's postings by log position from the nearest snapshot (ledger/balances.py has the arithmetic):
- postings are indexed by (account, asset, event_position) instead of effective time, and events by
  (recorded_at, position), so "the last position recorded by T" is one backward index probe;
- two partial indexes of the same shape hold the rare legs that break "recorded shortly after it took
  effect": recorded an hour or more after their effective time (backdated corrections, a day's dividend
  booked later), and effective after they were recorded (a broker clock ahead of ours);
- ledger_balance_snapshot keeps an account's balance at a log position (ledger/snapshots.py takes them).
"""
from django.db import migrations, models

# The one-hour window must equal ledger.balances.LATE_AFTER; tests/ledger/test_point_in_time_scale.py checks it.
FORWARD = r"""
CREATE INDEX ledger_posting_late ON ledger_posting (account, asset, event_position)
    WHERE recorded_at - effective_at >= interval '1 hour';
CREATE INDEX ledger_posting_early ON ledger_posting (account, asset, event_position)
    WHERE effective_at > recorded_at;
"""
REVERSE = r"""
DROP INDEX ledger_posting_early;
DROP INDEX ledger_posting_late;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0005_stream_version_probe'),
    ]

    operations = [
        migrations.CreateModel(
            name='BalanceSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('account', models.CharField(max_length=200)),
                ('asset', models.CharField(max_length=64)),
                ('position', models.BigIntegerField()),
                ('balance', models.DecimalField(decimal_places=18, max_digits=38)),
            ],
            options={
                'db_table': 'ledger_balance_snapshot',
            },
        ),
        migrations.RemoveIndex(
            model_name='posting',
            name='ledger_posting_acct_eff',
        ),
        migrations.AddIndex(
            model_name='posting',
            index=models.Index(fields=['account', 'asset', 'event'], name='ledger_posting_acct_pos'),
        ),
        migrations.AddConstraint(
            model_name='balancesnapshot',
            constraint=models.UniqueConstraint(fields=('account', 'asset', 'position'), name='ledger_snapshot_key'),
        ),
        migrations.RemoveIndex(
            model_name='event',
            name='ledger_event_recorded_at',
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['recorded_at', 'position'], name='ledger_event_recorded_pos'),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
