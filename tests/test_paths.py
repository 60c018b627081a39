import io
import os
import tarfile

import pytest

from fourdpqa.paths import UnsafePathError, resolve_inside, safe_extract


def test_paths_inside_roots_resolve(tmp_path):
    (tmp_path / "data" / "raw").mkdir(parents=True)
    assert resolve_inside("data/raw", ["data"], base=tmp_path) == (tmp_path / "data" / "raw").resolve()


@pytest.mark.parametrize("bad", ["data/../secrets", "/etc", "data/link_out"])
def test_escapes_are_refused(tmp_path, bad):
    (tmp_path / "data").mkdir()
    (tmp_path / "secrets").mkdir()
    os.symlink(tmp_path / "secrets", tmp_path / "data" / "link_out")
    with pytest.raises(UnsafePathError, match="outside the allowed roots"):
        resolve_inside(bad, ["data"], base=tmp_path)


def _tar_with(tmp_path, name, *, link=None):
    path = tmp_path / "a.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo(name)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
        else:
            info.size = 2
            tar.addfile(info, io.BytesIO(b"ok"))
    return path


def test_archive_members_cannot_escape(tmp_path):
    assert safe_extract(_tar_with(tmp_path, "sub/f.txt"), tmp_path / "out")[0].read_text() == "ok"
    for name, link in (("../evil.txt", None), ("/abs.txt", None), ("l", "../../etc/passwd")):
        with pytest.raises(UnsafePathError):
            safe_extract(_tar_with(tmp_path, name, link=link), tmp_path / "out2")
    assert not (tmp_path / "evil.txt").exists()
