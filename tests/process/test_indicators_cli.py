"""`taskbot indicators`: the JSON of a new database, recording values and owners."""

from __future__ import annotations

import json

from tests.process.test_cli import db_config, isolated, run

__all__ = ["isolated"]  # the autouse fixture: an empty folder, T0 (2025-12-17) as now

EXPECTED = [
    (1, "残疾人家庭人均收入年均增长", "%", "与全区地区生产总值增长基本同步", "预期性", "level"),
    (2, "城乡残疾人职业技能及实用技术培训人数", "人", "750", "预期性", "cumulative"),
    (3, "符合条件的残疾人纳入最低生活保障比例", "%", "100", "约束性", "level"),
    (4, "困难残疾人生活补贴覆盖率", "%", "100", "约束性", "level"),
    (5, "重度残疾人护理补贴覆盖率", "%", "100", "约束性", "level"),
    (6, "残疾人城乡居民基本养老保险参保率", "%", "＞90", "预期性", "level"),
    (7, "残疾人城乡居民基本医疗保险参保率", "%", "＞95", "预期性", "level"),
    (8, "残疾儿童少年义务教育入学率", "%", "97", "预期性", "level"),
    (9, "残疾人基本康复服务覆盖率", "%", "85", "约束性", "level"),
    (10, "残疾人辅助器具适配率", "%", "85", "约束性", "level"),
    (11, "困难重度残疾人家庭无障碍改造覆盖率", "%", "100", "约束性", "level"),
]
KEYS = {"number", "name", "measure", "target", "attribute", "kind", "values", "light"}


def test_indicators_json_on_a_new_database(capsys, tmp_path, database_url):
    path = db_config(tmp_path, database_url)
    code, out, err = run(capsys, "--config", str(path), "indicators", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert all(set(row) == KEYS for row in rows)
    got = [
        (r["number"], r["name"], r["measure"], r["target"], r["attribute"], r["kind"]) for r in rows
    ]
    assert got == EXPECTED
    assert all(r["values"] == [] and r["light"] == "no_value" for r in rows)


def test_set_values_and_owner(capsys, tmp_path, database_url):
    path = db_config(tmp_path, database_url)
    base = ("--config", str(path), "indicators")
    # now is 2025-12-17: the last full year is 2024
    assert run(capsys, *base, "set", "6", "2024", "90", "--source", "区医保局")[0] == 0
    assert run(capsys, *base, "set", "2", "2021", "400", "--source", "区残联")[0] == 0
    assert run(capsys, *base, "set", "2", "2024", "400", "--source", "区残联")[0] == 0
    assert run(capsys, *base, "set", "8", "2024", "97.5%", "--source", "区教委")[0] == 0
    assert run(capsys, *base, "set", "9", "2024", "84.9", "--source", "区残联")[0] == 0
    assert run(capsys, *base, "set", "9", "2024", "85", "--source", "区残联（更正）")[0] == 0
    code, _, err = run(capsys, *base, "set", "9", "2026", "85", "--source", "x")
    assert code == 1 and "outside the plan's period" in err
    code, _, err = run(capsys, *base, "set", "9", "2024", "很多", "--source", "x")
    assert code == 2 and "not a number" in err
    code, _, err = run(capsys, *base, "set", "9", "2024", "85", "--source", " ")
    assert code == 1 and "source" in err
    code, out, err = run(capsys, *base, "owner", "6", "区医保局")
    assert code == 0, err
    code, _, err = run(capsys, *base, "owner", "6", "没有这个单位")
    assert code == 1 and "no unit named" in err
    code, out, _ = run(capsys, *base, "--json")
    rows = {r["number"]: r for r in json.loads(out)}
    # ＞90: 90 is not more than 90
    assert rows[6]["values"] == [{"year": 2024, "value": 90, "source": "区医保局"}]
    assert rows[6]["light"] == "not_met"
    # 400 + 400 = 800 ≥ 750
    assert rows[2]["light"] == "met"
    assert rows[8]["values"] == [{"year": 2024, "value": 97.5, "source": "区教委"}]
    assert rows[8]["light"] == "met"
    assert rows[9]["values"] == [{"year": 2024, "value": 85, "source": "区残联（更正）"}]
    assert rows[9]["light"] == "met"
    assert rows[1]["light"] == "no_value"
    code, out, _ = run(capsys, *base)
    assert code == 0
    assert "  6. 残疾人城乡居民基本养老保险参保率（%）  目标 ＞90  预期性" in out
    assert "owner: 区医保局" in out
