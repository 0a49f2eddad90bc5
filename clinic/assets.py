"""The style sheets, scripts and images the pages load, under names that hold their content's
hash (/assets/static/css/lindring.3f2a9c1b0d.css), so that browsers keep them for a year and a
new release is fetched at once.

Two folders are served: the app's own `static/` and Bootstrap's files from Bootstrap-Flask's
package. A name whose hash is not the file's current one is not found: an old page asks again.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import flask_bootstrap
from flask import Blueprint, Flask, abort, send_from_directory, url_for
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

ROOTS: dict[str, Path] = {
    "static": Path(__file__).resolve().parent.parent / "static",
    "bootstrap": Path(flask_bootstrap.__file__).resolve().parent / "static" / "bootstrap5",
}
YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR}, immutable"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")

bp = Blueprint("assets", __name__)
_fingerprints: dict[tuple[Path, int, int], str] = {}


def fingerprint(path: Path) -> str:
    """The first 10 hex digits of the file's SHA-256, remembered while the file is unchanged."""
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _fingerprints:
        _fingerprints[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return _fingerprints[key]


def _file(root: str, filename: str) -> Path:
    joined = safe_join(str(ROOTS[root]), filename)
    if joined is None or not Path(joined).is_file():
        raise FileNotFoundError(f"{root}/{filename}")
    return Path(joined)


def asset_url(filename: str, root: str = "static") -> str:
    """The URL of `filename` in `root` ('static' or 'bootstrap'), with its content's hash."""
    stem, suffix = os.path.splitext(filename)
    hashed = f"{stem}.{fingerprint(_file(root, filename))}{suffix}"
    return url_for("assets.file", root=root, name=hashed)


@bp.get("/assets/<any(static, bootstrap):root>/<path:name>")
def file(root: str, name: str) -> Response:
    """Serve a file by its hashed name, to be kept for a year."""
    found = _HASHED.match(name)
    if found is None:
        abort(404)
    filename = found["stem"] + found["suffix"]
    try:
        path = _file(root, filename)
    except FileNotFoundError:
        abort(404)
    if fingerprint(path) != found["hash"]:
        abort(404)  # another version of the file: not what this name promises
    response = send_from_directory(ROOTS[root], filename, max_age=YEAR, conditional=True)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(asset_url, "asset_url")
