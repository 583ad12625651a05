"""Roster's container images, built once and rebuilt only when what goes into them changes.

Each image is tagged ``<name>:<hash>``, the hash covering its Containerfile, the base image and
every file of the build context it copies (as ``.dockerignore`` lets through); a tag that exists
is not built again. The base is ``debian:bookworm-slim`` when the engine has it or a registry
serves it; with no registry reachable, a Debian bookworm base is made locally with debootstrap
from the mirror apt already uses.

Command line (``make images``): ``python -m devinfra.images`` prints ``NAME=<tag>`` lines.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from docker.utils.build import PatternMatcher

from devinfra.containers import REPO_ROOT, ContainerEngineError, Engine, detect_engine

__all__ = ["IMAGES", "ImageBuildError", "ImageSpec", "RosterImages", "ensure_images", "main"]

PUBLIC_BASE = "docker.io/library/debian:bookworm-slim"
LOCAL_BASE = "roster-debian:bookworm"
_PULL_TIMEOUT_SECONDS = 120.0
_BUILD_TIMEOUT_SECONDS = 1800.0
_DEFAULT_MIRROR = "http://deb.debian.org/debian"
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")


class ImageBuildError(RuntimeError):
    """An image could not be built; the message ends with the tail of the build log."""


@dataclass(frozen=True)
class ImageSpec:
    name: str
    containerfile: str
    inputs: tuple[str, ...]  # what the Containerfile copies from the build context


_TRUST = "containers/trust-build-cas.sh"
APP = ImageSpec(
    "roster-app",
    "containers/app.Containerfile",
    (_TRUST, "pyproject.toml", "uv.lock", "contracts", "servicekit", "services", "roster_cli"),
)
KAFKA = ImageSpec(
    "roster-kafka",
    "containers/kafka.Containerfile",
    (
        _TRUST,
        "devinfra/kafka/pom.xml",
        "containers/kafka-entrypoint.sh",
        "containers/kafka-log4j2.properties",
    ),
)
POSTGRES = ImageSpec(
    "roster-postgres", "containers/postgres.Containerfile", ("containers/postgres-entrypoint.sh",)
)
IMAGES = (APP, KAFKA, POSTGRES)


@dataclass(frozen=True)
class RosterImages:
    app: str
    kafka: str
    postgres: str

    def compose_env(self) -> dict[str, str]:
        """The variables docker-compose.yml reads its image names from."""
        return {
            "ROSTER_APP_IMAGE": self.app,
            "ROSTER_KAFKA_IMAGE": self.kafka,
            "ROSTER_POSTGRES_IMAGE": self.postgres,
        }


def _context_files(spec: ImageSpec, matcher: PatternMatcher) -> list[Path]:
    """The files of the build context the image copies: docker-py applies .dockerignore exactly as
    the engines do, so the hash sees what the build sees."""
    files: list[Path] = []
    for entry in spec.inputs:
        root = REPO_ROOT / entry
        candidates = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in candidates:
            relative = path.relative_to(REPO_ROOT).as_posix()
            # The stub asks for a PathLike; the implementation splits the path as a string.
            if path.is_file() and not matcher.matches(relative):  # type: ignore[arg-type]
                files.append(path)
    return files


def input_hash(spec: ImageSpec, base_image_id: str) -> str:
    digest = hashlib.sha256(base_image_id.encode())
    patterns = _ignore_patterns()
    for path in [REPO_ROOT / spec.containerfile, *_context_files(spec, PatternMatcher(patterns))]:
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _ignore_patterns() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


# ---------------------------------------------------------------------------- base image


def base_image(engine: Engine, log: Path) -> str:
    """``ROSTER_BASE_IMAGE`` if set; else the public Debian image (present or pulled); else the
    local debootstrap one, made when missing."""
    configured = os.environ.get("ROSTER_BASE_IMAGE")
    if configured:
        if engine.image_id(configured) is None:
            engine.run("pull", configured, timeout=_PULL_TIMEOUT_SECONDS)
        return configured
    for present in (PUBLIC_BASE, LOCAL_BASE):
        if engine.image_id(present) is not None:
            return present
    pulled = engine.run("pull", "--quiet", PUBLIC_BASE, timeout=_PULL_TIMEOUT_SECONDS, check=False)
    if pulled.returncode == 0:
        return PUBLIC_BASE
    print(f"no registry serves {PUBLIC_BASE}; building {LOCAL_BASE} with debootstrap", file=sys.stderr)
    _debootstrap_base(engine, log)
    return LOCAL_BASE


def _apt_mirror() -> str:
    """The Debian mirror this machine's apt already uses (deb822 or one-line sources)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        lines = source.read_text(errors="replace").splitlines() if source.is_file() else []
        for words in (line.split() for line in lines):
            if words and words[0] in ("URIs:", "deb"):
                urls = [word for word in words[1:] if "://" in word and "security" not in word]
                if urls:
                    return urls[0].rstrip("/")
    return _DEFAULT_MIRROR


