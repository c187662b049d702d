import pytest

from pubdata.store import files


def test_a_failed_load_leaves_no_staging_and_no_version(tmp_path):
    with pytest.raises(RuntimeError), files.staging(tmp_path, "r1") as staged:
        (staged / files.DATA_FILE).write_bytes(b"partial")
        raise RuntimeError("killed")
    assert list(files.resource_dir(tmp_path, "r1").iterdir()) == []


def test_publish_renames_the_complete_staging_directory(tmp_path):
    with files.staging(tmp_path, "r1") as staged:
        (staged / files.DATA_FILE).write_bytes(b"rows")
        target = files.version_dir(tmp_path, "r1", 1)
        files.publish(staged, target)
    assert (target / files.DATA_FILE).read_bytes() == b"rows"
    assert [p.name for p in files.resource_dir(tmp_path, "r1").iterdir()] == ["v1"]


def test_an_unpublished_leftover_version_directory_is_replaced(tmp_path):
    leftover = files.version_dir(tmp_path, "r1", 2)
    leftover.mkdir(parents=True)
    (leftover / files.DATA_FILE).write_bytes(b"from a crashed load")
    with files.staging(tmp_path, "r1") as staged:
        (staged / files.DATA_FILE).write_bytes(b"good")
        files.publish(staged, leftover)
    assert (leftover / files.DATA_FILE).read_bytes() == b"good"


def test_sweep_removes_staging_left_by_a_killed_process(tmp_path):
    stale = files.resource_dir(tmp_path, "r1") / ".staging-dead"
    stale.mkdir(parents=True)
    (files.resource_dir(tmp_path, "r1") / "v1").mkdir()
    assert files.sweep_staging(tmp_path, "r1") == 1
    assert [p.name for p in files.resource_dir(tmp_path, "r1").iterdir()] == ["v1"]


@pytest.mark.parametrize("bad", ["", "../etc", ".staging-x", "a/b"])
def test_resource_ids_cannot_escape_the_store(tmp_path, bad):
    with pytest.raises(ValueError):
        files.resource_dir(tmp_path, bad)
