"""The 总结评估 draft (中期评估 before the plan's period ends) as a .docx, with python-docx.

Built from a `jobs.evaluation.Evaluation`; every figure in it comes from there. 公文 layout
(GB/T 9704 as offices use it): A4, margins 37/35/28/26 mm, lines at a fixed 28 pt; the title
in 方正小标宋简体 二号 centred, a line with the plan's title and 文号, the headings
一、总体完成情况 二、分项完成情况 三、主要指标完成情况 四、存在的问题 五、下一步打算 in 黑体
三号, each task's heading in 楷体_GB2312 三号, the body in 仿宋_GB2312 三号, tables in
仿宋_GB2312 小四. East Asian font names are set with w:eastAsia so Word uses them where
installed (and its substitutes elsewhere). 三 (the plan's indicators are not recorded yet), 四
and 五 are placeholders marked 【请协调员填写：……】 and highlighted.

The document's wording is kept here (it is the document, like the ledger's headers in
`office.ledger`); the status names are passed in (`bot.texts.STATUS_LABEL`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from jobs.evaluation import ChangeBasis, Evaluation, Rate, TaskOutcome
from jobs.indicators import assessed_year, format_number
from jobs.types import Status
from office.indicators import IndicatorRow

TITLE_FONT = "方正小标宋简体"
TABLE_STYLE_ID = "TableGrid"  # "Table Grid" of python-docx's default template
CELL_STYLE = "EvaluationCell"  # the paragraph styles of table cells (`_add_cell_styles`)
CELL_HEADER_STYLE = "EvaluationCellHeader"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
BODY_FONT = "仿宋_GB2312"
SIZE_TITLE = Pt(22)  # 二号
SIZE_BODY = Pt(16)  # 三号
SIZE_TABLE = Pt(12)  # 小四
LINE_EXACT = Pt(28)  # 公文 lines: 28 pt fixed

HEADINGS = (
    "一、总体完成情况",
    "二、分项完成情况",
    "三、主要指标完成情况",
    "四、存在的问题",
    "五、下一步打算",
)
NUMERALS = "一二三四五六七八九十"
FIVE_YEAR = re.compile(r"十[一二三四五六七八九]五")
NOT_REPORTED = "未反馈"
BACKFILL_MARK = "补录"
LIVE_MARK = "机器人"
NONE = "无"
BASIS_LABEL = {
    ChangeBasis.EXTENSION: "批准延期",
    ChangeBasis.COORDINATOR: "协调员调整",
    ChangeBasis.BULK: "批量调整（不计入调整后期限）",
    ChangeBasis.PLAN: "任务文件修订",
}
PLACEHOLDER_INDICATORS = (
    "【请协调员填写：本规划的主要指标尚未录入系统，无法自动统计。请按规划所列主要指标，"
    "逐项填写目标值、完成值和完成情况。】"
)
INDICATOR_HEADER = ("序号", "指标", "目标值", "属性")
INDICATOR_STATUS = "完成情况"
CLAIMED = "待审核"  # a lead unit's 已完成 not yet accepted (销号): not counted as 办结
INDICATOR_SUMMARY = (
    "规划确定主要指标{total}项（约束性{binding}项、预期性{expected}项）。截至{year}年底，"
    "已达到{met}项，未达到{not_met}项，缺少数据{no_value}项，需研判{judgement}项。"
)
PLACEHOLDER_INDICATOR_GAPS = (
    "【请协调员填写：对未达到、缺少数据和需研判的指标逐项说明情况和原因；"
    "缺少的数据请用 /indicator 录入后重新生成。】"
)
PLACEHOLDER_PROBLEMS = (
    "【请协调员填写：结合上述未完成、遇到困难和未反馈的任务，分析存在的主要问题及原因。】"
)
PLACEHOLDER_NEXT = "【请协调员填写：针对存在的问题，提出下一步打算，包括结转任务的推进安排。】"


def cn_date(day: date) -> str:
    """2025年12月31日."""
    return f"{day.year}年{day.month}月{day.day}日"


def numeral(n: int) -> str:
    """一..九十九 for 1..99 (the counting of second-level headings); digits beyond."""
    if n < 1 or n > 99:
        return str(n)
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else NUMERALS[tens - 1]) + "十" if tens else ""
    return text + (NUMERALS[ones - 1] if ones else "")


def kind_of(evaluation: Evaluation) -> str:
    """总结评估, or 中期评估 when the evaluation is before the plan's last day."""
    return "中期评估" if evaluation.interim else "总结评估"


