"""MariaDB (MySQL protocol): unsigned integers, TIME ranges, SET/ENUM, and its error texts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from tests.integration.source_cases import ExpectedColumns, SourceCase

EVERY_TYPE_DDL = (
    "SET time_zone = '+00:00'",  # TIMESTAMP literals below are UTC
    """CREATE TABLE every_type (
        id int PRIMARY KEY,
        c_tinyint tinyint, c_tinyint_u tinyint unsigned, c_smallint smallint,
        c_smallint_u smallint unsigned, c_mediumint mediumint, c_mediumint_u mediumint unsigned,
        c_int int, c_int_u int unsigned, c_bigint bigint, c_bigint_u bigint unsigned,
        c_decimal decimal(38, 10), c_decimal_18_4 decimal(18, 4), c_decimal_wide decimal(65, 5),
        c_float float, c_double double, c_boolean boolean, c_bit1 bit(1),
        c_text text, c_varchar varchar(10), c_char char(5),
        c_date date, c_time time(6), c_datetime datetime(6), c_timestamp timestamp(6) NULL,
        c_json json, c_blob blob, c_varbinary varbinary(16), c_uuid uuid,
        c_enum enum('sad', 'ok', 'happy'), c_set set('a', 'b')
    )""",
    """INSERT INTO every_type VALUES
    (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
     -9223372036854775808, 18446744073709551615,
     9999999999999999999999999999.9999999999, 99999999999999.9999,
     123456789012345678901234567890123456789012345678901234567890.12345,
     1.5, 1.7976931348623157e308, true, b'1', 'héllo ☃ 世界', 'abcdefghij', 'ab',
     '9999-12-31', '838:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999',
     '{"a": [1, 2.5, null]}', x'00ff10', x'', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     'happy', 'a,b'),
    (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
     -0.0000000001, -99999999999999.9999, 0, -1.5, 2.2250738585072014e-308, false, b'0',
     '', '', '', '1000-01-01', '-838:59:59.999999', '1000-01-01 00:00:00',
     '1970-01-01 00:00:01', 'null', x'', x'00', '00000000-0000-0000-0000-000000000000',
     'sad', ''),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL)""",
)

# Unsigned integers are widened by the Parquet writer; BOOLEAN is TINYINT(1) in MySQL and
# stays int8; TIME can exceed a day, so it stays text.
EVERY_TYPE: ExpectedColumns = {
    "id": (pa.int32(), [1, 2, 3]),
    "c_tinyint": (pa.int8(), [-128, 127, None]),
    "c_tinyint_u": (pa.int16(), [255, 0, None]),
    "c_smallint": (pa.int16(), [-32768, 32767, None]),
    "c_smallint_u": (pa.int32(), [65535, 0, None]),
    "c_mediumint": (pa.int32(), [-8388608, 8388607, None]),
    "c_mediumint_u": (pa.int64(), [16777215, 0, None]),
    "c_int": (pa.int32(), [-2147483648, 2147483647, None]),
    "c_int_u": (pa.int64(), [4294967295, 0, None]),
    "c_bigint": (pa.int64(), [-9223372036854775808, 9223372036854775807, None]),
    "c_bigint_u": (pa.decimal128(20, 0), [Decimal("18446744073709551615"), Decimal(0), None]),
    "c_decimal": (pa.decimal128(38, 10), [Decimal("9999999999999999999999999999.9999999999"),
                                          Decimal("-0.0000000001"), None]),
    "c_decimal_18_4": (pa.decimal128(18, 4), [Decimal("99999999999999.9999"),
                                              Decimal("-99999999999999.9999"), None]),
    "c_decimal_wide": (pa.string(), [
        "123456789012345678901234567890123456789012345678901234567890.12345", "0.00000", None]),
    "c_float": (pa.float32(), [1.5, -1.5, None]),
    "c_double": (pa.float64(), [1.7976931348623157e308, 2.2250738585072014e-308, None]),
    "c_boolean": (pa.int8(), [1, 0, None]),
    "c_bit1": (pa.bool_(), [True, False, None]),
    "c_text": (pa.string(), ["héllo ☃ 世界", "", None]),
    "c_varchar": (pa.string(), ["abcdefghij", "", None]),
    "c_char": (pa.string(), ["ab", "", None]),
    "c_date": (pa.date32(), [dt.date(9999, 12, 31), dt.date(1000, 1, 1), None]),
    "c_time": (pa.string(), ["838:59:59.000000", "-838:59:59.999999", None]),
    "c_datetime": (pa.timestamp("us"), [dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
                                        dt.datetime(1000, 1, 1), None]),
    "c_timestamp": (pa.timestamp("us", tz="UTC"), [
        dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=dt.UTC),
        dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC), None]),
    "c_json": (pa.string(), ['{"a": [1, 2.5, null]}', "null", None]),
    "c_blob": (pa.binary(), [b"\x00\xff\x10", b"", None]),
    "c_varbinary": (pa.binary(), [b"", b"\x00", None]),
    "c_uuid": (pa.string(), ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                             "00000000-0000-0000-0000-000000000000", None]),
    "c_enum": (pa.string(), ["happy", "sad", None]),
    "c_set": (pa.string(), ["a,b", "", None]),
}

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
    backend="mysql",
    auth_error="Access denied for user 'etl'",
    naive_timestamp="datetime",
    every_type_ddl=EVERY_TYPE_DDL,
    every_type=EVERY_TYPE,
    events_ddl=EVENTS_DDL,
    # Arithmetic on a DECIMAL column and a binary cast: result types the server computes,
    # which the DuckDB scanner and the driver each have to decode.
    custom_query=("SELECT id, unit_cost * 2 AS cost, produced_at, 'a:b%' AS tag, "
                  "CAST(line_code AS BINARY) AS raw FROM production_result "
                  "WHERE line_code LIKE 'L%'"),
    custom_cost_type=pa.decimal128(13, 4),
)
