"""`harness localaws` as a user runs it: ready line, both URL forms, clean stop, busy port."""

import signal
import socket

import requests


def test_prints_ready_serves_both_forms_and_stops_on_sigterm(harness_cli):
    server = harness_cli.start_harness("localaws", "--port", "0")
    try:
        line = server.wait_for_output("ready ", timeout=60).strip()
        assert line.startswith("ready http://127.0.0.1:")
        endpoint = line.split()[1]
        port = endpoint.rsplit(":", 1)[1]
        path_form = requests.put(f"{endpoint}/restapis/nope/dev/_user_request_/b/k", data=b"x", timeout=5)
        host_form = requests.put(f"{endpoint}/dev/b/k", data=b"x", timeout=5,
                                 headers={"Host": f"nope.execute-api.localhost:{port}"})
        for response in (path_form, host_form):  # answered by the data plane, as API Gateway would
            assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})
        assert requests.get(f"{endpoint}/moto-api/", timeout=5).status_code == 200
    finally:
        server.signal_group(signal.SIGTERM)
        output = server.finish(timeout=15)
    assert server.returncode == 0 and "stopped" in output


def test_busy_port_is_one_clear_error(harness_cli):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = harness_cli.harness("localaws", "--port", str(busy.getsockname()[1]), timeout=30)
    assert result.returncode == 2
    assert "already in use" in result.stderr and "Traceback" not in result.stderr
