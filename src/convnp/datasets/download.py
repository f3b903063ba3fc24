"""``keras.utils.get_file``: a file from Keras' download cache, fetched only when missing.

The cache is Keras' own layout, so files Keras (or a person) already put there are found:
``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when that is not writable), then
``cache_subdir`` (``"datasets"``), then ``fname``. A download goes to a temporary name in the
same directory, is checked against ``file_hash`` (sha256 or md5) and only then renamed into
place, so the cache never holds half a file. Without a network the error names the URL and the
path where the file should be put by hand.

Archives (``extract=True``) are unpacked into a temporary directory that is renamed into place
whole; members with absolute paths, ``..``, links or devices are refused, and the declared
sizes must stay within `convnp._limits` of the archive's size (no archive bombs).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import zipfile
from pathlib import Path

from convnp._limits import expansion_limit

__all__ = ["cache_root", "get_file", "hash_file", "validate_file"]

_ARCHIVE_FORMATS = ("tar", "zip")


def cache_root(cache_dir=None) -> Path:
    """Keras' cache directory: ``cache_dir``, else ``$KERAS_HOME``, else ``~/.keras``."""
    if cache_dir is None:
        cache_dir = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return Path(os.path.expanduser(os.fspath(cache_dir)))


def _hasher(algorithm: str, file_hash: str | None):
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()  # Keras' rule: a 32-character (or any other) hash is md5


def hash_file(fpath, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks."""
    hasher = _hasher(algorithm, None if algorithm == "auto" else "x" * 64)
    with open(fpath, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            hasher.update(block)
    return hasher.hexdigest()


def validate_file(fpath, file_hash: str, algorithm: str = "auto",
                  chunk_size: int = 65535) -> bool:
    """Whether the file's digest equals ``file_hash`` (algorithm from its length on auto)."""
    hasher = _hasher(algorithm, file_hash)
    return hash_file(fpath, hasher.name, chunk_size) == str(file_hash).lower()


def _check_args(fname, origin, cache_subdir, archive_format) -> str:
    if origin is None or not isinstance(origin, str) or not origin:
        raise ValueError(f"get_file needs origin=, the URL of the file, got {origin!r}")
    if fname is not None and not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"fname must be a file name (str), got {type(fname).__name__}")
    name = os.fspath(fname) if fname else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"cannot tell the file name from origin {origin!r}; pass fname=")
    if os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
        raise ValueError(f"fname must be a plain file name, got {name!r}; choose the folder "
                         "with cache_dir= / cache_subdir=")
    if not isinstance(cache_subdir, (str, os.PathLike)):
        raise TypeError(f"cache_subdir must be a str, got {type(cache_subdir).__name__}")
    _formats(archive_format)  # checks it
    return name


def _formats(archive_format) -> tuple[str, ...]:
    if archive_format is None:
        return ()
    if archive_format == "auto":
        return _ARCHIVE_FORMATS
    items = (archive_format,) if isinstance(archive_format, str) else tuple(archive_format)
    for item in items:
        if item not in _ARCHIVE_FORMATS:
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip', None or a list of "
                             f"them, got {archive_format!r}")
    return items


def get_file(fname=None, origin=None, untar: bool = False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm: str = "auto", extract: bool = False,
             archive_format="auto", cache_dir=None, force_download: bool = False) -> str:
    """The local path of ``origin``'s file, downloading it only if it is not cached.

    Args:
        fname: the name in the cache (default: the last part of ``origin``'s path). With
            ``extract``, a name without a dot names the extraction folder.
        origin: the URL.
        untar, md5_hash: Keras' older spellings of ``extract`` and ``file_hash``.
        file_hash: expected sha256 (64 hex digits) or md5 (32) of the file; checked after a
            download and on a cached file (a mismatching cached file is downloaded again).
        cache_subdir: folder under the cache directory (an absolute path is used as is).
        hash_algorithm: ``"auto"``, ``"sha256"`` or ``"md5"``.
        extract: unpack a tar (``.tar``, ``.tar.gz``, ``.tar.bz2``) or zip archive.
        archive_format: ``"auto"`` (tar then zip), ``"tar"``, ``"zip"`` or None.
        cache_dir: the cache directory (default ``$KERAS_HOME`` or ``~/.keras``).
        force_download: download even when the file is cached.

    Returns:
        The file's path, or with ``extract`` the folder it was unpacked into (Keras 3's
        rule: ``<fname>_extracted`` when ``fname`` has an extension, else ``<fname>``).

    Raises:
        ValueError: bad arguments; a downloaded file whose hash does not match.
        OSError: the file is not cached and cannot be downloaded (the message names the URL
            and where to put the file).
    """
    name = _check_args(fname, origin, cache_subdir, archive_format)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm, file_hash)  # checks the algorithm's name
    if file_hash is not None and not isinstance(file_hash, str):
        raise TypeError(f"file_hash must be a hex string, got {type(file_hash).__name__}")
    root = cache_root(cache_dir)
    if not _writable(root):
        fallback = Path(tempfile.gettempdir()) / ".keras"
        if not (root / cache_subdir).exists():
            root = fallback
    datadir = root / cache_subdir
    extract = bool(extract or untar)
    if extract:
        if fname and "." in name:
            target = datadir / name
            extraction_dir = datadir / f"{name[:name.find('.')]}_extracted"
        else:
            extraction_dir = datadir / name
            target = datadir / f"{name}_archive"
    else:
        target = datadir / name
    formats = ("tar",) if untar else _formats(archive_format)

    cached = target.is_file() and not force_download
    if cached and file_hash is not None and not validate_file(target, file_hash,
                                                                hash_algorithm):
        cached = False  # damaged or another version: fetch it again, as Keras does
    if extract and not force_download and extraction_dir.is_dir() and any(
            extraction_dir.iterdir()):
        return str(extraction_dir)
    if not cached:
        _download(origin, target, file_hash, hash_algorithm)
    if extract:
        _extract(target, extraction_dir, formats)
        return str(extraction_dir)
    return str(target)


