"""ecgsk.datasets.snomed: the CinC 2021 SNOMED CT table shipped as package data, and load_cinc2021's names."""

import re

from ecgsk.datasets import load_cinc2021, name_snomed_codes, snomed_ct_cinc2021


def test_table_is_the_challenges_mapping():
    table = snomed_ct_cinc2021()
    assert len(table) == 133 and table["snomed_ct_code"].is_unique
    assert int(table["scored"].sum()) == 30
    assert table["snomed_ct_code"].str.fullmatch(r"\d+").all()
    assert (table["abbreviation"].str.len() > 0).all() and (table["name"].str.len() > 0).all()
    row = table.loc["164934002"]
    assert (row["abbreviation"], row["name"], bool(row["scored"])) == ("TAb", "t wave abnormal", True)
    # the challenge scores some pairs as one diagnosis; both directions are recorded
    assert table.loc["733534002", "scored_as"] == "164909002" and table.loc["164909002", "scored_as"] == "733534002"
    assert table.loc["164873001", ["abbreviation", "scored"]].tolist() == ["LVH", False]


def test_the_file_says_what_it_covers_and_its_source():
    from importlib.resources import files

    text = files("ecgsk.datasets").joinpath("data", "snomed_ct_cinc2021.csv").read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(True) if line.startswith("#"))
    assert "physionetchallenges/evaluation-2021" in header and "BSD 2-Clause" in header
    assert re.search(r"133 diagnoses", header)


def test_every_code_of_the_shared_cinc_records_is_named(data_dir):
    _, meta = load_cinc2021(data_dir / "cinc2021")
    table = snomed_ct_cinc2021()
    codes = {c for dx in meta["dx"] for c in dx}
    assert len(codes) >= 15 and codes <= set(table.index)
    for dx, abbr, name in zip(meta["dx"], meta["dx_abbreviation"], meta["dx_name"]):
        assert len(dx) == len(abbr) == len(name)
        assert abbr == [table.loc[c, "abbreviation"] for c in dx] and name == [table.loc[c, "name"] for c in dx]
    assert meta.loc[meta["record"] == "HR06002", "dx_abbreviation"].item() == ["SB", "NSR", "IRBBB"]


def test_unknown_codes_keep_their_code():
    assert name_snomed_codes(["426783006", "999"], field="name") == ["sinus rhythm", "999"]
