"""The explorer's JSON API: status codes, schema, bounds, bad input, concurrency, no tracebacks."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():  # starlette >= 1.0 suggests httpx2 for its TestClient; httpx works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import kaiming
from _sigint import child_process
from kaiming.explorer import cli, server
from kaiming.explorer._params import COMPARE_PARAMS, MAX_CELLS, MAX_COMPARE, MAX_WORK, PROBE_PARAMS
from kaiming.propagation import PROBE_ACTIVATIONS, PROBE_INITS, LayerStats, probe

HEALTH = {"healthy", "vanishing", "exploding", "dying"}
LAYER_KEYS = {
    "layer",
    "fan_in",
    "fan_out",
    "pre_mean",
    "pre_std",
    "post_mean",
    "post_std",
    "dead_fraction",
    "dead_units_fraction",
    "health",
    "grad_std",
    "weight_grad_std",
    "theory_pre_std",
    "theory_post_std",
    "theory_grad_std",
}
SMALL = {"depth": 6, "width": 32, "batch": 16}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(server.create_app())


def strict_json(text: str) -> Any:
    """Parse JSON refusing NaN/Infinity, which browsers' JSON.parse rejects."""

    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name} in the response")

    return json.loads(text, parse_constant=refuse)


def get_ok(client: TestClient, path: str, **params: object) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return strict_json(response.text)


def get_error(client: TestClient, path: str, status: int = 400, **params: object) -> str:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert "Traceback" not in body["error"]
    return str(body["error"])


# ---------- the page and its files ----------


def test_page_and_static_files_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'src="static/app.js"' in page.text and 'href="static/style.css"' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css"), ("favicon.svg", "image/svg+xml")]:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert kind in response.headers["content-type"], name
    # Offline: nothing on the page points at another origin.
    for name in ["app.js", "style.css"]:
        body = client.get(f"/static/{name}").text
        assert "http://" not in body.replace("http://www.w3.org/2000/svg", "") and "https://" not in body


# ---------- /api/probe ----------


def test_probe_default_schema(client: TestClient) -> None:
    body = get_ok(client, "/api/probe")
    defaults = {p.name: p.default for p in PROBE_PARAMS}
    assert set(body) >= {"config", "layers", "histogram", "summary", "cached", "elapsed_ms"}
    assert isinstance(body["summary"], str) and body["summary"]  # its value: see the next test
    assert len(body["layers"]) == defaults["depth"]
    for index, layer in enumerate(body["layers"], start=1):
        assert set(layer) >= LAYER_KEYS
        assert layer["layer"] == index
        assert layer["health"] in HEALTH
        assert 0.0 <= layer["dead_fraction"] <= 1.0
        assert layer["fan_in"] == defaults["width"]
    hist = body["histogram"]
    assert hist["layer"] == defaults["depth"]  # default: the last layer
    assert len(hist["counts"]) == defaults["bins"] and len(hist["edges"]) == defaults["bins"] + 1
    assert hist["edges"] == sorted(hist["edges"])


@pytest.mark.parametrize(
    ("query", "kwargs"),
    [
        (
            {"init": "xavier_uniform", "act": "tanh", "mode": "fan_out", "input": "uniform", "seed": 3},
            {
                "init": "xavier_uniform",
                "activation": "tanh",
                "mode": "fan_out",
                "input_dist": "uniform",
                "seed": 3,
            },
        ),
        (
            {"init": "random", "std": 0.05, "act": "leaky_relu", "slope": 0.2, "bn": "1", "bias": 0.1},
            {
                "init": "random",
                "std": 0.05,
                "activation": "leaky_relu",
                "activation_param": 0.2,
                "batch_norm": True,
                "bias_std": 0.1,
            },
        ),
        (
            {"init": "orthogonal", "act": "elu", "slope": 0.5, "dtype": "float64", "layer": 2, "bins": 12},
            {
                "init": "orthogonal",
                "activation": "elu",
                "activation_param": 0.5,
                "dtype": "float64",
                "histogram_layer": 2,
                "bins": 12,
            },
        ),
        # The page's stream is the counter stream; kaiming.probe's default, the Generator, on request.
        (
            {"init": "he_normal", "stream": "generator", "seed": 5},
            {"init": "he_normal", "seed": 5, "stream": "generator"},
        ),
        # A slope given to an activation without a parameter is ignored, std to a non-random init too.
        (
            {"init": "he_uniform", "act": "relu", "slope": 0.3, "std": 2.0},
            {"init": "he_uniform", "activation": "relu"},
        ),
    ],
)
def test_probe_passes_every_parameter_to_the_probe(
    client: TestClient, query: dict[str, object], kwargs: dict[str, object]
) -> None:
    body = get_ok(client, "/api/probe", **SMALL, **query)
    base: dict[str, Any] = {"depth": 6, "width": 32, "batch": 16, "seed": 0, "histogram_layer": 6}
    expected = probe(**{**base, "stream": "counter", **kwargs}).to_dict()
    assert body["layers"] == strict_json(json.dumps(expected["layers"]))
    assert body["histogram"] == expected["histogram"]
    assert body["summary"] == expected["summary"]