def _writable(path: Path) -> bool:
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return os.access(path, os.W_OK)


def _download(origin: str, target: Path, file_hash, hash_algorithm: str) -> None:
    """Stream ``origin`` into ``target`` through a temporary file, hashing on the way; a
    failed download or a wrong hash leaves nothing behind."""
    import urllib.error
    import urllib.request

    from convnp.io._files import atomic_write

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the cache folder {target.parent}: {exc}") from None
    hasher = _hasher(hash_algorithm, file_hash)

    def fetch(out) -> None:
        try:
            with urllib.request.urlopen(origin, timeout=60) as response:
                for block in iter(lambda: response.read(1 << 20), b""):
                    hasher.update(block)
                    out.write(block)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OSError(
                f"cannot download {origin} ({exc}); this machine may be offline. Download "
                f"it elsewhere and put it at {target}") from None
        if file_hash is not None and hasher.hexdigest() != file_hash.lower():
            raise ValueError(f"the file downloaded from {origin} is incomplete or corrupted: "
                             f"its {hasher.name} hash is {hasher.hexdigest()}, expected "
                             f"{file_hash}")

    atomic_write(target, fetch)


def _safe_name(name: str, archive: Path) -> str:
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts or name.startswith(("/", "\\")):
        raise ValueError(f"{archive}: refusing the archive member {name!r} (an absolute path "
                         "or one leaving the extraction folder)")
    return name


def _extract(archive: Path, destination: Path, formats: tuple[str, ...]) -> None:
    """Unpack ``archive`` into ``destination`` (whole or not at all)."""
    stored = archive.stat().st_size
    opened = None
    if "tar" in formats and tarfile.is_tarfile(archive):
        opened = "tar"
    elif "zip" in formats and zipfile.is_zipfile(archive):
        opened = "zip"
    if opened is None:
        raise ValueError(f"{archive} is not an archive of the formats {list(formats)}; it "
                         "cannot be extracted")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        if opened == "tar":
            _extract_tar(archive, staging, stored)
        else:
            _extract_zip(archive, staging, stored)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _extract_tar(archive: Path, staging: Path, stored: int) -> None:
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"{archive}: refusing the member {member.name!r} (links and "
                                 "devices are not extracted)")
        _unpack(archive, staging, stored,
                [(m.name, m.isdir(), m.size, lambda m=m: tar.extractfile(m)) for m in members])


def _extract_zip(archive: Path, staging: Path, stored: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        _unpack(archive, staging, stored,
                [(i.filename, i.is_dir(), i.file_size, lambda i=i: zf.open(i))
                 for i in zf.infolist()])


def _unpack(archive: Path, staging: Path, stored: int, entries) -> None:
    """Write ``(name, is_dir, size, open)`` entries under ``staging`` after checking every
    name and the total declared size."""
    for name, _, _, _ in entries:
        _safe_name(name, archive)
    _check_total(archive, sum(size for _, _, size, _ in entries), stored)
    for name, is_dir, _, open_entry in entries:
        path = staging / name
        if is_dir:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_entry() as source, open(path, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)


def _check_total(archive: Path, total: int, stored: int) -> None:
    if total > expansion_limit(stored):
        raise ValueError(f"{archive}: its members declare {total} bytes from {stored} stored; "
                         "refusing to expand it (an archive bomb, or a damaged file)")