def plan_name(evaluation: Evaluation) -> str:
    """How the title names the plan: “十四五”规划 for a five-year plan's 简称, else the 简称
    (or the title when it has none)."""
    label = evaluation.plan.label
    if FIVE_YEAR.fullmatch(label):
        return f"“{label}”规划"
    return label


def evaluation_filename(evaluation: Evaluation) -> str:
    """The file name offered for the draft: 十四五总结评估（初稿）20261206.docx."""
    label = evaluation.plan.label
    return f"{label}{kind_of(evaluation)}（初稿）{evaluation.as_of:%Y%m%d}.docx"


def _font(run: Run, name: str, size: Pt, *, bold: bool = False) -> Run:
    run.font.size = size
    run.font.bold = bold
    _set_fonts(run._element.get_or_add_rPr(), name)
    return run


def _set_fonts(r_pr: Any, name: str) -> None:
    """Name the font of run properties `r_pr` for every script, Chinese (w:eastAsia) too:
    python-docx's `font.name` sets only the Latin ones."""
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def _line(paragraph: Paragraph, exact: Pt | None = LINE_EXACT) -> Paragraph:
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if exact is not None:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = exact
    return paragraph


def _body(doc: object, text: str, *, placeholder: bool = False) -> Paragraph:
    paragraph = _line(doc.add_paragraph())  # type: ignore[attr-defined]
    paragraph.paragraph_format.first_line_indent = Pt(32)  # two characters of 三号
    run = _font(paragraph.add_run(text), BODY_FONT, SIZE_BODY)
    if placeholder:
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    return paragraph


def _heading(doc: object, text: str, font: str = HEADING_FONT, *, level: int = 1) -> Paragraph:
    """A 公文 heading (黑体 三号 for 一、, 楷体 三号 for （一）) in Word's "Heading <level>"
    style, so that Word's navigation pane and a table of contents list it; the run's own
    font, size and colour override the style's."""
    paragraph = _line(doc.add_paragraph(style=f"Heading {level}"))  # type: ignore[attr-defined]
    paragraph.paragraph_format.first_line_indent = Pt(32)
    paragraph.paragraph_format.keep_with_next = True
    run = _font(paragraph.add_run(text), font, SIZE_BODY)
    run.font.color.rgb = RGBColor(0, 0, 0)
    return paragraph