def test_relu_depth_30_he_is_healthy_and_xavier_vanishes(client: TestClient) -> None:
    # Xavier halves the variance at every ReLU layer: std ~ 2**-15 ~ 3e-5 at layer 30.
    he = get_ok(client, "/api/probe", init="he_normal", act="relu", depth=30, width=128, batch=64)
    xavier = get_ok(client, "/api/probe", init="xavier_normal", act="relu", depth=30, width=128, batch=64)
    assert he["layers"][-1]["health"] == "healthy"
    assert xavier["layers"][-1]["health"] == "vanishing"
    assert xavier["layers"][-1]["post_std"] < 1e-3 < he["layers"][-1]["post_std"]
    assert "vanish" in xavier["summary"]


def test_non_finite_statistics_become_json_null(client: TestClient) -> None:
    # std 10 on width 256 multiplies the scale by ~160 per layer: float32 overflows by layer ~18.
    response = client.get(
        "/api/probe", params={"init": "random", "std": 10, "act": "linear", "depth": 30, "width": 256}
    )
    assert response.status_code == 200
    body = strict_json(response.text)
    last = body["layers"][-1]
    assert last["health"] == "exploding"
    assert last["post_std"] is None or last["post_std"] > 1e30


def test_results_are_cached_by_their_full_parameters(client: TestClient) -> None:
    first = get_ok(client, "/api/probe", **SMALL, seed=11)
    again = get_ok(client, "/api/probe", **SMALL, seed=11)
    other = get_ok(client, "/api/probe", **SMALL, seed=12)
    assert not first["cached"] and again["cached"] and not other["cached"]
    assert again["layers"] == first["layers"]
    assert other["layers"] != first["layers"]


# ---------- /api/compare ----------


def test_compare_returns_one_run_per_init_in_order(client: TestClient) -> None:
    body = get_ok(client, "/api/compare", inits="he_normal,xavier_normal,random,he_normal", **SMALL, std=0.5)
    assert [run["init"] for run in body["runs"]] == ["he_normal", "xavier_normal", "random"]
    for run in body["runs"]:
        assert len(run["layers"]) == SMALL["depth"]
        assert run["histogram"]["layer"] == SMALL["depth"]
    solo = get_ok(client, "/api/probe", init="random", std=0.5, **SMALL)
    assert body["runs"][2]["layers"] == solo["layers"]


def test_compare_default_overlays_he_xavier_random(client: TestClient) -> None:
    body = get_ok(client, "/api/compare", **SMALL)
    assert [run["init"] for run in body["runs"]] == ["he_normal", "xavier_normal", "random"]


def test_compare_bounds(client: TestClient) -> None:
    menu = [name for name in PROBE_INITS if name != "random"][: MAX_COMPARE + 1]
    assert "at most" in get_error(client, "/api/compare", inits=",".join(menu), **SMALL)
    assert "inits" in get_error(client, "/api/compare", inits="he_normal,bogus", **SMALL)
    assert "inits" in get_error(client, "/api/compare", inits=",,", **SMALL)
    assert "init" in get_error(client, "/api/compare", init="he_normal", **SMALL)  # unknown there


# ---------- bounds and bad input ----------

