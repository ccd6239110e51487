"""PostgreSQL: its types (ranges, arrays, enums, timetz, intervals) and its error texts."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pyarrow as pa

from tests.integration.source_cases import ExpectedColumns, SourceCase


def f32(value: float) -> float:
    """The value as PostgreSQL's real stores it."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


EVERY_TYPE_DDL = (
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
    """CREATE TABLE every_type (
        id integer PRIMARY KEY,
        c_smallint smallint, c_integer integer, c_bigint bigint,
        c_numeric numeric(38, 10), c_numeric_18_4 numeric(18, 4), c_numeric_free numeric,
        c_numeric_wide numeric(50, 5), c_real real, c_double double precision, c_boolean boolean,
        c_text text, c_varchar varchar(10), c_char char(5),
        c_date date, c_time time, c_timetz timetz, c_timestamp timestamp,
        c_timestamptz timestamptz, c_interval interval, c_json json, c_jsonb jsonb,
        c_bytea bytea, c_uuid uuid, c_enum mood, c_int_array integer[], c_text_array text[]
    )""",
    """INSERT INTO every_type VALUES
    (1, 32767, 2147483647, 9223372036854775807,
     999999999999999999999999999.9999999999, 99999999999999.9999, 3.14159265358979323846,
     12345678901234567890123456789012345678901234.12345, 3.4028235e38, 1.7976931348623157e308,
     true, 'héllo ☃ 世界', 'abcdefghij', 'ab', '9999-12-31', '23:59:59.999999',
     '12:34:56+05:30', '9999-12-31 23:59:59.999999', '2026-03-01 09:00:00.123456+09',
     '1 year 2 mons 3 days 04:05:06.789', '{"a": [1, 2.5, null], "b": "x"}',
     '{"b": "x", "a": [1, 2.5, null]}', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     'happy', '{1,NULL,3}', '{"a b","c,d"}'),
    (2, -32768, -2147483648, -9223372036854775808,
     -0.0000000001, -99999999999999.9999, -0.5, 0, '-Infinity', 2.2250738585072014e-308,
     false, '', '', '', '0001-01-01', '00:00:00', '00:00:00-12', '0001-01-01 00:00:00',
     '1970-01-01 00:00:00+00', '-1 days -00:00:01', 'null', '[]', '\\x',
     '00000000-0000-0000-0000-000000000000', 'sad', '{}', '{}'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)""",
)

# Unconstrained numeric is decimal(38, 9); wider than 38 digits, timetz and interval stay text.
EVERY_TYPE: ExpectedColumns = {
    "id": (pa.int32(), [1, 2, 3]),
    "c_smallint": (pa.int16(), [32767, -32768, None]),
    "c_integer": (pa.int32(), [2147483647, -2147483648, None]),
    "c_bigint": (pa.int64(), [9223372036854775807, -9223372036854775808, None]),
    "c_numeric": (pa.decimal128(38, 10), [Decimal("999999999999999999999999999.9999999999"),
                                          Decimal("-0.0000000001"), None]),
    "c_numeric_18_4": (pa.decimal128(18, 4), [Decimal("99999999999999.9999"),
                                              Decimal("-99999999999999.9999"), None]),
    "c_numeric_free": (pa.decimal128(38, 9), [Decimal("3.141592654"), Decimal("-0.500000000"),
                                              None]),
    "c_numeric_wide": (pa.string(), ["12345678901234567890123456789012345678901234.12345",
                                     "0.00000", None]),
    "c_real": (pa.float32(), [f32(3.4028235e38), float("-inf"), None]),
    "c_double": (pa.float64(), [1.7976931348623157e308, 2.2250738585072014e-308, None]),
    "c_boolean": (pa.bool_(), [True, False, None]),
    "c_text": (pa.string(), ["héllo ☃ 世界", "", None]),
    "c_varchar": (pa.string(), ["abcdefghij", "", None]),
    "c_char": (pa.string(), ["ab", "", None]),
    "c_date": (pa.date32(), [dt.date(9999, 12, 31), dt.date(1, 1, 1), None]),
    "c_time": (pa.time64("us"), [dt.time(23, 59, 59, 999999), dt.time(0, 0), None]),
    "c_timetz": (pa.string(), ["12:34:56+05:30", "00:00:00-12", None]),
    "c_timestamp": (pa.timestamp("us"), [dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                                         dt.datetime(1, 1, 1), None]),
    "c_timestamptz": (pa.timestamp("us", tz="UTC"), [
        dt.datetime(2026, 3, 1, 0, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC), None]),
    "c_interval": (pa.string(), ["1 year 2 mons 3 days 04:05:06.789", "-1 days -00:00:01",
                                 None]),
    "c_json": (pa.string(), ['{"a": [1, 2.5, null], "b": "x"}', "null", None]),
    "c_jsonb": (pa.string(), ['{"a": [1, 2.5, null], "b": "x"}', "[]", None]),
    "c_bytea": (pa.binary(), [b"\x00\xff\x10", b"", None]),
    "c_uuid": (pa.string(), ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                             "00000000-0000-0000-0000-000000000000", None]),
    "c_enum": (pa.string(), ["happy", "sad", None]),
    "c_int_array": (pa.list_(pa.int32()), [[1, None, 3], [], None]),
    "c_text_array": (pa.list_(pa.string()), [["a b", "c,d"], [], None]),
}

# timestamptz literals carry their offset; the +00 ones are the Seoul day's UTC edges.
EVENTS_DDL = (
    "CREATE TABLE events (id int, at timestamptz, local_at timestamp)",
    """INSERT INTO events VALUES
      (1, '2026-03-01 14:59:59.999999+00', '2026-03-01 23:59:59.999999'),
      (2, '2026-03-01 15:00:00+00', '2026-03-02 00:00:00'),
      (3, '2026-03-02 14:59:59.999999+00', '2026-03-02 23:59:59.999999'),
      (4, '2026-03-02 15:00:00+00', '2026-03-03 00:00:00')""",
)

CASE = SourceCase(
    name="postgres",
    db_fixture="postgres_db",
    backend="postgresql",
    auth_error="password authentication failed",
    naive_timestamp="timestamp",
    every_type_ddl=EVERY_TYPE_DDL,
    every_type=EVERY_TYPE,
    events_ddl=EVENTS_DDL,
    # A ::cast in the query text must not be taken for a bind parameter; unconstrained
    # numeric gets the same decimal(38, 9) as a column of that type.
    custom_query=("SELECT id, unit_cost::numeric AS cost, produced_at, 'a:b%' AS tag "
                  "FROM production_result WHERE line_code LIKE 'L%'"),
    custom_cost_type=pa.decimal128(38, 9),
)
