"""The API answers reasons and evidence in the language of ``Accept-Language`` (English by
default), worded by risk/wording.py like the board and the command line."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from test_api import REGULATOR, graded_with_reasons, ok

from risk.wording import reason_sentence

CHINESE = {**REGULATOR, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
ENGLISH_WORD = re.compile(r"\b[a-z]{3,}\b")
"""A lower-case English word (ids and codes here are upper-case or digits)."""
STORED = re.compile(r"\[|: grade |: legal rep |: controller |^circle of ")
"""Evidence as stored: a path in relation types, or what changed at the firm, in English."""


def test_grade_reasons_follow_accept_language(api_client: TestClient) -> None:
    firm = graded_with_reasons(api_client)
    english = ok(api_client.get(f"/v1/enterprises/{firm}/grade", headers=REGULATOR))
    chinese = ok(api_client.get(f"/v1/enterprises/{firm}/grade", headers=CHINESE))
    assert english["reasons"] and len(english["reasons"]) == len(chinese["reasons"])
    for en, zh in zip(english["reasons"], chinese["reasons"], strict=True):
        assert en["feature"] == zh["feature"] and en["value"] == zh["value"]
        assert en["sentence"] == reason_sentence(en["feature"], en["value"], "en")
        assert zh["sentence"] == reason_sentence(zh["feature"], zh["value"], "zh")
        assert not ENGLISH_WORD.search(zh["sentence"]), zh["sentence"]
        for item in zh["evidence"]:
            assert not ENGLISH_WORD.search(item["text"]), item["text"]
    # The profile and the history carry the same words.
    profile = ok(api_client.get(f"/v1/enterprises/{firm}", headers=CHINESE))
    assert profile["grade"]["reasons"] == chinese["reasons"]
    history = ok(api_client.get(f"/v1/enterprises/{firm}/grades", headers=CHINESE))
    assert any(h["reasons"] == chinese["reasons"] for h in history)
    # An unknown language, or none, is English.
    other = {**REGULATOR, "Accept-Language": "fr-FR"}
    assert ok(api_client.get(f"/v1/enterprises/{firm}/grade", headers=other)) == english


def test_warning_evidence_in_words_follows_accept_language(api_client: TestClient) -> None:
    listed = ok(api_client.get("/v1/warnings?limit=50", headers=CHINESE))["items"]
    assert listed
    for item in listed:
        assert "-[" not in item["evidence_text"] and "]-" not in item["evidence_text"]
        assert not ENGLISH_WORD.search(item["evidence_text"]), item["evidence_text"]
        assert STORED.search(item["evidence"]), item  # the stored path or change stays
    english = ok(api_client.get("/v1/warnings?limit=50", headers=REGULATOR))["items"]
    assert [w["evidence"] for w in english] == [w["evidence"] for w in listed]
    assert all(ENGLISH_WORD.search(w["evidence_text"]) for w in english)
    detail = ok(api_client.get(f"/v1/warnings/{listed[0]['id']}", headers=CHINESE))
    assert detail["warning"]["evidence_text"] == listed[0]["evidence_text"]
