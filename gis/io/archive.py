"""Zip archives from uploads: slips, links, nesting, encryption and bombs refused before
(and while) inflating."""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib

from gis.io.base import Limits, UploadRefused


def zip_members(data: bytes, limits: Limits) -> dict[str, bytes]:
    """Safe members of a zip: refuse slips, links, nesting and bombs before inflating."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise UploadRefused(
            "invalid",
            "bad_zip",
            "not a readable zip archive",
            "zip 文件无法读取",
            internal=str(exc),
        ) from exc
    files = [
        i
        for i in infos
        if not i.is_dir() and not i.filename.startswith("__MACOSX/") and "/._" not in i.filename
    ]
    if len(files) > limits.max_zip_members:
        raise UploadRefused(
            "too_large",
            "zip_too_many_members",
            f"the zip holds {len(files)} files (limit {limits.max_zip_members})",
            f"zip 内文件数 {len(files)} 超过上限 {limits.max_zip_members}",
        )
    for i in infos:
        _refuse_unsafe(i)
    declared = sum(i.file_size for i in files)
    ratio = declared / max(1, sum(i.compress_size for i in files))
    if declared > limits.max_unzipped_bytes or ratio > limits.max_zip_ratio:
        raise UploadRefused(
            "too_large",
            "zip_bomb",
            f"the zip inflates to {declared} bytes (ratio {ratio:.0f}:1; limits "
            f"{limits.max_unzipped_bytes} bytes, {limits.max_zip_ratio:.0f}:1)",
            "zip 解压后过大或压缩比异常（疑似 zip 炸弹）",
            {"declared_bytes": declared, "ratio": round(ratio, 1)},
        )
    out: dict[str, bytes] = {}
    budget = min(limits.max_unzipped_bytes, int(len(data) * limits.max_zip_ratio) + 1)
    for i in files:
        out[i.filename] = _inflate(zf, i, limits, budget)
        budget -= len(out[i.filename])
    return out


def _inflate(zf: zipfile.ZipFile, i: zipfile.ZipInfo, limits: Limits, budget: int) -> bytes:
    """One member, refusing it as soon as it inflates past its declared size or the budget;
    a member whose headers lie (sizes, CRC, method) or whose stream is broken is a 422."""
    try:
        return _inflate_unchecked(zf, i, budget)
    except UploadRefused:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise UploadRefused(
            "invalid",
            "bad_zip",
            f"zip member {i.filename!r} cannot be inflated: its headers or data are damaged "
            f"({type(exc).__name__})",
            "zip 成员无法解压：文件头或数据已损坏",
            {"member": i.filename},
        ) from exc


def _inflate_unchecked(zf: zipfile.ZipFile, i: zipfile.ZipInfo, budget: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    with zf.open(i) as member:
        while chunk := member.read(1 << 16):
            got += len(chunk)
            budget -= len(chunk)
            if got > i.file_size or budget < 0:
                raise UploadRefused(
                    "too_large",
                    "zip_bomb",
                    f"zip member {i.filename!r} inflates past its declared size or the cap",
                    "zip 成员解压超过声明大小或上限（疑似 zip 炸弹）",
                    {"member": i.filename},
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _refuse_unsafe(i: zipfile.ZipInfo) -> None:
    """A member with an absolute or parent path, a link, encryption or an archive inside."""
    name = i.filename
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise UploadRefused(
            "invalid",
            "zip_unsafe_path",
            f"zip member {name!r} has an absolute or parent path (zip-slip)",
            f"zip 成员路径不安全（绝对路径或 ..）：{name}",
            {"member": name},
        )
    mode = (i.external_attr >> 16) & 0o170000
    if mode == stat.S_IFLNK:
        raise UploadRefused(
            "invalid",
            "zip_symlink",
            f"zip member {name!r} is a symbolic link",
            f"zip 成员是符号链接：{name}",
            {"member": name},
        )
    if i.flag_bits & 0x1:
        raise UploadRefused(
            "invalid", "zip_encrypted", f"zip member {name!r} is encrypted", "zip 成员已加密"
        )
    if re.search(r"\.(zip|gz|tgz|bz2|xz|7z|rar|tar|kmz)$", name, re.I):
        raise UploadRefused(
            "invalid",
            "zip_nested",
            f"zip member {name!r} is itself an archive (nested archives are refused)",
            f"不接受嵌套压缩包：{name}",
            {"member": name},
        )