BAD = [
    ("depth", "0"),
    ("depth", "101"),
    ("depth", "abc"),
    ("depth", "1.5"),
    ("depth", ""),
    ("width", "0"),
    ("width", "2049"),
    ("batch", "0"),
    ("batch", "4097"),
    ("seed", "-1"),
    ("seed", str(2**32)),
    ("std", "0"),
    ("std", "-1"),
    ("std", "nan"),
    ("std", "inf"),
    ("std", "11"),
    ("slope", "-0.5"),
    ("slope", "11"),
    ("bias", "-1"),
    ("mode", "fan"),
    ("act", "relux"),
    ("init", "he_norm"),
    ("input", "gauss"),
    ("dtype", "float16"),
    ("stream", "philox"),
    ("weight_grad", "maybe"),
    ("bn", "maybe"),
    ("layer", "0"),
    ("layer", "7"),  # deeper than depth=6
    ("bins", "4"),
    ("bins", "201"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_parameter_gets_400_naming_it(client: TestClient, name: str, value: str) -> None:
    params = {"depth": "6", "width": "8", "batch": "4", "init": "random", "act": "leaky_relu", name: value}
    message = get_error(client, "/api/probe", **params)
    assert name in message
    assert repr(value) in message or value in message


def test_unknown_and_repeated_parameters_are_refused(client: TestClient) -> None:
    assert "'foo'" in get_error(client, "/api/probe", foo="1")
    response = client.get("/api/probe?depth=3&depth=4")
    assert response.status_code == 400
    assert "more than once" in response.json()["error"]


def test_work_caps(client: TestClient) -> None:
    assert MAX_CELLS < 100 * 2048 * 4096
    message = get_error(client, "/api/probe", depth=100, width=2048, batch=4096)
    assert "too large" in message
    # Under the cells cap but over the work cap: wide layers, few examples.
    depth, width, batch = 100, 2048, 41
    assert depth * width * batch <= MAX_CELLS and depth * width * width * batch > MAX_WORK
    assert "multiply-adds" in get_error(client, "/api/probe", depth=depth, width=width, batch=batch)
    # The compare cap multiplies by the number of inits: one fits, three do not.
    depth, width, batch = 50, 1024, 200
    assert depth * width * width * batch <= MAX_WORK < 3 * depth * width * width * batch
    assert "x 3 inits" in get_error(client, "/api/compare", depth=depth, width=width, batch=batch)


@pytest.mark.parametrize("params", [PROBE_PARAMS, COMPARE_PARAMS], ids=["probe", "compare"])
def test_documented_bounds_are_enforced(client: TestClient, params: tuple[Any, ...]) -> None:
    path = "/api/probe" if params is PROBE_PARAMS else "/api/compare"
    spec = client.get("/api/openapi.json").json()
    documented = {p["name"]: p["schema"] for p in spec["paths"][path]["get"]["parameters"]}
    assert set(documented) == {p.name for p in params}
    for name, schema in documented.items():
        base = (
            {"depth": 100, "width": 4, "batch": 4}
            if name == "layer"
            else {"depth": 5, "width": 4, "batch": 4}
        )
        if "maximum" in schema:
            assert name in get_error(client, path, **{**base, name: schema["maximum"] + 1})
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        if low is not None:
            below = low if "exclusiveMinimum" in schema else low - 1
            assert name in get_error(client, path, **{**base, name: below})
        if "enum" in schema:
            assert name in get_error(client, path, **{**base, name: "not-a-" + name})


def test_extreme_allowed_values_are_accepted(client: TestClient) -> None:
    assert len(get_ok(client, "/api/probe", depth=1, width=1, batch=1)["layers"]) == 1
    body = get_ok(client, "/api/probe", depth=100, width=4, batch=2, layer=100, bins=200, seed=2**32 - 1)
    assert len(body["layers"]) == 100 and len(body["histogram"]["counts"]) == 200
    assert get_ok(client, "/api/probe", depth=1, width=2048, batch=1)["layers"][0]["fan_in"] == 2048


def test_http_errors_are_json(client: TestClient) -> None:
    assert "Not Found" in get_error(client, "/api/nothing", status=404)
    response = client.post("/api/probe")
    assert response.status_code == 405 and "error" in response.json()


def test_probe_value_error_is_400_and_crash_is_500_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuses(**kwargs: object) -> None:
        raise ValueError("activation_param must be > 0, got 0")

    monkeypatch.setattr(server, "probe", refuses)
    client = TestClient(server.create_app(), raise_server_exceptions=False)
    assert get_error(client, "/api/probe", **SMALL) == "activation_param must be > 0, got 0"

    def crashes(**kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(server, "probe", crashes)
    client = TestClient(server.create_app(), raise_server_exceptions=False)
    message = get_error(client, "/api/probe", status=500, **SMALL)
    assert "RuntimeError" in message and "secret internal detail" not in message


def test_host_guard_refuses_foreign_host_headers() -> None:
    client = TestClient(server.create_app(allowed_hosts=["127.0.0.1", "localhost"]))
    response = client.get("/api/options", headers={"host": "attacker.example:8765"})
    assert response.status_code == 400 and "Host" in response.json()["error"]
    assert client.get("/api/options", headers={"host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/api/options", headers={"host": "LOCALHOST"}).status_code == 200


# ---------- options and OpenAPI ----------


def test_options_list_what_the_probe_accepts(client: TestClient) -> None:
    opts = get_ok(client, "/api/options")
    names = [item["name"] for item in opts["inits"]]
    assert {"he_normal", "he_uniform", "xavier_normal", "lecun_normal", "orthogonal", "random"} <= set(names)
    assert set(names) <= set(PROBE_INITS)
    assert [a["name"] for a in opts["activations"]] == list(PROBE_ACTIVATIONS)
    by_name = {a["name"]: a for a in opts["activations"]}
    assert by_name["leaky_relu"]["param"] == "negative_slope" and by_name["relu"]["param"] is None
    assert opts["params"]["depth"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert opts["limits"]["max_compare"] == MAX_COMPARE
    assert opts["params"]["stream"] == {
        "type": "string",
        "enum": ["generator", "counter"],
        "default": "counter",
    }


def test_weight_grad_off_leaves_out_only_the_weight_gradient(client: TestClient) -> None:
    full = get_ok(client, "/api/probe", **SMALL)
    lean = get_ok(client, "/api/probe", **SMALL, weight_grad="0")
    assert full["config"]["weight_grad"] is True and lean["config"]["weight_grad"] is False
    assert all(layer["weight_grad_std"] is None for layer in lean["layers"])
    assert lean["layers"] == [{**layer, "weight_grad_std": None} for layer in full["layers"]]


def test_the_stream_is_reported_and_keys_the_cache(client: TestClient) -> None:
    counter = get_ok(client, "/api/probe", **SMALL)
    generator = get_ok(client, "/api/probe", **SMALL, stream="generator")
    assert counter["config"]["stream"] == "counter" and generator["config"]["stream"] == "generator"
    assert counter["layers"][0]["pre_std"] != generator["layers"][0]["pre_std"]
    again = get_ok(client, "/api/probe", **SMALL, stream="generator")
    assert again["cached"] and again["layers"] == generator["layers"]
    runs = get_ok(client, "/api/compare", **SMALL, inits="he_normal,orthogonal", stream="generator")["runs"]
    assert [r["config"]["stream"] for r in runs] == ["generator", "generator"]
    assert runs[0]["layers"] == generator["layers"]


def test_openapi_document(client: TestClient) -> None:
    spec = get_ok(client, "/api/openapi.json")
    assert spec["openapi"].startswith("3.")
    for path in ["/api/probe", "/api/compare", "/api/phase"]:
        responses = spec["paths"][path]["get"]["responses"]
        assert set(responses) == {"200", "400", "403", "503"}
    schemas = spec["components"]["schemas"]
    # The documented layer fields are exactly the probe's.
    assert set(schemas["LayerStats"]["properties"]) == {f.name for f in dataclasses.fields(LayerStats)}
    # Every $ref resolves.
    refs = [part.split('"')[0] for part in json.dumps(spec).split('"$ref": "')[1:]]
    for ref in refs:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


# ---------- a real server: concurrency ----------


def test_requests_are_served_concurrently(monkeypatch: pytest.MonkeyPatch) -> None:
    real_probe = server.probe

    def slow_probe(**kwargs: Any) -> Any:
        time.sleep(0.5)
        return real_probe(**kwargs)

    monkeypatch.setattr(server, "probe", slow_probe)
    app = server.create_app(cache_bytes=0, max_parallel=4)
    with server.ServerThread(app) as running:
        results: list[int] = []

        def fire(seed: int) -> None:
            response = httpx.get(running.url + "api/probe", params={**SMALL, "seed": seed}, timeout=30)
            results.append(response.status_code)

        threads = [threading.Thread(target=fire, args=(seed,)) for seed in range(4)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
    assert results == [200] * 4
    # Served one at a time they would take >= 2.0 s.
    assert elapsed < 1.6, elapsed


def test_keep_alive_responses_are_not_delayed_by_nagle() -> None:
    # Without TCP_NODELAY on the server's sockets, each keep-alive response waits for the
    # client's delayed ACK: >= 40 ms on Linux. Served properly it takes a few ms.
    sock = server.bind_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY only then
    sock.close()
    with server.ServerThread() as running, httpx.Client(timeout=30) as client:
        client.get(running.url + "api/options")
        times = []
        for _ in range(15):
            start = time.perf_counter()
            assert client.get(running.url + "api/options").status_code == 200
            times.append(time.perf_counter() - start)
    assert sorted(times)[7] < 0.035, times


def test_server_thread_binds_loopback_free_port() -> None:
    with server.ServerThread() as running:
        assert running.url.startswith("http://127.0.0.1:")
        response = httpx.get(running.url, timeout=30)
        assert response.status_code == 200 and "kaiming explorer" in response.text


# ---------- the CLI plugin ----------


def test_cli_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, kaiming.explorer.cli\n"
        "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))"
    )
    src = str(Path(kaiming.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.open, args.blas_threads) == ("127.0.0.1", 8765, False, 1)
    assert args.memory_gb is None and parser.parse_args(["--memory-gb", "1.5"]).memory_gb == 1.5
    for bad in (["--port", "70000"], ["--port", "http"], ["--blas-threads", "-1"], ["--memory-gb", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_cli_reports_a_busy_port_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = cli.run(
            argparse.Namespace(host="127.0.0.1", port=port, open=False, blas_threads=1, memory_gb=None)
        )
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_kaiming_explore_command_serves_and_stops_on_ctrl_c() -> None:
    src = str(Path(kaiming.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": src}
    command = [sys.executable, "-m", "kaiming", "explore", "--port", "0"]
    with child_process(command, env) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "kaiming explorer: http://127.0.0.1:PORT/  (Ctrl-C to stop)"
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        response = httpx.get(match.group(0) + "api/probe", params=SMALL, timeout=60)
        assert response.status_code == 200 and len(response.json()["layers"]) == SMALL["depth"]
        # A loopback server refuses other Host names (DNS rebinding).
        foreign = httpx.get(match.group(0) + "api/options", headers={"host": "evil.example"}, timeout=60)
        assert foreign.status_code == 400
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_kaiming_help_lists_explore() -> None:
    src = str(Path(kaiming.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-m", "kaiming", "explore", "--help"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0
    assert "--port" in out.stdout and "--open" in out.stdout and "--blas-threads" in out.stdout


# ---------- the phase diagram and the gain ----------


def test_phase_endpoint_matches_the_theory(client: TestClient) -> None:
    from kaiming.propagation.correlation import depth_scales
    from kaiming.propagation.phase import phase_diagram, phase_point

    body = get_ok(client, "/api/phase", init="xavier_normal", act="tanh", bias=0.2, width=128)
    sigma_w2, sigma_b2 = phase_point("xavier_normal", "tanh", width=128, bias_std=0.2)
    assert body["point"]["sigma_w2"] == sigma_w2 and body["point"]["sigma_b2"] == sigma_b2
    assert body["point"]["chi_1"] == depth_scales("tanh", sigma_w2, sigma_b2).chi_1
    expected = phase_diagram("tanh", *server.PHASE_GRID).to_dict()
    assert body["diagram"]["chi_1"] == strict_json(json.dumps(expected["chi_1"]))
    assert body["diagram"]["critical_sigma_w2"] == strict_json(json.dumps(expected["critical_sigma_w2"]))
    # He with ReLU sits on the critical line: chi_1 = sigma_w2 / 2 = 1.
    he = get_ok(client, "/api/phase", init="he_normal", act="relu")
    assert he["point"]["sigma_w2"] == pytest.approx(2.0) and he["point"]["chi_1"] == pytest.approx(1.0)
    assert "'depth'" in get_error(client, "/api/phase", depth=3)  # not a parameter of the diagram
    assert "gain" in get_error(client, "/api/phase", gain=0)


def test_gain_reaches_the_probe_and_is_ignored_by_random(client: TestClient) -> None:
    body = get_ok(client, "/api/probe", **SMALL, init="xavier_normal", gain=1.5)
    expected = probe(
        "xavier_normal", depth=6, width=32, batch=16, gain=1.5, histogram_layer=6, stream="counter"
    ).to_dict()
    assert body["layers"] == strict_json(json.dumps(expected["layers"]))
    assert body["config"]["gain"] == 1.5
    random = get_ok(client, "/api/probe", **SMALL, init="random", std=0.1, gain=1.5)
    assert random["config"]["std"] == 0.1


def test_the_vendored_chart_library_is_served_with_its_license(client: TestClient) -> None:
    page = client.get("/").text
    assert 'src="static/vendor/uplot/uPlot.iife.min.js"' in page
    script = client.get("/static/vendor/uplot/uPlot.iife.min.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "(v1.6.32)" in script.text[:100]
    license_text = client.get("/static/vendor/uplot/LICENSE")
    assert license_text.status_code == 200 and "MIT License" in license_text.text
