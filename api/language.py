"""The language of an answer's words: the ``Accept-Language`` header, Chinese or English.

Reason sentences, their evidence and warning evidence come out in the language the client
prefers (``Accept-Language: zh-CN`` → Chinese; anything else, or no header, English), put
in words by :mod:`risk.wording`, the place the board and the command line use too. Codes,
ids and field names stay as they are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from risk.wording import Language, language


def accept_language(
    accept_language: Annotated[
        str | None,
        Header(
            description="zh for reasons and evidence in Chinese, en (the default) in English",
            examples=["zh-CN,zh;q=0.9,en;q=0.8"],
        ),
    ] = None,
) -> Language:
    """The preferred of zh and en in the header; English without one."""
    return language(accept_language, "en")


AnswerLanguage = Annotated[Language, Depends(accept_language)]
