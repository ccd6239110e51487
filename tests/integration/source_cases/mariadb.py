"""MariaDB (MySQL protocol): unsigned integers, TIME ranges, SET/ENUM, and its error texts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from tests.integration.source_cases import DAY, SourceCase, TypedColumn, typed

T = typed
_UNSIGNED = "widened by the Parquet writer: no unsigned types in Parquet, Trino or Iceberg"

COLUMNS = (
    TypedColumn("id", "int PRIMARY KEY", ("1", "2", "3"), pa.int32(), (1, 2, 3), "INTEGER",
                "integer", in_table=False),
    T("c_tinyint", "tinyint", ("-128", "127"), pa.int8(), (-128, 127), "INTEGER", "integer"),
    T("c_tinyint_u", "tinyint unsigned", ("255", "0"), pa.int16(), (255, 0), "INTEGER",
      "integer", note=_UNSIGNED),
    T("c_smallint", "smallint", ("-32768", "32767"), pa.int16(), (-32768, 32767), "INTEGER",
      "integer"),
    T("c_smallint_u", "smallint unsigned", ("65535", "0"), pa.int32(), (65535, 0), "INTEGER",
      "integer"),
    T("c_mediumint", "mediumint", ("-8388608", "8388607"), pa.int32(), (-8388608, 8388607),
      "INTEGER", "integer"),
    T("c_mediumint_u", "mediumint unsigned", ("16777215", "0"), pa.int64(), (16777215, 0),
      "BIGINT", "bigint"),
    T("c_int", "int", ("-2147483648", "2147483647"), pa.int32(), (-2147483648, 2147483647),
      "INTEGER", "integer"),
    T("c_int_u", "int unsigned", ("4294967295", "0"), pa.int64(), (4294967295, 0), "BIGINT",
      "bigint"),
    T("c_bigint", "bigint", ("-9223372036854775808", "9223372036854775807"), pa.int64(),
      (-9223372036854775808, 9223372036854775807), "BIGINT", "bigint"),
    T("c_bigint_u", "bigint unsigned", ("18446744073709551615", "0"), pa.decimal128(20, 0),
      (Decimal("18446744073709551615"), Decimal(0)), "DECIMAL(20,0)", "decimal(20,0)"),
    T("c_decimal", "decimal(38, 10)",
      ("9999999999999999999999999999.9999999999", "-0.0000000001"), pa.decimal128(38, 10),
      (Decimal("9999999999999999999999999999.9999999999"), Decimal("-0.0000000001")),
      "DECIMAL(38,10)", "decimal(38,10)", shown="decimal(p,s), p <= 38"),
    T("c_decimal_18_4", "decimal(18, 4)", ("99999999999999.9999", "-99999999999999.9999"),
      pa.decimal128(18, 4), (Decimal("99999999999999.9999"), Decimal("-99999999999999.9999")),
      "DECIMAL(18,4)", "decimal(18,4)"),
    T("c_decimal_wide", "decimal(65, 5)",
      ("123456789012345678901234567890123.12345", "0"), pa.decimal128(38, 5),
      (Decimal("123456789012345678901234567890123.12345"), Decimal(0)), "DECIMAL(38,5)",
      "decimal(38,5)", shown="decimal(p,s), p > 38",
      note="decimal(38, min(s, 9)), read as text and converted exactly; a value needing more "
           "digits fails the extract"),
    T("c_decimal_max", "decimal(65, 30)", ("12345678.123456789", "-0.000000001"),
      pa.decimal128(38, 9), (Decimal("12345678.123456789"), Decimal("-0.000000001")),
      "DECIMAL(38,9)", "decimal(38,9)", shown="decimal(65,30)"),
    T("c_float", "float", ("1.5", "-1.5"), pa.float32(), (1.5, -1.5), "FLOAT", "real"),
    T("c_double", "double", ("1.7976931348623157e308", "2.2250738585072014e-308"), pa.float64(),
      (1.7976931348623157e308, 2.2250738585072014e-308), "DOUBLE", "double"),
    T("c_boolean", "boolean", ("true", "false"), pa.int8(), (1, 0), "INTEGER", "integer",
      shown="boolean (tinyint(1))", note="holds -128..127, so it stays a number"),
    T("c_bit1", "bit(1)", ("b'1'", "b'0'"), pa.bool_(), (True, False), "BOOLEAN", "boolean"),
    T("c_text", "text", ("'héllo ☃ 世界'", "''"), pa.string(), ("héllo ☃ 世界", ""), "VARCHAR",
      "varchar"),
    T("c_varchar", "varchar(10)", ("'abcdefghij'", "''"), pa.string(), ("abcdefghij", ""),
      "VARCHAR", "varchar"),
    T("c_char", "char(5)", ("'ab'", "''"), pa.string(), ("ab", ""), "VARCHAR", "varchar",
      note="without pad blanks: MySQL strips them itself when it reads CHAR"),
    T("c_date", "date", ("'9999-12-31'", "'1000-01-01'"), pa.date32(),
      (dt.date(9999, 12, 31), dt.date(1000, 1, 1)), "DATE", "date"),
    T("c_time", "time(6)", ("'838:59:59'", "'-838:59:59.999999'"), pa.string(),
      ("838:59:59.000000", "-838:59:59.999999"), "VARCHAR", "varchar",
      note="a -838..838 hour span, not a time of day: MySQL's text"),
    T("c_datetime", "datetime(6)", ("'9999-12-31 23:59:59.999999'", "'1000-01-01 00:00:00'"),
      pa.timestamp("us"), (dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                           dt.datetime(1000, 1, 1)), "TIMESTAMP", "timestamp(6)"),
    T("c_timestamp", "timestamp(6) NULL",
      ("'2038-01-19 03:14:07.999999'", "'1970-01-01 00:00:01'"), pa.timestamp("us", tz="UTC"),
      (dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=dt.UTC),
       dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)),
      "TIMESTAMP WITH TIME ZONE", "timestamp(6) with time zone", shown="timestamp(6)",
      note="instants: read in a +00:00 session"),
    T("c_json", "json", ("'{\"a\": [1, 2.5, null]}'", "'null'"), pa.string(),
      ('{"a": [1, 2.5, null]}', "null"), "JSON", "varchar", logical="json",
      note="MariaDB's JSON is LONGTEXT with a json_valid check, recognised by it"),
    T("c_blob", "blob", ("x'00ff10'", "x''"), pa.binary(), (b"\x00\xff\x10", b""), "BLOB",
      "varbinary"),
    T("c_varbinary", "varbinary(16)", ("x''", "x'00'"), pa.binary(), (b"", b"\x00"), "BLOB",
      "varbinary"),
    T("c_uuid", "uuid", ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
                         "'00000000-0000-0000-0000-000000000000'"), pa.string(),
      ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000"), "UUID",
      "uuid", logical="uuid", shown="uuid (MariaDB)"),
    T("c_enum", "enum('sad', 'ok', 'happy')", ("'happy'", "'sad'"), pa.string(),
      ("happy", "sad"), "VARCHAR", "varchar", shown="enum(...)", logical="enum",
      enum=("sad", "ok", "happy"), note="the labels are kept in the column's metadata"),
    T("c_set", "set('a', 'b')", ("'a,b'", "''"), pa.string(), ("a,b", ""), "VARCHAR",
      "varchar", shown="set(...)"),
    T("dt", "varchar(10)", ("'x'", "'y'"), pa.string(), ("x", "y"), "VARCHAR", "varchar",
      in_table=False),
    TypedColumn("loaded", "date NOT NULL", (f"'{DAY}'",) * 3, pa.date32(),
                (dt.date.fromisoformat(DAY),) * 3, "DATE", "date", in_table=False),
)

# TIMESTAMP literals are read in the session zone, so set it to UTC; DATETIME is naive.
EVENTS_DDL = (
    "SET time_zone = '+00:00'",
    "CREATE TABLE events (id int, at timestamp(6) NULL, local_at datetime(6))",
    """INSERT INTO events VALUES
      (1, '2026-03-01 14:59:59.999999', '2026-03-01 23:59:59.999999'),
      (2, '2026-03-01 15:00:00', '2026-03-02 00:00:00'),
      (3, '2026-03-02 14:59:59.999999', '2026-03-02 23:59:59.999999'),
      (4, '2026-03-02 15:00:00', '2026-03-03 00:00:00')""",
)

CASE = SourceCase(
    name="mariadb",
    db_fixture="mariadb_db",
    label="MariaDB / MySQL",
    backend="mysql",
    auth_error="Access denied for user 'etl'",
    naive_timestamp="datetime",
    prelude=("SET time_zone = '+00:00'",),  # TIMESTAMP literals below are UTC
    columns=COLUMNS,
    events_ddl=EVENTS_DDL,
    # Arithmetic on a DECIMAL column and a binary cast: result types the server computes,
    # which the DuckDB scanner and the driver each have to decode.
    custom_query=("SELECT id, unit_cost * 2 AS cost, produced_at, 'a:b%' AS tag, "
                  "CAST(line_code AS BINARY) AS raw FROM production_result "
                  "WHERE line_code LIKE 'L%'"),
    custom_cost_type=pa.decimal128(13, 4),
    unbounded_decimal="decimal(65, 30)",
    unfit_value="3.14159265358979323846",
)
