"""The DuckDB warehouse's default memory limits, one per kind of write (``warehouse.memory_limit``
overrides both).

On the 2,000-day bench history (5M rows, ad hoc, one run each) the range load took 2.17-2.19 s
under 64 MB, 96 MB and 128 MB alike, and the run's peak RSS was 456, 493 and 532 MiB (128 MB had
loaded as fast as DuckDB's default limit, 80% of RAM): a load writes the rows past its limit to
the file as they come. A merge with a key read compares every key of the table with the
source's, held in memory: at 5M keys it ran out under 96 MB and not under 128 MB. (A key of one
integer column is now compared as bitmaps of 64 keys, :func:`etl.warehouse.duckdb_merge._gone`:
10M keys merge under 128 MB.)

A load starts under 32 MB. On the TPC-H bench history (lineitem, 6M rows in 2,527 day files)
the load took 5.97 s under 32 MB and 5.72 s under 64 MB (medians of 3, ad hoc), and the
PostgreSQL-instance run peaked at 479 and 483 MiB against 505 and 520 (two runs each,
interleaved, by hand). What 32 MB cannot hold is a wide row group: 25,000 rows of 6 KB of
text ran out under 32 MB and loaded under 64 MB. Such a load is retried once, from the start,
under :data:`LOAD_RETRY_MEMORY_LIMIT`, rather than every load paying for the widest table.
A configured ``warehouse.memory_limit`` is used as it is, with no retry.
"""

LOAD_MEMORY_LIMIT = "32MB"
LOAD_RETRY_MEMORY_LIMIT = "256MB"
MERGE_MEMORY_LIMIT = "128MB"