def _table(doc: object, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table:
    table: Table = doc.add_table(rows=1, cols=len(header))  # type: ignore[attr-defined]
    # by id: python-docx's `table.style = "Table Grid"` scans the styles at every table
    table._tbl.tblPr.style = TABLE_STYLE_ID
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell_text(cell.paragraphs[0], text, CELL_HEADER_STYLE)
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            _cell_text(cell.paragraphs[0], text, CELL_STYLE)
    return table


def _cell_text(paragraph: Paragraph, text: str, style_id: str) -> None:
    """A table cell's text in one of the styles `_add_cell_styles` made (set by id: setting
    a style object or name makes python-docx scan the styles for every cell)."""
    paragraph._p.get_or_add_pPr().style = style_id
    paragraph.add_run(text)


def _add_cell_styles(doc: object) -> None:
    """Add the paragraph styles of table cells (仿宋_GB2312 小四, single spacing, the header
    bold): the cells' runs then carry no formatting of their own, which keeps a 300-task
    draft quick to write."""
    for style_id, bold in ((CELL_STYLE, False), (CELL_HEADER_STYLE, True)):
        style = doc.styles.add_style(style_id, WD_STYLE_TYPE.PARAGRAPH)  # type: ignore[attr-defined]
        style.base_style = doc.styles["Normal"]  # type: ignore[attr-defined]
        style.font.size = SIZE_TABLE
        style.font.bold = bold
        style.paragraph_format.space_before = Pt(0)
        style.paragraph_format.space_after = Pt(0)
        _set_fonts(style.element.get_or_add_rPr(), BODY_FONT)


def _rate(rate: Rate) -> str:
    return f"{rate.percent}（{rate.done}/{rate.total}）"


def _status(status: Status | None, labels: Mapping[Status, str]) -> str:
    return labels[status] if status is not None else NOT_REPORTED


def _overview(doc: object, ev: Evaluation, labels: Mapping[Status, str]) -> None:
    total = len(ev.tasks)
    counts = "，".join(
        f"{_status(s, labels)}{ev.by_status.get(s, 0)}项"
        for s in (Status.DONE, Status.IN_PROGRESS, Status.BLOCKED, Status.NOT_STARTED, None)
    )
    since = cn_date(ev.plan.period_start)
    _body(
        doc,
        f"本规划共有重点任务{total}项。自{since}至{cn_date(ev.as_of)}，{counts}。"
        f"办结率{ev.completion.percent}，按原定期限的按时办结率{ev.on_time_original.percent}，"
        f"按调整后期限的按时办结率{ev.on_time_adjusted.percent}。"
        f"共有进展反馈{ev.reports}条，其中补录{ev.backfilled_reports}条。",
    )
    _table(
        doc,
        ("项目", "数值"),
        [
            ("重点任务总数", f"{total}项"),
            *[
                (f"其中{_status(s, labels)}", f"{ev.by_status.get(s, 0)}项")
                for s in (Status.DONE, Status.IN_PROGRESS, Status.BLOCKED, Status.NOT_STARTED, None)
            ],
            ("办结率", _rate(ev.completion)),
            ("按时办结率（原定期限）", _rate(ev.on_time_original)),
            ("按时办结率（调整后期限）", _rate(ev.on_time_adjusted)),
            ("进展反馈（其中补录）", f"{ev.reports}条（{ev.backfilled_reports}条）"),
        ],
    )
    carried = [o.task for o in ev.tasks if o.task.carried_to]
    if carried:
        numbers = "、".join(f"第{t.number}项" for t in carried)
        _body(doc, f"未完成、已结转至新规划继续推进的任务{len(carried)}项：{numbers}。")
    never = "、".join(ev.never_reported) if ev.never_reported else NONE
    _body(doc, f"从未反馈进展的牵头单位：{never}。")
    _body(
        doc,
        "计算口径：任务的全部牵头单位报告的已完成均经审核销号（补录记录和启用审核前的已完成"
        "视为已销号），视为已完成，完成日期为最后一个牵头单位报告完成的日期（补录记录按实际"
        "发生日期）；待审核的计为推进中。办结率＝已完成任务数÷任务总数；"
        "按时办结率＝在期限内完成的任务数÷任务总数。调整后期限计入批准延期和协调员对该任务"
        "的单独调整，批量调整不计入，按原定期限判断。",
    )


def _on_time(outcome: TaskOutcome, on_time: bool) -> str:
    if outcome.done_on is None:
        return "—（未完成）"
    return "是" if on_time else "否"


def _task(doc: object, index: int, outcome: TaskOutcome, labels: Mapping[Status, str]) -> None:
    task = outcome.task
    _heading(doc, f"（{numeral(index)}）第{task.number}项　{task.text}", SUBHEADING_FONT, level=2)
    done = cn_date(outcome.done_on) if outcome.done_on else "—"
    rows = [
        ("牵头单位", "、".join(task.lead_units) or NONE),
        ("责任单位", "、".join(task.responsible_units) or NONE),
        ("最终状态", _status(outcome.status, labels)),
        ("完成日期", done),
        ("原定期限", cn_date(task.original_deadline)),
        ("调整后期限", cn_date(outcome.adjusted_deadline)),
        ("按原定期限按时", _on_time(outcome, outcome.on_time_original)),
        ("按调整后期限按时", _on_time(outcome, outcome.on_time_adjusted)),
    ]
    if task.carried_to:
        rows.append(("结转", "已结转至" + "、".join(task.carried_to)))
    rows += [  # one lead unit: its status and date are the task's, said above
        (
            f"牵头单位：{unit.unit}",
            (
                f"{CLAIMED}（{cn_date(unit.claimed_on)}报告已完成）"
                if unit.claimed_on
                else _status(unit.status, labels)
                + (f"（{cn_date(unit.done_on)}）" if unit.done_on else "")
            ),
        )
        for unit in outcome.units
        if len(outcome.units) > 1
    ]
    _table(doc, ("项目", "情况"), rows)
    changes = outcome.changes
    if changes:
        _body(doc, "期限调整：")
        _table(
            doc,
            ("日期", "调整前", "调整后", "依据", "原因"),
            [
                (
                    cn_date(c.on),
                    cn_date(c.before),
                    cn_date(c.after),
                    BASIS_LABEL[c.basis],
                    c.reason or "",
                )
                for c in changes
            ],
        )
    else:
        _body(doc, "期限调整：无。")
    if outcome.timeline:
        _body(doc, "进展反馈：")
        _table(
            doc,
            ("日期", "单位", "状态", "说明", "来源", "佐证材料"),
            [
                (
                    cn_date(r.on),
                    r.unit,
                    (labels[r.status] if r.status is not None else "仅说明")
                    + ("（更正）" if r.correction else ""),
                    r.note,
                    BACKFILL_MARK if r.backfill else LIVE_MARK,
                    "、".join(r.evidence),
                )
                for r in outcome.timeline
            ],
        )
    else:
        _body(doc, "进展反馈：无。")
    evidence = "、".join(outcome.evidence) if outcome.evidence else NONE
    _body(doc, f"佐证材料：{evidence}。")


def _indicators(doc: object, ev: Evaluation, rows: Sequence[IndicatorRow]) -> None:
    """三、主要指标完成情况: a summary sentence, the table (序号, 指标, 目标值, 属性, a column
    per year of the period, 完成情况) and, when any indicator is not met, lacks data or
    needs judgement, a placeholder asking the coordinator to explain."""
    if not rows:
        _body(doc, PLACEHOLDER_INDICATORS, placeholder=True)
        return
    counts = {
        word: sum(1 for r in rows if r.light == word)
        for word in ("met", "not_met", "no_value", "judgement")
    }
    _body(
        doc,
        INDICATOR_SUMMARY.format(
            total=len(rows),
            binding=sum(1 for r in rows if r.attribute == "约束性"),
            expected=sum(1 for r in rows if r.attribute == "预期性"),
            year=assessed_year(ev.as_of, ev.plan.period_start, ev.plan.period_end) or ev.as_of.year,
            **counts,
        ),
    )
    years = list(range(ev.plan.period_start.year, ev.plan.period_end.year + 1))
    header = (*INDICATOR_HEADER, *(f"{year}年" for year in years), INDICATOR_STATUS)
    _table(
        doc,
        header,
        [
            (
                str(row.number),
                row.name_with_measure,
                row.target,
                row.attribute,
                *(format_number(row.values[year]) if year in row.values else "" for year in years),
                row.status,
            )
            for row in rows
        ],
    )
    if counts["met"] < len(rows):
        _body(doc, PLACEHOLDER_INDICATOR_GAPS, placeholder=True)


def write_evaluation(
    evaluation: Evaluation,
    target: Path | IO[bytes],
    *,
    status_labels: Mapping[Status, str],
    indicators: Sequence[IndicatorRow] = (),
) -> None:
    """Write the draft to `target` (a path or a binary file); `indicators` are the plan's
    main indicators as of the evaluation's date (`office.indicators.indicator_rows`; none:
    section 三 is a placeholder). Raises OSError when the path cannot be written."""
    ev = evaluation
    doc = Document()
    _add_cell_styles(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    title = _line(doc.add_paragraph(), None)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(f"{plan_name(ev)}{kind_of(ev)}报告（初稿）"), TITLE_FONT, SIZE_TITLE)
    sub = _line(doc.add_paragraph())
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    number = f"（{ev.plan.document_number}）" if ev.plan.document_number else ""
    _font(sub.add_run(f"——《{ev.plan.title}》{number}"), BODY_FONT, SIZE_BODY)
    period = f"{cn_date(ev.plan.period_start)}至{cn_date(ev.plan.period_end)}"
    scope = (
        f"规划期{period}；本次为中期评估，统计{cn_date(ev.plan.period_start)}至"
        f"{cn_date(ev.as_of)}。"
        if ev.interim
        else f"规划期{period}；数据截至{cn_date(ev.as_of)}。"
    )
    _body(doc, scope)
    _heading(doc, HEADINGS[0])
    _overview(doc, ev, status_labels)
    _heading(doc, HEADINGS[1])
    for index, outcome in enumerate(ev.tasks, start=1):
        _task(doc, index, outcome, status_labels)
    _heading(doc, HEADINGS[2])
    _indicators(doc, ev, indicators)
    _heading(doc, HEADINGS[3])
    _body(doc, PLACEHOLDER_PROBLEMS, placeholder=True)
    _heading(doc, HEADINGS[4])
    _body(doc, PLACEHOLDER_NEXT, placeholder=True)
    doc.save(target)  # type: ignore[arg-type]
