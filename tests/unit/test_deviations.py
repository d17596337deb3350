"""The deviations profile: which checks a known deviation breaks, and how strictly."""

from harness.targets.deviations import LOCALSTACK, Deviation, Profile, xfail_reason


def test_patterns_match_parametrized_ids_literally():
    profile = Profile("x", ("1.0",), (Deviation("d", "does", "aws", (
        "tests/e2e/test_a.py::test_b[png]", "tests/e2e/test_a.py::test_c[*]")),))
    assert profile.matching("tests/e2e/test_a.py::test_b[png]")
    assert not profile.matching("tests/e2e/test_a.py::test_b[p]"), "brackets are not a character set"
    assert not profile.matching("tests/e2e/test_a.py::test_b[gzip]")
    assert profile.matching("tests/e2e/test_a.py::test_c[image/png]")
    assert not profile.matching("tests/e2e/test_a.py::test_cc[x]")


def test_localstack_profile_names_each_broken_check_once_and_leaves_others_alone():
    broken = "tests/e2e/test_integrity.py::test_integrity_body_arrives_unchanged[every-byte-value]"
    assert [d.id for d in LOCALSTACK.matching(broken)] == ["binary-media-type-wildcard-never-matches"]
    utf8 = "tests/e2e/test_integrity.py::test_integrity_body_arrives_unchanged[utf8-multibyte]"
    assert LOCALSTACK.matching(utf8) == [], "a valid UTF-8 body survives a text conversion"
    assert LOCALSTACK.matching("tests/e2e/test_keys.py::test_keys_land_verbatim[space]") == []


def test_strict_only_on_measured_versions():
    assert LOCALSTACK.verified_on("4.13.1") and LOCALSTACK.verified_on("4.13.1.dev5")
    assert not LOCALSTACK.verified_on("4.14.0") and not LOCALSTACK.verified_on(None)
    deviation = LOCALSTACK.deviations[0]
    assert "remove it from harness/targets/deviations.py" in xfail_reason(LOCALSTACK, [deviation], "4.13.1")
    assert "unverified on 4.14.0" in xfail_reason(LOCALSTACK, [deviation], "4.14.0")


def test_endpoints_page_tables_list_every_deviation_and_assumption():
    from harness import paths
    from harness.targets.assumptions import ASSUMPTIONS

    page = (paths.project_root() / "docs" / "endpoints.md").read_text()
    missing = [d.id for d in LOCALSTACK.deviations if f"| `{d.id}` |" not in page]
    missing += [a for a in ASSUMPTIONS if f"| `{a}` |" not in page]
    assert not missing, f"docs/endpoints.md tables lack: {missing}"
