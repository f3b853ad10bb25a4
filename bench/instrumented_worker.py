"""`manage.py runworkers` with every SQL statement logged, to count an idle worker's queries.

Bench-only: an execute wrapper on every connection appends one line per statement
("<unix time> <pid> <first words>") to $BENCH_QUERY_LOG. The queue code is not changed.
"""

import os
import sys
import time

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402

LOG = os.environ["BENCH_QUERY_LOG"]


def counting(execute, sql, params, many, context):
    with open(LOG, "a") as log:
        log.write(f"{time.time():.4f} {os.getpid()} {' '.join(sql.split()[:3])}\n")
    return execute(sql, params, many, context)


def instrument(sender, connection, **kwargs):
    if counting not in connection.execute_wrappers:
        connection.execute_wrappers.append(counting)


connection_created.connect(instrument)

if __name__ == "__main__":
    call_command("runworkers", *sys.argv[1:])
