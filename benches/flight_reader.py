"""Reads one large result and prints JSON {bytes, rows, seconds}: over Flight SQL from loopql
(`flight URI USER PASSWORD SQL [SETUP]`, SETUP run first, untimed) or as a raw Arrow IPC stream from a TCP socket (`ipc HOST PORT`)."""

import json
import os
import socket
import sys
import time

import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from flightsql_command import statement_query  # noqa: E402


def main():
    if sys.argv[1] == "flight":
        uri, user, password, sql = sys.argv[2:6]
        client = flight.FlightClient(uri)
        options = flight.FlightCallOptions(headers=[client.authenticate_basic_token(user.encode(), password.encode())])
        if len(sys.argv) > 6:  # a setup statement, untimed
            setup = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query(sys.argv[6])), options)
            client.do_get(setup.endpoints[0].ticket, options).read_all()
        start = time.perf_counter()
        info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query(sql)), options)
        table = client.do_get(info.endpoints[0].ticket, options).read_all()
    else:
        host, port = sys.argv[2], int(sys.argv[3])
        start = time.perf_counter()
        with socket.create_connection((host, port)) as s, s.makefile("rb") as f:
            table = pa.ipc.open_stream(f).read_all()
    seconds = time.perf_counter() - start
    print(json.dumps({"bytes": table.nbytes, "rows": table.num_rows, "seconds": seconds}))


if __name__ == "__main__":
    main()
