"""The Dockerfile and the README's Docker commands agree with each other and with the app.

No image is built in CI; these checks catch the drift that would make the documented commands fail:
a renamed image, volume or port, a health check on a route that does not exist, a root container.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def args_of(value: str) -> list[str]:
    """An exec-form (JSON) or shell-form argument list."""
    return json.loads(value) if value.startswith("[") else shlex.split(value)


def env() -> dict[str, str]:
    out: dict[str, str] = {}
    for kind, rest in instructions():
        if kind == "ENV":
            for item in shlex.split(rest):
                k, _, v = item.partition("=")
                out[k] = v
    return out


def only(kind: str) -> str:
    found = [rest for k, rest in instructions() if k == kind]
    assert len(found) == 1, f"one {kind} expected, found {found}"
    return found[0]


def readme_docker_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Docker\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line:
                commands.append(shlex.split(line, comments=True))
    return commands


def docker(sub: str) -> list[list[str]]:
    return [c for c in readme_docker_commands() if c[:2] == ["docker", sub]]


def option(cmd: list[str], *names: str) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd[:-1]) if a in names]


def served(tmp_path: Path, path: str) -> bool:
    """Whether the app has a GET route at ``path`` (before its engine loads, /readyz answers 503)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from rag.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, anonymous_writes=True))
    status = TestClient(app).get(path).status_code  # no lifespan: nothing is loaded
    return status != 404  # 405: the path exists, for another method


def test_served_tells_a_route_from_none(tmp_path: Path) -> None:
    assert served(tmp_path, "/healthz") and not served(tmp_path, "/readyz-not")


def test_the_image_is_python_slim_and_installs_the_project() -> None:
    assert only("FROM") == "python:3.11-slim"
    runs = [rest for k, rest in instructions() if k == "RUN"]
    assert any(re.search(r"\bpip install( --?[\w-]+)* \.(\s|$)", r) for r in runs), runs
    # what `pip install .` needs is in the build context: the packages pyproject names, and its readme
    copied = {args_of(rest)[0] for k, rest in instructions() if k == "COPY"} | {
        a for k, rest in instructions() if k == "COPY" for a in args_of(rest)[:-1]
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied and {"pyproject.toml", project["project"]["readme"]} <= copied
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert not {i for i in ignored if i in copied}


def test_it_runs_as_an_unprivileged_user_who_owns_the_data_volume() -> None:
    seq = instructions()
    users = [rest for k, rest in seq if k == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith(("root:", "0:"))
    last_user = max(i for i, (k, _) in enumerate(seq) if k == "USER")
    assert last_user < next(i for i, (k, _) in enumerate(seq) if k == "CMD")
    data = env()["RAG_DATA_DIR"]
    assert args_of(only("VOLUME")) == [data]
    assert any(k == "RUN" and f"chown {users[-1]}" in rest and data in rest for k, rest in seq)


def test_the_seed_index_is_built_into_the_image_before_the_volume() -> None:
    seq = instructions()
    kinds = [k for k, _ in seq]
    build = next(i for i, (k, rest) in enumerate(seq) if k == "RUN" and args_of(rest)[:2] == ["rag", "index"])
    pip = next(i for i, (k, rest) in enumerate(seq) if k == "RUN" and "pip install" in rest)
    # after the install, as the service's user, and before VOLUME (Docker drops later writes to a volume)
    assert pip < max(i for i, k in enumerate(kinds) if k == "USER") < build < kinds.index("VOLUME")
    corpus = env()["RAG_CORPUS"]
    assert any(k == "COPY" and args_of(rest)[-1].rstrip("/") in ("./seeds", corpus) for k, rest in seq)
    assert corpus == "/app/seeds" and only("WORKDIR") == "/app"


def test_cmd_serves_on_all_interfaces_on_the_exposed_port() -> None:
    cmd = args_of(only("CMD"))
    assert cmd[:2] == ["rag", "serve"] and option(cmd, "--host") == ["0.0.0.0"]
    assert option(cmd, "--port") == [only("EXPOSE")]


def test_the_healthcheck_asks_an_existing_route_on_that_port(tmp_path: Path) -> None:
    check = only("HEALTHCHECK")
    urls = re.findall(r"https?://[\w.]+:(\d+)(/[\w/]*)", check)
    assert len(urls) == 1
    port, path = urls[0]
    assert port == only("EXPOSE") and path == "/readyz"
    assert served(tmp_path, path)


def test_the_readme_commands_use_what_the_dockerfile_declares(tmp_path: Path) -> None:
    (build,) = docker("build")
    tag = option(build, "-t", "--tag")
    assert len(tag) == 1 and build[-1] == "."
    (run,) = docker("run")
    assert run[-1] == tag[0]  # the image just built
    published = option(run, "-p", "--publish")
    assert [p.rsplit(":", 1)[1] for p in published] == [only("EXPOSE")]
    volumes = option(run, "-v", "--volume")
    assert [v.split(":")[1] for v in volumes] == [env()["RAG_DATA_DIR"]]
    name = option(run, "--name")
    # the key the README tells people to read is where the service keeps it
    from api.auth import KEY_FILE

    execs = docker("exec")
    assert execs and all(e[2] == name[0] for e in execs)
    assert any(e[3:] == ["cat", f"{env()['RAG_DATA_DIR']}/{KEY_FILE}"] for e in execs)
    text = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Docker\n", 1)[1]
    host_port = published[0].rsplit(":", 1)[0].rsplit(":", 1)[-1]
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", text.split("\n## ", 1)[0])
    assert urls
    for url_port, url_path in urls:
        assert url_port == host_port and served(tmp_path, url_path)


@pytest.mark.parametrize("needed", ["index", "rag", "api", "eval", "seeds", "pyproject.toml", "README.md"])
def test_the_build_context_has_what_the_dockerfile_copies(needed: str) -> None:
    assert (ROOT / needed).exists()


def test_compose_runs_this_image_on_milvus_with_settings_the_app_reads() -> None:
    import yaml

    from rag.cli import build_parser
    from rag.settings import Settings

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    index, rag = services["index"], services["rag"]
    assert index["build"] == "." and rag["image"] == index["image"]
    env = rag["environment"]
    settings = Settings(vector_store=env["RAG_VECTOR_STORE"], milvus_uri=env["RAG_MILVUS_URI"])
    assert settings.vector_store == "milvus" and settings.milvus_uri.endswith(":19530")  # type: ignore[union-attr]
    assert env["RAG_MILVUS_URI"].split("//")[1].split(":")[0] in services  # a service of this file
    build_parser().parse_args(index["command"][1:])  # a command `rag` takes
    exposed = next(rest for k, rest in instructions() if k == "EXPOSE")
    assert any(p.endswith(f":{exposed}") for p in rag["ports"])
    assert rag["depends_on"]["index"]["condition"] == "service_completed_successfully"
    assert {v.split(":")[1] for v in rag["volumes"]} == {"/data"} and index["volumes"] == rag["volumes"]
