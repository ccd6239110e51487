"""The DuckDB warehouse's default memory limits, one per kind of write (``warehouse.memory_limit``
overrides both).

On the 2,000-day bench history (5M rows, ad hoc, one run each) the range load took 2.17-2.19 s
under 64 MB, 96 MB and 128 MB alike, and the run's peak RSS was 456, 493 and 532 MiB (128 MB had
loaded as fast as DuckDB's default limit, 80% of RAM): a load writes the rows past its limit to
the file as they come. A merge with a key read compares every key of the table with the
source's, held in memory: at 5M keys it ran out under 96 MB and not under 128 MB. (A key of one
integer column is now compared as bitmaps of 64 keys, :func:`etl.warehouse.duckdb_merge._gone`:
10M keys merge under 128 MB.)

Not lower, nor retried when it runs out: under 32 MB the TPC-H bench's PostgreSQL-instance run
peaked some 30 MiB lower, but replacing the 5M rows of a master table ran out of it, and
DuckDB then ran out again rolling the transaction back, a FATAL error that ends the process
(``Failed to rollback transaction. Cannot continue operation``). A write that runs out of its
limit is not a state to carry on from in the same process.
"""

LOAD_MEMORY_LIMIT = "64MB"
MERGE_MEMORY_LIMIT = "128MB"