def _debootstrap_base(engine: Engine, log: Path) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            f"no registry serves {PUBLIC_BASE} and debootstrap is not installed to make a local "
            "Debian base (scripts/bootstrap.sh installs it; or set ROSTER_BASE_IMAGE)"
        )
    root = Path(tempfile.mkdtemp(prefix="roster-debian-"))
    try:
        command = ["debootstrap", "--variant=minbase", "bookworm", str(root), _apt_mirror()]
        _logged(command, log, env=dict(os.environ), what=f"debootstrap of {LOCAL_BASE}")
        shutil.rmtree(root / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [engine.cli, "import", "-", LOCAL_BASE],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            env=engine.environ(),
            check=False,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise ImageBuildError(f"importing {LOCAL_BASE} failed:\n{imported.stderr[-2000:]}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------- builds


def _logged(command: list[str], log: Path, *, env: Mapping[str, str], what: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        output.write(f"\n$ {' '.join(command)}\n".encode())
        output.flush()
        try:
            result = subprocess.run(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=dict(env),
                timeout=_BUILD_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired as error:
            raise ImageBuildError(f"{what} took over {_BUILD_TIMEOUT_SECONDS} s; log: {log}") from error
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise ImageBuildError(f"{what} failed ({result.returncode}); log: {log}\n{tail}")


def _local_certificate_authorities() -> str:
    """The certificate authorities this machine added to Debian's defaults (a TLS-inspecting proxy's,
    say): the build stages that download from PyPI and Maven Central must trust them too."""
    files = sorted(LOCAL_CA_DIR.rglob("*.crt")) if LOCAL_CA_DIR.is_dir() else []
    return "".join(path.read_text(errors="replace").strip() + "\n" for path in files)


def build_image(engine: Engine, spec: ImageSpec, base: str, log: Path) -> str:
    """The image's tag, built now unless an image with the same inputs exists."""
    base_id = engine.image_id(base)
    if base_id is None:
        raise ImageBuildError(f"base image {base} is not in the engine's storage")
    tag = f"{spec.name}:{input_hash(spec, base_id)}"
    if engine.image_id(tag) is not None:
        return tag
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("w", prefix="roster-local-ca-", suffix=".pem") as local_ca:
        local_ca.write(_local_certificate_authorities())
        local_ca.flush()
        # podman's default OCI image format has no HEALTHCHECK; the Docker format keeps it.
        image_format = ["--format", "docker"] if engine.is_podman else []
        command = [
            *(engine.cli, "build", *image_format, "--network=host"),
            *("--file", str(REPO_ROOT / spec.containerfile)),
            *("--build-arg", f"BASE_IMAGE={base}", "--secret", f"id=local-ca,src={local_ca.name}"),
            *("--tag", tag, "--tag", f"{spec.name}:latest", str(REPO_ROOT)),
        ]
        _logged(command, log, env=engine.environ(), what=f"building {tag} ({spec.containerfile})")
    print(f"built {tag} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return tag


def ensure_images(engine: Engine | None = None, *, log: Path | None = None) -> RosterImages:
    """Every Roster image, built where missing. Raises ImageBuildError / ContainerEngineError."""
    engine = engine or detect_engine()
    log = log or REPO_ROOT / "var" / "logs" / "images.log"
    base = base_image(engine, log)
    app, kafka, postgres = (build_image(engine, spec, base, log) for spec in IMAGES)
    return RosterImages(app=app, kafka=kafka, postgres=postgres)


def main() -> int:
    try:
        images = ensure_images()
    except (ContainerEngineError, ImageBuildError) as error:
        print(f"images: {error}", file=sys.stderr)
        return 1
    for variable, tag in images.compose_env().items():
        print(f"{variable}={tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
