"""PostgreSQL: its types (ranges, arrays, enums, timetz, intervals) and its error texts."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pyarrow as pa

from tests.integration.source_cases import DAY, SourceCase, TypedColumn, typed


def f32(value: float) -> float:
    """The value as PostgreSQL's real stores it."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


INTERVAL = pa.struct([("months", pa.int32()), ("days", pa.int32()),
                      ("microseconds", pa.int64())])
INTERVAL_TYPES = ("STRUCT(months INTEGER, days INTEGER, microseconds BIGINT)",
                  "row(months integer, days integer, microseconds bigint)")
T = typed

COLUMNS = (
    TypedColumn("id", "integer PRIMARY KEY", ("1", "2", "3"), pa.int32(), (1, 2, 3), "INTEGER",
                "integer", in_table=False),
    T("c_smallint", "smallint", ("32767", "-32768"), pa.int16(), (32767, -32768), "INTEGER",
      "integer", note="widened to integer in every warehouse: Iceberg has no smallint"),
    T("c_integer", "integer", ("2147483647", "-2147483648"), pa.int32(),
      (2147483647, -2147483648), "INTEGER", "integer"),
    T("c_bigint", "bigint", ("9223372036854775807", "-9223372036854775808"), pa.int64(),
      (9223372036854775807, -9223372036854775808), "BIGINT", "bigint"),
    T("c_numeric", "numeric(38, 10)",
      ("999999999999999999999999999.9999999999", "-0.0000000001"), pa.decimal128(38, 10),
      (Decimal("999999999999999999999999999.9999999999"), Decimal("-0.0000000001")),
      "DECIMAL(38,10)", "decimal(38,10)", shown="numeric(p,s), p <= 38",
      note="exact; the widest decimal Parquet, DuckDB and Trino hold"),
    T("c_numeric_18_4", "numeric(18, 4)", ("99999999999999.9999", "-99999999999999.9999"),
      pa.decimal128(18, 4), (Decimal("99999999999999.9999"), Decimal("-99999999999999.9999")),
      "DECIMAL(18,4)", "decimal(18,4)"),
    T("c_numeric_free", "numeric", ("3.141592654", "-0.5"), pa.decimal128(38, 9),
      (Decimal("3.141592654"), Decimal("-0.5")), "DECIMAL(38,9)", "decimal(38,9)",
      shown="numeric (no precision)",
      note="read as text and converted exactly; a value needing more digits fails the extract "
           "(`column_types:` chooses another decimal or `string`)"),
    T("c_numeric_wide", "numeric(50, 5)",
      ("123456789012345678901234567890123.12345", "0"), pa.decimal128(38, 5),
      (Decimal("123456789012345678901234567890123.12345"), Decimal(0)), "DECIMAL(38,5)",
      "decimal(38,5)", shown="numeric(p,s), p > 38",
      note="decimal(38, min(s, 9)), checked like numeric"),
    T("c_real", "real", ("3.4028235e38", "'-Infinity'"), pa.float32(),
      (f32(3.4028235e38), float("-inf")), "FLOAT", "real"),
    T("c_double", "double precision", ("1.7976931348623157e308", "2.2250738585072014e-308"),
      pa.float64(), (1.7976931348623157e308, 2.2250738585072014e-308), "DOUBLE", "double"),
    T("c_boolean", "boolean", ("true", "false"), pa.bool_(), (True, False), "BOOLEAN",
      "boolean"),
    T("c_text", "text", ("'héllo ☃ 世界'", "''"), pa.string(), ("héllo ☃ 世界", ""), "VARCHAR",
      "varchar"),
    T("c_varchar", "varchar(10)", ("'abcdefghij'", "''"), pa.string(), ("abcdefghij", ""),
      "VARCHAR", "varchar"),
    T("c_char", "char(5)", ("'ab'", "''"), pa.string(), ("ab   ", "     "), "VARCHAR",
      "varchar", note="pad blanks kept, as PostgreSQL returns them"),
    T("c_date", "date", ("'9999-12-31'", "'0001-01-01'"), pa.date32(),
      (dt.date(9999, 12, 31), dt.date(1, 1, 1)), "DATE", "date"),
    T("c_time", "time", ("'23:59:59.999999'", "'00:00:00'"), pa.time64("us"),
      (dt.time(23, 59, 59, 999999), dt.time(0, 0)), "TIME", "time(6)",
      note="external mode: the Hive table reads microseconds, the view converts"),
    T("c_timetz", "timetz", ("'12:34:56+05:30'", "'00:00:00-12'"), pa.string(),
      ("12:34:56+05:30", "00:00:00-12"), "VARCHAR", "varchar",
      note="PostgreSQL's text: an offset has no Arrow time type"),
    T("c_timestamp", "timestamp", ("'9999-12-31 23:59:59.999999'", "'0001-01-01 00:00:00'"),
      pa.timestamp("us"), (dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1, 1, 1)),
      "TIMESTAMP", "timestamp(6)", note="wall-clock time, never shifted"),
    T("c_timestamptz", "timestamptz",
      ("'2026-03-01 09:00:00.123456+09'", "'1970-01-01 00:00:00+00'"),
      pa.timestamp("us", tz="UTC"),
      (dt.datetime(2026, 3, 1, 0, 0, 0, 123456, tzinfo=dt.UTC),
       dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
      "TIMESTAMP WITH TIME ZONE", "timestamp(6) with time zone",
      note="instants, stored in UTC; external mode: the view adds the zone"),
    T("c_interval", "interval", ("'1 year 2 mons 3 days 04:05:06.789'", "'-1 days -00:00:01'"),
      INTERVAL, ({"months": 14, "days": 3, "microseconds": 14706789000},
                 {"months": 0, "days": -1, "microseconds": -1000000}),
      *INTERVAL_TYPES, logical="interval",
      note="PostgreSQL's own fields; `ts + iv.months * INTERVAL '1' MONTH + iv.days * INTERVAL "
           "'1' DAY` runs on DuckDB and Trino alike"),
    T("c_json", "json", ("'{\"a\": [1, 2.5, null], \"b\": \"x\"}'", "'null'"), pa.string(),
      ('{"a": [1, 2.5, null], "b": "x"}', "null"), "JSON", "varchar", logical="json",
      note="the server's text; Trino: varchar, since Iceberg has no json type (json functions "
           "take varchar)"),
    T("c_jsonb", "jsonb", ("'{\"b\": \"x\", \"a\": [1, 2.5, null]}'", "'[]'"), pa.string(),
      ('{"a": [1, 2.5, null], "b": "x"}', "[]"), "JSON", "varchar", logical="json"),
    T("c_bytea", "bytea", ("'\\x00ff10'", "'\\x'"), pa.binary(), (b"\x00\xff\x10", b""),
      "BLOB", "varbinary"),
    T("c_uuid", "uuid", ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
                         "'00000000-0000-0000-0000-000000000000'"), pa.string(),
      ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000"), "UUID",
      "uuid", logical="uuid"),
    T("c_enum", "mood", ("'happy'", "'sad'"), pa.string(), ("happy", "sad"), "VARCHAR",
      "varchar", shown="enum (mood)", logical="enum", enum=("sad", "ok", "happy"),
      note="the labels are kept in the column's metadata"),
    T("c_int_array", "integer[]", ("'{1,NULL,3}'", "'{}'"), pa.list_(pa.int32()),
      ([1, None, 3], []), "INTEGER[]", "array(integer)"),
    T("c_text_array", "text[]", ("'{\"a b\",\"c,d\"}'", "'{}'"), pa.list_(pa.string()),
      (["a b", "c,d"], []), "VARCHAR[]", "array(varchar)"),
    T("dt", "varchar(10)", ("'x'", "'y'"), pa.string(), ("x", "y"), "VARCHAR", "varchar",
      in_table=False),
    TypedColumn("loaded", "date NOT NULL", (f"'{DAY}'",) * 3, pa.date32(),
                (dt.date.fromisoformat(DAY),) * 3, "DATE", "date", in_table=False),
)

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
    label="PostgreSQL",
    db_fixture="postgres_db",
    backend="postgresql",
    auth_error="password authentication failed",
    naive_timestamp="timestamp",
    prelude=("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",),
    columns=COLUMNS,
    events_ddl=EVENTS_DDL,
    # A ::cast in the query text must not be taken for a bind parameter; unconstrained
    # numeric gets the same decimal(38, 9) as a column of that type.
    custom_query=("SELECT id, unit_cost::numeric AS cost, produced_at, 'a:b%' AS tag "
                  "FROM production_result WHERE line_code LIKE 'L%'"),
    custom_cost_type=pa.decimal128(38, 9),
    unbounded_decimal="numeric",
    unfit_value="3.14159265358979323846264338327950288",
)
