"""Protocol models and loader: built-ins validate, mistakes are refused with the key path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hepatrial.exceptions import ProtocolError
from hepatrial.protocol import BUILTIN_PROTOCOLS, load_protocol, protocol_from_dict


def _match_dict() -> dict[str, Any]:
    from importlib import resources

    text = (resources.files("hepatrial.protocol") / "builtin" / "match.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@pytest.mark.parametrize("name", BUILTIN_PROTOCOLS)
def test_builtins_load(name: str) -> None:
    protocol = load_protocol(name)
    assert protocol.id == name
    assert protocol.primary_endpoint.primary


def test_match_design() -> None:
    protocol = load_protocol("match")
    assert protocol.arm_ids == ("macrophage", "standard-care")
    assert protocol.ratio == (1, 1)
    assert protocol.allocation.method == "minimisation"
    assert protocol.allocation.p_best == 0.8
    assert [f.name for f in protocol.allocation.factors] == ["aetiology"]
    assert [v.day for v in protocol.visits] == [0, 7, 14, 21, 28, 90, 180, 360]
    primary = protocol.primary_endpoint
    assert (primary.kind, primary.estimator, primary.population) == (
        "change_from_baseline",
        "ancova",
        "itt",
    )
    assert primary.intercurrent_death == "exclude_and_count"
    assert [a.estimator for a in primary.additional] == ["t-test"]
    (macrophages,) = protocol.interventions_for("macrophage")
    assert macrophages.dose.maximum == 1e9 and not macrophages.dose.per_kg
    assert protocol.interventions_for("standard-care") == ()


def test_match_decompensation_endpoint() -> None:
    endpoint = next(e for e in load_protocol("match").endpoints if e.id == "time_to_decompensation")
    assert (endpoint.kind, endpoint.variable, endpoint.primary) == (
        "time_to_event",
        "decompensation",
        False,
    )
    assert (endpoint.estimator, endpoint.test, endpoint.population) == (
        "cumulative_incidence",
        "gray",
        "itt",
    )
    assert endpoint.time_horizon_days == 360
    assert endpoint.competing_events == ("death", "transplant")
    assert [(a.role, a.estimator) for a in endpoint.additional] == [("supportive", "fine_gray")]
    # the abstract says only "adverse clinical outcomes": the reading is marked as an assumption
    marked = {a.field: a.grade for a in endpoint.assumptions}
    assert marked == {
        "variable": "inferred",
        "competing_events": "inferred",
        "estimator": "unverified",
    }


def test_msc_design() -> None:
    protocol = load_protocol("msc-aclf")
    assert protocol.allocation.method == "permuted_blocks"
    assert protocol.allocation.block_sizes == (4, 6)
    (msc,) = protocol.interventions
    assert (msc.dose.minimum, msc.dose.maximum, msc.dose.per_kg) == (1e5, 1e6, True)
    assert (msc.count, msc.interval_days) == (4, 7)
    assert [v.day for v in protocol.visits] == [0, 7, 14, 21, 28, 56, 84, 168]
    primary = protocol.primary_endpoint
    assert (primary.estimator, primary.test, primary.ci.method) == (
        "kaplan_meier",
        "logrank",
        "plain",
    )
    assert primary.time_horizon_days == 168 and primary.competing_events == ("transplant",)
    infection = next(e for e in protocol.endpoints if e.id == "severe_infection")
    assert infection.estimator == "chisq"  # Pearson without Yates, as the published P fits


def test_realistic_design() -> None:
    protocol = load_protocol("realistic")
    assert protocol.ratio == (1, 1, 1)
    assert [f.name for f in protocol.allocation.factors] == ["site", "aetiology"]
    assert protocol.allocation.factors[0].levels is None  # sites are open-ended
    meld = next(c for c in protocol.eligibility.inclusion if c.id == "meld_range")
    assert meld.expression == "meld >= 11.0 and meld <= 15.5"


def test_uncertain_fields_are_marked() -> None:
    paths = {path for path, _ in load_protocol("match").all_assumptions()}
    assert "eligibility.meld_variant" in paths
    assert "allocation.p_best" in paths
    assert "eligibility.inclusion[age_range].expression" in paths
    assert "endpoints[delta_meld_d90].intercurrent_death" in paths
    assert "endpoints[time_to_decompensation].variable" in paths
    msc_paths = {path for path, _ in load_protocol("msc-aclf").all_assumptions()}
    assert "eligibility.inclusion[meld_range].expression" in msc_paths
    assert "allocation.method" in msc_paths


def test_unknown_key_is_refused_with_path_and_allowed_keys() -> None:
    data = _match_dict()
    data["arms"][0]["ration"] = 2
    with pytest.raises(ProtocolError) as error:
        protocol_from_dict(data, source="test.yaml")
    message = str(error.value)
    assert "test.yaml" in message
    assert "arms[0]: unknown key 'ration'" in message
    assert "allowed keys here: assumptions, id, label, ratio" in message


def test_unknown_nested_key_in_dose() -> None:
    data = _match_dict()
    data["interventions"][0]["dose"]["maximun"] = 1e9
    with pytest.raises(ProtocolError, match=r"interventions\[0\]\.dose: unknown key 'maximun'"):
        protocol_from_dict(data)


def test_unknown_variable_in_criterion_is_refused() -> None:
    data = _match_dict()
    data["eligibility"]["inclusion"][0]["expression"] = "meld_score >= 10"
    with pytest.raises(ProtocolError, match="reads meld_score, which is neither a declared fact"):
        protocol_from_dict(data)


def test_unsafe_expression_is_refused_at_load() -> None:
    data = _match_dict()
    data["eligibility"]["inclusion"][0]["expression"] = "__import__('os').getcwd() == 1"
    with pytest.raises(ProtocolError, match="call at column 1 is not allowed"):
        protocol_from_dict(data)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["endpoints"][0].update(primary=False),
            "exactly one endpoint must be marked primary",
        ),
        (
            lambda d: d["endpoints"][0].update(estimator="logrank"),
            "does not fit a change_from_baseline",
        ),
        (lambda d: d["endpoints"][0].update(visits=["d91"]), "unknown visit 'd91'"),
        (lambda d: d["endpoints"][0].pop("intercurrent_death"), "intercurrent_death"),
        (lambda d: d["visits"].reverse(), "strictly increasing day"),
        (lambda d: d["interventions"][0].update(arm="cells"), "unknown arm 'cells'"),
        (lambda d: d["allocation"].pop("p_best"), "p_best and imbalance are required"),
        (
            lambda d: d["interventions"][0]["dose"].update(target=2e9),
            "minimum <= target <= maximum",
        ),
        (lambda d: d["arms"][0].update(id="Macrophage"), "String should match pattern"),
        (
            lambda d: d["eligibility"]["assumptions"][0].update(field="meld_version"),
            "names field 'meld_version'",
        ),
        (
            lambda d: d["endpoints"][-1].update(estimator="kaplan_meier"),
            "use it with estimator: cumulative_incidence",
        ),
        (
            lambda d: d["endpoints"][-1].update(
                competing_events=[], estimator="kaplan_meier", test="logrank"
            ),
            "fine_gray needs competing_events",
        ),
        (lambda d: d["endpoints"][-1].update(estimator="gray"), "estimator 'gray' does not fit"),
        (lambda d: d["endpoints"][0].update(test="gray"), "test 'gray' does not fit"),
    ],
)
def test_inconsistent_protocols_are_refused(mutate: Any, message: str) -> None:
    data = copy.deepcopy(_match_dict())
    mutate(data)
    with pytest.raises(ProtocolError, match=message):
        protocol_from_dict(data)


def test_block_sizes_must_fit_the_ratio() -> None:
    data = _match_dict()
    data["arms"][0]["ratio"] = 2
    data["allocation"] = {"method": "permuted_blocks", "block_sizes": [3, 4]}
    with pytest.raises(ProtocolError, match="block size 4 is not a multiple of the ratio total 3"):
        protocol_from_dict(data)


def test_factor_levels_must_match_the_fact_of_the_same_name() -> None:
    data = _match_dict()
    data["allocation"]["factors"][0]["levels"] = ["alcohol", "nafld", "other"]
    with pytest.raises(ProtocolError, match="levels of the screening fact of the same name"):
        protocol_from_dict(data)


def test_band_factor_needs_a_numeric_variable() -> None:
    data = _match_dict()
    data["allocation"]["factors"] = [
        {"name": "cp", "band_of": "child_pugh_class", "cutpoints": [7], "levels": ["a", "b"]}
    ]
    with pytest.raises(ProtocolError, match="not a numeric screening variable"):
        protocol_from_dict(data)


def test_missing_key_is_named() -> None:
    data = _match_dict()
    del data["eligibility"]["lab_max_age_days"]
    with pytest.raises(
        ProtocolError, match="eligibility.lab_max_age_days: required key is missing"
    ):
        protocol_from_dict(data)


def test_yaml_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(_match_dict()), encoding="utf-8")
    assert load_protocol(path) == load_protocol("match")


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="neither a built-in name"):
        load_protocol(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("arms: [\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match="not valid YAML"):
        load_protocol(bad)


def test_protocol_is_frozen() -> None:
    protocol = load_protocol("match")
    with pytest.raises(Exception, match="frozen"):
        protocol.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "module",
    [
        "hepatrial.protocol.expressions",
        "hepatrial.protocol.loader",
        "hepatrial.protocol.schedule",
        "hepatrial.protocol.dosing",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
