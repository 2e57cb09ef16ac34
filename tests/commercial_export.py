"""A company-relations export of a commercial data provider, made up and seeded, in the
contract's columns: the test data set of tests/test_commercial_export.py (issue 16, Proof).

Shaped like what a provider gives for a few thousand Chinese SMEs: enterprises keyed by USCC
or, without one, by the provider's own id (``SRC:provider:…``); regions as Chinese names
(浙江省宁波市海曙区, 宁波市) or codes, industries as Chinese names or division codes, dates in
the forms exports mix (2019-03-01, 2019/3/1, 20190301, 2019年3月1日, Excel date cells),
registered and paid-in capital; persons without ID numbers, some with the provider's
person id, most by name only (legal representatives, officers, person shareholders);
enterprise shareholders, some with a percentage and some with a subscribed amount only;
branches; lawsuits, enforcements and dishonest-debtor entries. Enterprises and
shareholdings come as Excel workbooks, the rest as CSV saved by Excel (BOM, CRLF).

About 5 % of some optional values are dirty, as in real exports (:data:`DIRTY`); three
enterprise rows carry a mistyped USCC, so they and the rows naming them are rejected.
The outcomes (bankruptcy 破产 and revocation 吊销) come as a labels file; firms with a
high latent risk have them, and leave traces first (suits as defendant, enforcements,
dishonest-debtor entries, little paid-in capital, risky owners), so a model can learn.

Everything is drawn from one seeded generator: the same seed writes the same bytes (but
the xlsx timestamps, which openpyxl sets from the clock).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from graph_model.identifiers import USCC_ALPHABET, uscc_check_char

FIRST_DAY = dt.date(2023, 7, 1)
"""Outcomes fall between these days."""
LAST_DAY = dt.date(2025, 9, 30)

DIRTY: dict[tuple[str, str], tuple[str, ...]] = {
    ("enterprises.xlsx", "region_code"): ("火星市", "宁波市不存在区", "999999"),
    ("enterprises.xlsx", "industry"): ("外星贸易", "ZZ", "999"),
    ("enterprises.xlsx", "registered_capital"): ("一百万", "500万元", "-1"),
    ("enterprises.xlsx", "established_on"): ("2019-02-30", "2018/13/1", "2017年2月29日"),
    ("enforcements.csv", "end"): ("2024-02-30", "20241301", "2023/4/31"),
}
"""(file, field) → the dirty values planted there, one of them in about 5 % of the rows
(of enforcements, of those with an end): each empties its field with a warning and the
row loads. Dates that are part of a row's key (an officer's ``valid_from``) are never
dirty here: a bad one rejects its row (docs/data-contract.md)."""
DIRTY_SHARE = 0.05

REGIONS = (
    # (what the export says, the code it means)
    ("浙江省宁波市海曙区", "330203"),
    ("宁波市海曙区", "330203"),
    ("海曙区", "330203"),
    ("浙江省宁波市江北区", "330205"),
    ("宁波市北仑区", "330206"),
    ("镇海区", "330211"),
    ("浙江省宁波市鄞州区", "330212"),
    ("330212", "330212"),
    ("330204", "330212"),  # 江东区, merged into 鄞州区 in 2016: a retired code
    ("慈溪市", "330282"),
    ("余姚市", "330281"),
    ("宁波市", "330200"),
)
AREAS = {
    "330200": "浙江省宁波市",
    "330203": "浙江省宁波市海曙区",
    "330205": "浙江省宁波市江北区",
    "330206": "浙江省宁波市北仑区",
    "330211": "浙江省宁波市镇海区",
    "330212": "浙江省宁波市鄞州区",
    "330281": "浙江省余姚市",
    "330282": "浙江省慈溪市",
}
STREETS = ("中山西路", "解放南路", "江东北路", "天童南路", "新河路", "明州路", "长江路")
INDUSTRIES = (
    ("批发业", "F"),
    ("零售业", "F"),
    ("制造业", "C"),
    ("C36", "C"),
    ("汽车制造业", "C"),
    ("通用设备制造业", "C"),
    ("51", "F"),
    ("软件和信息技术服务业", "I"),
    ("建筑业", "E"),
    ("道路运输业", "G"),
    ("商务服务业", "L"),
    ("F", "F"),
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
TRADE_NAMES = "甬鑫恒泰华宏信达安盛隆兴宝丰利源博远嘉诚新锐金海天成永"
BUSINESS = ("贸易", "机械", "电子", "科技", "建设", "物流", "服饰", "塑业", "五金", "食品")
ROLES = ("director", "supervisor", "manager")
COURTS = {
    # region code → (the court's code in case numbers, its name)
    "330203": ("0203", "宁波市海曙区人民法院"),
    "330205": ("0205", "宁波市江北区人民法院"),
    "330206": ("0206", "宁波市北仑区人民法院"),
    "330211": ("0211", "宁波市镇海区人民法院"),
    "330281": ("0281", "余姚市人民法院"),
    "330282": ("0282", "慈溪市人民法院"),
}
CITY_COURT = ("0212", "宁波市鄞州区人民法院")


@dataclass(frozen=True)
class Firm:
    """One enterprise of the export."""

    id: str
    name: str
    region: str
    capital: float
    established: dt.date
    risk: float
    group: int
    outcome: tuple[dt.date, str] | None = None


@dataclass
class Export:
    """What :func:`write_export` wrote, and what a load of it must show."""

    folder: Path
    labels: Path
    firms: list[Firm]
    rows: dict[str, int] = field(default_factory=dict)
    """Data rows per file."""
    mistyped: tuple[tuple[str, int], ...] = ()
    """(mistyped USCC, its Excel row) of the enterprise rows that must be rejected."""
    naming_mistyped: Counter[str] = field(default_factory=Counter)
    """Rows per file that name a mistyped enterprise (rejected with it)."""
    dirty: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    """(file, field) → the lines holding a dirty value."""
    name_only: Counter[str] = field(default_factory=Counter)
    """Rows per file naming a person by name only."""
    name_only_persons: int = 0
    """Distinct (enterprise, name) pairs of name-only persons among the loadable rows."""
    source_persons: int = 0
    """Persons of persons.csv (keyed by the provider's person id)."""
    labelled: Counter[str] = field(default_factory=Counter)
    """Outcome rows per label of the labels file."""
    labels_unknown: int = 0
    """Outcome rows of enterprises the export does not hold."""
    stakes: Counter[str] = field(default_factory=Counter)
    """Loadable shareholding rows by how their stake comes: ``given`` (a percentage),
    ``derived`` (subscribed amount / a known registered capital) or ``unknown`` (the
    target's capital is dirty, so nothing to derive it from)."""
    expected: dict[str, dict[str, object]] = field(default_factory=dict)
    """Per loadable enterprise, what the store must hold of its region_code, industry,
    registered_capital and established_on (None where the export's value is dirty)."""


class _Draw:
    """The seeded random choices of one export."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def pick(self, items: tuple | list | str) -> object:
        return items[int(self.rng.integers(len(items)))]

    def day(self, first: dt.date, last: dt.date) -> dt.date:
        span = max((last - first).days, 0)
        return first + dt.timedelta(days=int(self.rng.integers(span + 1)))

    def person_name(self) -> str:
        given = "".join(str(self.pick(GIVEN)) for _ in range(int(self.rng.integers(1, 3))))
        return f"{self.pick(SURNAMES)}{given}"

    def date_text(self, day: dt.date) -> str:
        """A day written the way exports mix them."""
        form = int(self.rng.integers(4))
        if form == 0:
            return day.isoformat()
        if form == 1:
            return f"{day.year}/{day.month}/{day.day}"
        if form == 2:
            return f"{day:%Y%m%d}"
        return f"{day.year}年{day.month}月{day.day}日"


def _uscc(draw: _Draw, region: str) -> str:
    org = "MA" + "".join(str(draw.pick(USCC_ALPHABET)) for _ in range(7))
    body = f"91{region}{org}"
    return body + uscc_check_char(body)


def _mistype(uscc: str) -> str:
    """The USCC with its check character changed: what a typing slip gives."""
    wrong = USCC_ALPHABET[(USCC_ALPHABET.index(uscc[-1]) + 7) % len(USCC_ALPHABET)]
    return uscc[:-1] + wrong


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28))


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> int:
    """A CSV as Excel saves 'CSV UTF-8': a BOM and CRLF line ends."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return len(rows)


def _write_xlsx(path: Path, sheet: str, header: list[str], rows: list[list[object]]) -> int:
    """A workbook whose first sheet holds the table and a second one notes, as exports do."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    notes = book.create_sheet("导出说明")
    notes.append(["本表由数据服务商导出，仅供测试"])
    book.save(path)
    return len(rows)


def write_export(folder: Path, labels: Path, firms: int = 3_000, seed: int = 16) -> Export:
    """Write the export's files into ``folder`` and its outcomes to ``labels``."""
    draw = _Draw(seed)
    rng = draw.rng
    folder.mkdir(parents=True, exist_ok=True)
    export = Export(folder, labels, [])

    # -- enterprises: groups of a parent and its subsidiaries share part of their risk ------
    group_risk: list[float] = []
    made: list[Firm] = []
    used_names: set[str] = set()
    while len(made) < firms:
        group = len(group_risk)
        group_risk.append(float(rng.beta(1.2, 6)))
        for _ in range(int(rng.choice([1, 1, 1, 2, 3, 4]))):
            region_text, code = REGIONS[int(rng.integers(len(REGIONS)))]
            while True:
                name = (
                    f"宁波{draw.pick(TRADE_NAMES)}{draw.pick(TRADE_NAMES)}"
                    f"{draw.pick(BUSINESS)}有限公司"
                )
                if name not in used_names:
                    used_names.add(name)
                    break
            if rng.random() < 0.1:
                firm_id = f"SRC:provider:{rng.integers(16**12):012x}"
            else:
                firm_id = _uscc(draw, code if code != "330204" else "330212")
            risk = 0.5 * group_risk[group] + 0.5 * float(rng.beta(1.2, 6))
            capital = float(rng.choice([10, 50, 100, 200, 500, 1000, 3000])) * 10_000
            founded = draw.day(dt.date(2003, 1, 1), dt.date(2021, 12, 31))
            made.append(Firm(firm_id, name, region_text, capital, founded, risk, group))
    made = made[:firms]
    # Outcomes: the riskier a firm, the likelier a bankruptcy or a revocation.
    chance = np.array([f.risk for f in made]) * 0.55
    for k, firm in enumerate(made):
        if rng.random() < chance[k]:
            day = draw.day(FIRST_DAY, LAST_DAY)
            label = "吊销" if rng.random() < 0.5 else "破产"
            made[k] = Firm(**{**firm.__dict__, "outcome": (day, label)})
    export.firms = made

    mistyped_at = {int(k) for k in rng.choice(np.arange(10, firms), size=3, replace=False)}
    mistyped_ids: dict[str, str] = {}
    for k in sorted(mistyped_at):
        firm = made[k]
        if firm.id.startswith("SRC:"):
            firm = made[k] = Firm(**{**firm.__dict__, "id": _uscc(draw, "330203")})
        mistyped_ids[firm.id] = _mistype(firm.id)

    def dirty(file: str, column: str, line: int, clean: object) -> object:
        values = DIRTY.get((file, column))
        if values is None or rng.random() >= DIRTY_SHARE:
            return clean
        export.dirty.setdefault((file, column), []).append(line)
        return draw.pick(values)

    file = "enterprises.xlsx"
    header = ["id", "name", "region_code", "industry", "registered_capital", "paid_in_capital",
              "established_on", "status", "deregistered_on", "address"]  # fmt: skip
    rows: list[list[object]] = []
    mistyped: list[tuple[str, int]] = []
    for k, firm in enumerate(made):
        line = k + 2  # Excel row: the header is row 1
        shown_id = mistyped_ids.get(firm.id, firm.id)
        if shown_id != firm.id:
            mistyped.append((shown_id, line))
        paid_share = float(rng.beta(2, 2)) * (1 - firm.risk)
        paid: object = round(firm.capital * paid_share, -3) if rng.random() < 0.7 else None
        # Excel date cells for some rows, text in the mixed forms for the others.
        established: object = (
            dt.datetime.combine(firm.established, dt.time())
            if rng.random() < 0.3
            else draw.date_text(firm.established)
        )
        status, ended = "存续", None
        if firm.outcome is not None and firm.outcome[1] == "吊销":
            status, ended = "吊销", draw.date_text(firm.outcome[0])
        industry, section = INDUSTRIES[int(rng.integers(len(INDUSTRIES)))]
        given = {
            "region_code": (firm.region, dict(REGIONS)[firm.region]),
            "industry": (industry, section),
            "registered_capital": (int(firm.capital), firm.capital),
            "established_on": (established, firm.established),
        }
        written = {column: dirty(file, column, line, text) for column, (text, _) in given.items()}
        if shown_id == firm.id:
            export.expected[firm.id] = {
                column: stored if written[column] is given[column][0] else None
                for column, (_, stored) in given.items()
            }
        rows.append([
            shown_id,
            firm.name,
            written["region_code"],
            written["industry"],
            written["registered_capital"],
            paid,
            written["established_on"],
            {"存续": "active", "吊销": "revoked"}[status],
            ended,
            f"{AREAS[dict(REGIONS)[firm.region]]}{draw.pick(STREETS)}{int(rng.integers(1, 999))}号",
        ])  # fmt: skip
    export.mistyped = tuple(mistyped)
    export.rows[file] = _write_xlsx(folder / file, "企业基本信息", header, rows)

    # -- persons with the provider's person id; the rest are known by name only ------------
    people = [(f"SRC:provider:p{k:06d}", draw.person_name()) for k in range(900)]
    export.rows["persons.csv"] = _write_csv(
        folder / "persons.csv", ["source_id", "name"], [list(p) for p in people]
    )
    export.source_persons = len(people)
    # A person with a provider id serves several firms of a group (and sometimes others).
    group_people: dict[int, list[tuple[str, str]]] = {}
    for firm in made:
        if firm.group not in group_people:
            count = int(rng.integers(1, 3))
            chosen = rng.choice(len(people), size=count, replace=False)
            group_people[firm.group] = [people[int(i)] for i in chosen]

    named: set[tuple[str, str]] = set()

    def person_columns(firm: Firm) -> tuple[str | None, str | None]:
        """(source id, name) of a person a row names: a group's person with a provider
        id, or a name only."""
        if rng.random() < 0.35:
            known = group_people[firm.group]
            return known[int(rng.integers(len(known)))][0], None
        return None, draw.person_name()

    def count_person(file: str, firm: Firm, name: str | None) -> None:
        if name is not None:
            export.name_only[file] += 1
            if firm.id not in mistyped_ids:
                named.add((firm.id, name))

    def names_mistyped(file: str, *ids: str) -> None:
        if any(i in mistyped_ids for i in ids):
            export.naming_mistyped[file] += 1

    def firm_ref(firm: Firm) -> str:
        return mistyped_ids.get(firm.id, firm.id)

    legal_rows: list[list[object]] = []
    officer_rows: list[list[object]] = []
    for firm in made:
        source_id, person = person_columns(firm)
        count_person("legal_reps.csv", firm, person)
        legal_rows.append([source_id, person, firm_ref(firm), draw.date_text(firm.established)])
        names_mistyped("legal_reps.csv", firm.id)
        roles = rng.choice(len(ROLES), size=int(rng.integers(1, 4)), replace=False)
        for role in sorted(int(r) for r in roles):
            source_id, person = person_columns(firm)
            count_person("officers.csv", firm, person)
            start = draw.date_text(draw.day(firm.established, dt.date(2023, 12, 31)))
            officer_rows.append([source_id, person, firm_ref(firm), ROLES[role], start])
            names_mistyped("officers.csv", firm.id)
    export.rows["legal_reps.csv"] = _write_csv(
        folder / "legal_reps.csv",
        ["person_id_number", "person_name", "enterprise_id", "valid_from"],
        legal_rows,
    )
    export.rows["officers.csv"] = _write_csv(
        folder / "officers.csv",
        ["person_id_number", "person_name", "enterprise_id", "role", "valid_from"],
        officer_rows,
    )

    # -- shareholdings: a group's parent holds its subsidiaries; persons hold the rest ------
    holding_rows: list[list[object]] = []
    parents: dict[int, Firm] = {}
    for firm in made:
        parent = parents.setdefault(firm.group, firm)
        holders: list[tuple[str, object, object]] = []  # (type, id, name)
        if parent is not firm:
            holders.append(("enterprise", parent.id, None))
        wanted = int(rng.integers(1, 4))
        while len(holders) < wanted:
            source_id, person = person_columns(firm)
            if all((source_id, person) != (h[1], h[2]) for h in holders):
                holders.append(("person", source_id, person))
                count_person("shareholdings.xlsx", firm, person)
        cuts = np.sort(rng.choice(np.arange(5, 100, 5), size=len(holders) - 1, replace=False))
        stakes = np.diff(np.concatenate([[0], cuts, [100]]))
        for (kind, holder_id, holder_name), stake in zip(holders, stakes, strict=True):
            subscribed = firm.capital * float(stake) / 100
            percent = rng.random() < 0.5  # else the stake is derived from the amount subscribed
            shown_holder = mistyped_ids.get(str(holder_id), holder_id)
            if firm.id not in mistyped_ids and shown_holder == holder_id:
                known = export.expected[firm.id]["registered_capital"] is not None
                export.stakes["given" if percent else "derived" if known else "unknown"] += 1
            holding_rows.append([
                kind, shown_holder, holder_name, firm_ref(firm),
                int(stake) if percent else None, int(subscribed),
                int(subscribed * float(rng.beta(2, 2))) if rng.random() < 0.5 else None,
                draw.date_text(firm.established),
            ])  # fmt: skip
            names_mistyped("shareholdings.xlsx", firm.id, str(holder_id or ""))
    export.rows["shareholdings.xlsx"] = _write_xlsx(
        folder / "shareholdings.xlsx",
        "股东信息",
        [
            "holder_type",
            "holder_id",
            "holder_name",
            "enterprise_id",
            "share_percent",
            "subscribed_amount",
            "paid_in_amount",
            "valid_from",
        ],
        holding_rows,
    )

    # -- branches: some firms are branches of another firm of the export -------------------
    branch_rows: list[list[object]] = []
    for k in rng.choice(len(made), size=firms // 25, replace=False):
        branch, head = made[int(k)], made[int(rng.integers(len(made)))]
        if branch is head or branch.id in mistyped_ids or head.id in mistyped_ids:
            continue
        branch_rows.append([head.id, branch.id, draw.date_text(branch.established)])
    export.rows["branches.csv"] = _write_csv(
        folder / "branches.csv", ["head_office_id", "branch_id", "valid_from"], branch_rows
    )

    # -- court records: the risky leave traces before their outcome ------------------------
    suits: list[list[object]] = []
    enforcements: list[list[object]] = []
    dishonest: list[list[object]] = []
    case = 1000
    for firm in made:
        if firm.id in mistyped_ids:
            continue
        court, court_name = COURTS.get(dict(REGIONS)[firm.region], CITY_COURT)
        if firm.outcome is not None:
            end, defended = firm.outcome[0], int(rng.poisson(3))
        else:
            end, defended = LAST_DAY, int(rng.poisson(0.25 + 2 * firm.risk))
        first = max(_months_before(end, 18), firm.established, dt.date(2022, 1, 1))
        for party, count in (("defendant", defended), ("plaintiff", int(rng.poisson(0.4)))):
            for _ in range(count):
                case += 1
                day = draw.day(first, end - dt.timedelta(days=20))
                amount = int(rng.lognormal(12, 1)) if rng.random() < 0.8 else None
                cause = draw.pick(("买卖合同纠纷", "借款合同纠纷", "劳动争议", "租赁合同纠纷"))
                suits.append([
                    f"（{day.year}）浙{court}民初{case}号", firm.id, draw.date_text(day),
                    party, cause, amount, court_name,
                ])  # fmt: skip
        p_enforced = 0.6 if firm.outcome else 0.02 + 0.2 * firm.risk
        if rng.random() < p_enforced:
            case += 1
            day = draw.day(max(_months_before(end, 12), first), end - dt.timedelta(days=30))
            closed: object = None
            if rng.random() < 0.5:  # a case closed (结案) some months later
                closed = draw.date_text(day + dt.timedelta(days=int(rng.integers(60, 400))))
                closed = dirty("enforcements.csv", "end", len(enforcements) + 2, closed)
            enforcements.append(
                [
                    f"（{day.year}）浙{court}执{case}号",
                    firm.id,
                    draw.date_text(day),
                    closed,
                    int(rng.lognormal(12, 1)),
                    court_name,
                ]
            )
            if rng.random() < (0.5 if firm.outcome else 0.1):
                case += 1
                later = draw.day(day, end - dt.timedelta(days=10))
                dishonest.append(
                    [
                        f"（{later.year}）浙{court}执{case}号",
                        firm.id,
                        draw.date_text(later),
                        int(rng.lognormal(12, 1)),
                        court_name,
                    ]
                )
    export.rows["lawsuits.csv"] = _write_csv(
        folder / "lawsuits.csv",
        ["record_no", "enterprise_id", "start", "role", "cause", "amount", "authority"],
        suits,
    )
    export.rows["enforcements.csv"] = _write_csv(
        folder / "enforcements.csv",
        ["record_no", "enterprise_id", "start", "end", "amount", "authority"],
        enforcements,
    )
    export.rows["dishonest_debtors.csv"] = _write_csv(
        folder / "dishonest_debtors.csv",
        ["record_no", "enterprise_id", "start", "amount", "authority"],
        dishonest,
    )
    export.name_only_persons = len(named)

    # -- the outcomes, as the user keeps them: a labels file with a note column ------------
    outcome_rows: list[list[object]] = []
    for firm in made:
        if firm.outcome is not None and firm.id not in mistyped_ids:
            day, label = firm.outcome
            outcome_rows.append([firm.id, draw.date_text(day), label, "公告"])
            export.labelled[label] += 1
    for _ in range(4):  # outcomes of firms the export does not hold
        outcome_rows.append(
            [_uscc(draw, "330206"), draw.date_text(draw.day(FIRST_DAY, LAST_DAY)), "破产", ""]
        )
        export.labelled["破产"] += 1
        export.labels_unknown += 1
    _write_csv(labels, ["enterprise_id", "event_date", "label", "备注"], outcome_rows)
    return export
