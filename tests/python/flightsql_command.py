"""Flight SQL commands for plain Flight clients (pyarrow speaks Flight, not Flight SQL): a
CommandStatementQuery wrapped in google.protobuf.Any, encoded by hand."""

import struct


def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += struct.pack("B", b | 0x80)
        else:
            return out + struct.pack("B", b)


def _field(num, payload):
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


def statement_query(sql):
    url = b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"
    return _field(1, url) + _field(2, _field(1, sql.encode()))
