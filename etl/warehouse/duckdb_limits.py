"""The DuckDB warehouse's default memory limits, one per kind of write (``warehouse.memory_limit``
overrides both).

On the 2,000-day bench history (5M rows, ad hoc, one run each) the range load took 2.17-2.19 s
under 64 MB, 96 MB and 128 MB alike, and the run's peak RSS was 456, 493 and 532 MiB (128 MB had
loaded as fast as DuckDB's default limit, 80% of RAM): a load writes the rows past its limit to
the file as they come. A merge with a key read compares every key of the table with the
source's, held in memory: at 5M keys it ran out under 96 MB and not under 128 MB.
"""

LOAD_MEMORY_LIMIT = "64MB"
MERGE_MEMORY_LIMIT = "128MB"
