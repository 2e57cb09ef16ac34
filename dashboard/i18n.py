"""Labels of the board in Chinese and English, looked up by key.

Every visible label goes through :func:`text`, so a test can check that both languages
have every key. Codes of the data (statuses, record kinds and reasons, relations, warning
types and states) and the model's reasons are put in words by :mod:`risk.wording`, the
place the API and the command line use too; names and free text are shown as filed.
"""

from __future__ import annotations

from types import MappingProxyType

from risk.wording import LANGUAGES, Language

__all__ = ["LABELS", "LANGUAGES", "Language", "industry_label", "text"]

_LABELS: dict[str, tuple[str, str]] = {
    # header and navigation
    "app_title": ("企业信用风险监管看板", "Enterprise credit risk board"),
    "as_of": ("数据日期", "As of"),
    "language": ("语言", "Language"),
    "nav_overview": ("总览", "Overview"),
    "nav_warnings": ("风险预警", "Warnings"),
    "nav_enterprise": ("企业画像", "Enterprise"),
    "nav_extension": ("关联方延伸检查", "Extension check"),
    "nav_circles": ("担保圈", "Guarantee circles"),
    "nav_sampling": ("双随机抽查", "Sampling plan"),
    "not_found": ("页面不存在", "No such page"),
    "logout": ("退出", "Log out"),
    "role_regulator": ("监管", "regulator"),
    "role_analyst": ("分析", "analyst"),
    "role_bank": ("银行", "bank"),
    # login page
    "login_title": ("登录", "Log in"),
    "login_key": ("API 密钥", "API key"),
    "login_submit": ("登录", "Log in"),
    "login_hint": (
        "使用本机构的 API 密钥登录；监管与分析角色的密钥可使用看板。",
        "Log in with your organisation's API key; regulator and analyst keys open the board.",
    ),
    "login_wrong_key": ("密钥无法识别", "Key not recognised"),
    "login_role_refused": (
        "{role}角色的密钥无权访问看板（仅限监管与分析角色）。",
        "{role} keys have no access to the board (regulator and analyst keys only).",
    ),
    "no_snapshot": (
        "数据目录中没有快照。请先运行 creditgraph snapshot --as-of 日期。",
        "The data home holds no snapshot: run creditgraph snapshot --as-of DATE first.",
    ),
    "no_scores": (
        "该日期没有评分结果（creditgraph score）：等级与分数暂缺。",
        "No stored scores for this date (creditgraph score): grades and scores are missing.",
    ),
    "internal_note": (
        "风险分类为内部工具：不公开、不惩戒、不免抽。",
        "Grades are an internal tool: not published, not a punishment, no class exempt.",
    ),
    # overview
    "enterprises": ("企业数", "Enterprises"),
    "graded": ("已评级", "Graded"),
    "active_records": ("生效中的记录", "Active records"),
    "open_warnings": ("未关闭预警", "Open warnings"),
    "grade_by_region": ("各区域风险分类分布", "Grades by region"),
    "grade_by_industry": ("各行业风险分类分布", "Grades by industry"),
    "grade_by_month": ("风险分类逐月变化", "Grade mix month by month"),
    "records_by_kind": ("生效中的记录（按类型）", "Active records by kind"),
    "top_warnings": ("最新预警", "Top warnings"),
    "share": ("占比", "Share"),
    "count": ("数量", "Count"),
    "region": ("区域", "Region"),
    "industry": ("行业", "Industry"),
    "grade": ("风险分类", "Grade"),
    "month": ("月份", "Month"),
    # warnings
    "warning_type": ("预警类型", "Type"),
    "warning_state": ("状态", "State"),
    "event_on": ("事件日期", "Event date"),
    "subject": ("事由", "Subject"),
    "evidence": ("证据路径", "Evidence"),
    "disputed": ("异议中", "Disputed"),
    "grade_change": ("分类变化", "Grade change"),
    "worsened_only": ("只看分类变差", "Worsened grades only"),
    "all": ("全部", "All"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "no_registry": (
        "尚未生成预警：请运行预警任务（creditgraph warnings）。",
        "No warnings raised yet: run the warnings job (creditgraph warnings).",
    ),
    "click_to_open": ("点击一行打开企业画像", "Click a row to open the enterprise"),
    # enterprise
    "search": ("企业名称或统一社会信用代码", "Enterprise name or USCC"),
    "former_names": ("曾用名：", "Former names: "),
    "no_enterprise": ("没有该企业", "No such enterprise"),
    "status": ("状态", "Status"),
    "capital": ("注册资本", "Registered capital"),
    "established": ("成立日期", "Established"),
    "score": ("风险分数", "Score"),
    "rank": ("排名", "Rank"),
    "model_version": ("模型版本", "Model version"),
    "history": ("分数与分类历史", "Score and grade history"),
    "reasons": ("主要原因", "Main reasons"),
    "no_reasons": (
        "该企业的原因未保存（只为风险最高的一部分企业保存）。",
        "No reasons stored for this enterprise (they are kept for the riskiest share).",
    ),
    "records": ("信用记录", "Records"),
    "no_records": ("没有记录", "No records"),
    "kind": ("类型", "Kind"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "reason": ("原因", "Reason"),
    "authority": ("机关", "Authority"),
    "ego_graph": ("关系图（点击节点展开）", "Ties (click a node to expand)"),
    "ego_as_of": ("关系截至", "Ties as of"),
    "legend_ungraded": ("未评级企业", "Ungraded firm"),
    "legend_person": ("自然人", "Person"),
    "legend_name_only": (
        "仅知姓名的自然人（只属一家企业）",
        "Person known by name only (one firm's)",
    ),
    "legend_defaulted": ("已违约的担保", "Defaulted guarantee"),
    "legend_on_path": ("选中的路径", "Selected path"),
    "legend_more": ("还有 N 个：点击展开", "and N more: click to show"),
    "legend_money": ("金额单位：{unit}", "Amounts in {unit}"),
    "and_more": ("还有 {n} 个", "and {n} more"),
    "open_enterprise": ("打开企业画像", "Open enterprise"),
    "selected_node": ("已选节点", "Selected"),
    # extension
    "black_listed": ("黑名单企业", "Black-listed enterprise"),
    "pick_black_listed": ("选择黑名单企业（留空为全部名单）", "Pick one (empty: the whole list)"),
    "hops": ("跳数", "Hops"),
    "related": ("关联企业", "Related enterprise"),
    "path": ("关联路径", "Path"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_json": ("导出 JSON", "Export JSON"),
    "related_count": (
        "{n} 家关联企业，来自 {b} 家黑名单企业",
        "{n} related firms of {b} black-listed",
    ),
    "grid_first": (
        "；表中列出风险最高的 {n} 家，导出 CSV 可得全部",
        "; the grid lists the riskiest {n}, the CSV export has them all",
    ),
    "pick_to_draw": (
        "选择一家黑名单企业以查看关联路径图；点击一行高亮其路径。",
        "Pick a black-listed enterprise to draw its paths; click a row to highlight one.",
    ),
    # circles
    "circles": ("担保圈（按担保金额排序）", "Circles by exposure"),
    "members": ("成员", "Members"),
    "largest_member": ("注册资本最大的成员", "Largest member by capital"),
    "guarantees_n": ("担保笔数", "Guarantees"),
    "amount": ("担保金额（{unit}）", "Amount ({unit})"),
    "circle_title": (
        "#{rank} · 担保总额 {amount} {unit}",
        "#{rank} · guarantees of {amount} {unit}",
    ),
    "not_converted": ("+ {amounts} 未折算（无汇率）", "+ {amounts} not converted (no rate)"),
    "unconverted": ("未折算金额（无汇率）", "Not converted (no rate)"),
    "worst_grade": ("最差分类", "Worst grade"),
    "defaulted": ("已违约", "Defaulted"),
    "default_member": ("假设违约的成员", "Member that defaults"),
    "stress": ("压力测试（DebtRank）", "Stress (DebtRank)"),
    "distress": ("受损程度", "Distress"),
    "loss": ("估计损失（{unit}）", "Estimated loss ({unit})"),
    "total_loss": ("圈内估计总损失（{unit}）", "Estimated loss in the circle ({unit})"),
    "outside_hit": ("圈外受影响企业", "Firms hit outside the circle"),
    "outside_loss": ("损失 {amount} {unit}", "losing {amount} {unit}"),
    "no_circles": ("该日期没有担保圈", "No guarantee circles on this date"),
    "pick_circle": ("点击一个担保圈查看", "Click a circle to draw it"),
    # sampling
    "item": ("抽查事项", "Inspection item"),
    "preset": ("抽查比例规则", "Ratio rule"),
    "ratios": ("各类抽查比例", "Ratio per class"),
    "regions": ("区域（留空为全部）", "Regions (empty: all)"),
    "industries": ("行业（留空为全部）", "Industries (empty: all)"),
    "extension_hops": ("延伸检查跳数（留空不延伸）", "Extension hops (empty: none)"),
    "seed": ("随机种子（留空随机）", "Seed (empty: random)"),
    "inspectors": ("执法检查人员名录", "Inspector pool"),
    "no_inspectors": (
        "数据目录 inspectors/ 中没有检查人员名录（CSV 或 Parquet）。",
        "No inspector file in the data home's inspectors/ folder (CSV or Parquet).",
    ),
    "draw": ("抽取", "Draw"),
    "drawing": ("抽取中……", "Drawing…"),
    "plan": ("抽查计划", "Plan"),
    "past_plans": ("历史计划", "Past plans"),
    "replay": ("重放", "Replay"),
    "replay_ok": (
        "重放结果一致：同一对象库、同样的 {n} 个对象与检查人员。",
        "Replayed: same pool, same {n} objects and inspectors.",
    ),
    "pool": ("对象库", "Pool"),
    "eligible": ("可抽", "Eligible"),
    "forced": ("必查", "Forced"),
    "random": ("随机", "Random"),
    "drawn": ("抽中", "Drawn"),
    "selected": ("方式", "How"),
    "recusals": ("回避", "Recusals"),
    "inspector": ("检查人员", "Inspector"),
    "unassigned": ("检查人员不足的对象", "Objects without enough inspectors"),
    "publication_note": (
        "导出的公示文件不含风险分类、分数与必查原因。",
        "The exported publication holds no grades, scores or forced reasons.",
    ),
    "plan_line": ("{item} · 随机种子 {seed} · 抽取于 {at}", "{item} · seed {seed} · drawn {at}"),
    "plan_saved": (
        "计划 {plan} 已保存（种子 {seed}，用时 {s} 秒）",
        "Plan {plan} saved (seed {seed}, drawn in {s} s)",
    ),
    "plan_exists": (
        "该计划已存在：{plan}（种子 {seed}）。同一方案、对象库与检查人员抽出的就是它，"
        "未另存；下面是已记录的计划。",
        "This plan already exists: {plan} (seed {seed}). The same spec, pool and inspectors "
        "draw it; nothing new was saved. Below is the recorded plan.",
    ),
    "drawing_for": ("正在抽取……已用 {s} 秒", "Drawing… {s} s so far"),
    "draw_waiting": ("排队等待抽取……", "Waiting for a free worker…"),
    "id": ("代码", "Id"),
    "name": ("名称", "Name"),
    # ownership (股权穿透)
    "nav_ownership": ("股权穿透", "Ownership"),
    "open_ownership": ("股权穿透", "Ownership seen through"),
    "ownership_up": ("股东（向上穿透）", "Holders (up)"),
    "ownership_down": ("对外投资（向下穿透）", "Holdings (down)"),
    "ownership_depth": ("层数", "Layers"),
    "ownership_children": ("每层显示", "Shown per node"),
    "ownership_hover": (
        "{name}<br>{id}<br>直接持股 {stake}<br>综合持股 {integrated}",
        "{name}<br>{id}<br>direct stake {stake}<br>integrated {integrated}",
    ),
    "and_more_stake": ("及其他 {n} 个（合计 {stake}）", "and {n} more ({stake} in all)"),
    "controller": ("实际控制人", "Actual controller"),
    "beneficial_owners": ("受益所有人（≥25%）", "Beneficial owners (≥ 25 %)"),
    "no_beneficial_owners": ("无自然人综合持股达 25%", "No person holds 25 % or more"),
    "direct": ("直接", "direct"),
    "no_holders": ("没有已知持股比例的股东", "No holder with a known stake"),
    "no_holdings": ("没有对外投资", "Holds no stakes in other firms"),
    "nav_paths": ("路径", "Paths"),
    "paths_source": ("起点企业", "From enterprise"),
    "paths_target": ("终点企业", "To enterprise"),
    "paths_hops": ("最多步数", "Steps at most"),
    "paths_pick": ("请选择两家企业。", "Pick two enterprises."),
    "paths_none": (
        "{hops} 步之内没有经所选关系的路径。",
        "No path of at most {hops} steps over the kinds chosen.",
    ),
    "paths_found": ("{n} 条路径，最短的在前", "{n} path(s), the shortest first"),
    "path_steps": ("路径 {n}：{steps} 步", "Path {n}: {steps} step(s)"),
    "kind_legal_rep": ("法定代表人", "Legal representative"),
    "kind_officer": ("高管", "Officer"),
    "kind_shareholding": ("持股", "Shareholding"),
    "kind_guarantee": ("担保", "Guarantee"),
    "kind_branch": ("分支机构", "Branch"),
    "kind_suspected": (
        "疑似关系（共用地址、电话、邮箱）",
        "Suspected (shared address, phone, e-mail)",
    ),
    "shared_by": ("{n} 家企业共用", "shared by {n} firms"),
    "weak_evidence": ("弱证据：共用者众多", "weak evidence: many firms share it"),
    # enterprise page: change history
    "changes": ("变更记录（{n} 条，最新在前）", "Change history ({n} events, newest first)"),
    "no_changes": ("没有变更记录", "No changes recorded"),
    "changes_unavailable": (
        "变更记录暂不可用：{reason}",
        "The change history is not available now: {reason}",
    ),
    "date_unknown": ("日期不详", "date unknown"),
    # the enterprise's report (risk/report.py), opened from its page
    "report": ("打印报告", "Report"),
}

LABELS: MappingProxyType[str, tuple[str, str]] = MappingProxyType(_LABELS)
"""Key → (Chinese, English). Read-only: the board never changes its labels at run time."""


def text(key: str, lang: Language, **values: object) -> str:
    """The label ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``.

    An unknown key is shown as itself, so a missing label is visible rather than fatal.
    """
    pair = LABELS.get(key)
    if pair is None:
        return key
    label = pair[0] if lang == "zh" else pair[1]
    return label.format(**values) if values else label


_INDUSTRIES: dict[str, tuple[str, str]] = {
    "A": ("农林牧渔业", "Agriculture"),
    "B": ("采矿业", "Mining"),
    "C": ("制造业", "Manufacturing"),
    "D": ("电力热力燃气水", "Utilities"),
    "E": ("建筑业", "Construction"),
    "F": ("批发和零售业", "Wholesale, retail"),
    "G": ("交通运输仓储邮政", "Transport, storage"),
    "H": ("住宿和餐饮业", "Hotels, catering"),
    "I": ("信息技术服务", "IT services"),
    "J": ("金融业", "Finance"),
    "K": ("房地产业", "Real estate"),
    "L": ("租赁和商务服务", "Leasing, business services"),
    "M": ("科研和技术服务", "Research, technical services"),
    "N": ("水利环境公共设施", "Water, environment"),
    "O": ("居民服务修理", "Household services"),
    "P": ("教育", "Education"),
    "Q": ("卫生和社会工作", "Health, social work"),
    "R": ("文化体育娱乐", "Culture, sports"),
    "S": ("公共管理社会组织", "Public administration"),
    "T": ("国际组织", "International organisations"),
}
"""Sections of GB/T 4754-2017 (国民经济行业分类 门类), short names."""


def industry_label(section: str | None, lang: Language) -> str:
    """``C 制造业`` / ``C Manufacturing``; the bare code when the section is unknown."""
    if not section:
        return "—"
    pair = _INDUSTRIES.get(section)
    if pair is None:
        return section
    return f"{section} {pair[0] if lang == 'zh' else pair[1]}"
