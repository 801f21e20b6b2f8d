"""Write the shipped templates office/templates/notice.docx and bulletin.docx (docxtpl).

Run once when the shipped layout changes: `.venv/bin/python scripts/make_document_templates.py`.
The .docx files are the source an office edits afterwards (Word keeps the Jinja tags); the
placeholders each offers are listed in the README (督办通知单 and 督查通报). 公文 layout as
the evaluation (`office.evaluation`): A4, 方正小标宋简体 title, 黑体 headings, 仿宋_GB2312 body.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm

from office.evaluation import (
    BODY_FONT,
    SIZE_BODY,
    SIZE_TITLE,
    TITLE_FONT,
    _body,
    _font,
    _heading,
    _line,
    _table,
)
from office.evaluation import SUBHEADING_FONT as KAI

FOLDER = Path(__file__).resolve().parent.parent / "office" / "templates"


def _page(title: str) -> DocumentObject:
    """A4 in 公文 margins, the title and the optional 文号 line (`number`)."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _centred(doc, title, title=True)
    _plain(doc, "{%p if number %}")
    _centred(doc, "{{ number }}")
    _plain(doc, "{%p endif %}")
    return doc


def _centred(doc: DocumentObject, text: str, *, title: bool = False) -> None:
    paragraph = _line(doc.add_paragraph(), None) if title else _line(doc.add_paragraph())
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(
        paragraph.add_run(text),
        TITLE_FONT if title else BODY_FONT,
        SIZE_TITLE if title else SIZE_BODY,
    )


def _plain(doc: DocumentObject, text: str) -> None:
    """A paragraph without indent (a Jinja {%p %} tag, a salutation)."""
    _font(_line(doc.add_paragraph()).add_run(text), BODY_FONT, SIZE_BODY)


def _signature(doc: DocumentObject) -> None:
    for text in ("{{ issuer }}", "{{ date }}"):
        paragraph = _line(doc.add_paragraph())
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(paragraph.add_run(text), BODY_FONT, SIZE_BODY)


def _loop_table(
    doc: DocumentObject, header: tuple[str, ...], items: str, cells: tuple[str, ...]
) -> None:
    """A table whose rows repeat for each `row` of `items`, each cell shaded `row.color`."""
    first = f"{{%tr for row in {items} %}}"
    _table(
        doc,
        header,
        [
            (first, *[""] * (len(header) - 1)),
            tuple(f"{{% cellbg row.color %}}{cell}" for cell in cells),
            ("{%tr endfor %}", *[""] * (len(header) - 1)),
        ],
    )


def notice() -> DocumentObject:
    doc = _page("督办通知单")
    _plain(doc, "{{ unit }}：")
    _body(
        doc,
        "截至{{ date }}，贵单位牵头的{{ plans }}重点任务中，尚有{{ open_count }}项未办结，"
        "其中已逾期{{ overdue_count }}项。现将有关任务督办如下（红色：已逾期；黄色：临近期限"
        "或遇到困难；绿色：本周期已反馈；无底色：本周期未反馈）：",
    )
    _loop_table(
        doc,
        ("序号", "任务编号", "重点任务", "完成时限", "进度提示", "最近反馈"),
        "rows",
        (
            "{{ row.seq }}",
            "{{ row.number }}",
            "{{ row.task }}",
            "{{ row.deadline }}",
            "{{ row.when }}",
            "{{ row.last }}",
        ),
    )
    _plain(doc, "{%p if ended_count %}")
    _body(
        doc,
        "其中{{ ended_count }}项所属规划实施期已结束，请一并说明办结情况或未完成的原因及后续"
        "安排，以便开展总结评估。",
    )
    _plain(doc, "{%p endif %}")
    _body(
        doc,
        "请于{{ reply_by }}前通过督办机器人或书面形式反馈上述任务的推进情况，"
        "已办结的请附佐证材料。",
    )
    _signature(doc)
    return doc


def bulletin() -> DocumentObject:
    doc = _page("督查通报")
    _body(doc, "现将截至{{ date }}重点任务推进情况通报如下（本期：{{ period }}）。")
    _plain(doc, "{%p for p in plans %}")
    _heading(doc, "{{ p.numeral }}、{{ p.name }}")
    _plain(doc, "{%p if p.ended %}")
    _body(
        doc,
        "该规划实施期已于{{ p.period_end }}结束，目前处于总结评估阶段；以下未办结任务请牵头"
        "单位说明办结情况或未完成的原因。",
    )
    _plain(doc, "{%p endif %}")
    _body(
        doc,
        "共有重点任务{{ p.task_count }}项，已办结{{ p.done_count }}项，办结率{{ p.completion }}。"
        "按督办亮灯：红灯{{ p.red_count }}项，黄灯{{ p.yellow_count }}项，"
        "绿灯{{ p.green_count }}项，本周期未反馈{{ p.none_count }}项。",
    )
    lists = (
        ("（一）逾期未办结任务（红灯）", "p.red"),
        ("（二）临近期限或遇到困难的任务（黄灯）", "p.yellow"),
    )
    for title, items in lists:
        _heading(doc, title, KAI)
        _plain(doc, f"{{%p if {items} %}}")
        _loop_table(
            doc,
            ("任务编号", "重点任务", "牵头单位", "完成时限", "进度提示"),
            items,
            (
                "{{ row.number }}",
                "{{ row.task }}",
                "{{ row.units }}",
                "{{ row.deadline }}",
                "{{ row.when }}",
            ),
        )
        _plain(doc, "{%p else %}")
        _body(doc, "无。")
        _plain(doc, "{%p endif %}")
    _heading(doc, "（三）本周期未反馈的单位", KAI)
    _plain(doc, "{%p for u in p.silent %}")
    _body(doc, "{{ u.unit }}：{{ u.tasks }}")
    _plain(doc, "{%p else %}")
    _body(doc, "无。")
    _plain(doc, "{%p endfor %}")
    _plain(doc, "{%p if p.without_contact %}")
    _body(doc, "尚未注册联系人的单位：{{ p.without_contact }}。")
    _plain(doc, "{%p endif %}")
    _plain(doc, "{%p if p.statistics %}")
    _heading(doc, "（四）统计数据", KAI)
    _body(doc, "{{ p.statistics }}")
    _plain(doc, "{%p endif %}")
    _plain(doc, "{%p endfor %}")
    _body(doc, "请各牵头单位对照通报，抓紧推进红灯、黄灯任务，按时反馈进展。")
    _signature(doc)
    return doc


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    notice().save(str(FOLDER / "notice.docx"))
    bulletin().save(str(FOLDER / "bulletin.docx"))
    print(f"written {FOLDER / 'notice.docx'} and {FOLDER / 'bulletin.docx'}")


if __name__ == "__main__":
    main()
