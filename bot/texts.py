"""Every text a user reads in chat, in Simplified Chinese, in one place.

Templates use `str.format` fields; values put into them must already be HTML-escaped (the
render functions in `bot/render.py` do that). Messages are sent with parse mode HTML.
"""

from __future__ import annotations

from jobs.types import ReminderKind, Status

STATUS_LABEL: dict[Status, str] = {
    Status.NOT_STARTED: "未开始",
    Status.IN_PROGRESS: "推进中",
    Status.DONE: "已完成",
    Status.BLOCKED: "遇到困难",
}
STATUS_NOTE_ONLY = "已留言"  # no status reported yet, only notes
STATUS_NEVER_REPORTED = "未反馈"  # nothing reported on the task yet (as in the evaluation)
STATUS_ICON: dict[Status, str] = {
    Status.NOT_STARTED: "⚪",
    Status.IN_PROGRESS: "🔵",
    Status.DONE: "✅",
    Status.BLOCKED: "🟡",
}
# the statuses a contact can report with the buttons, in button order
REPORTABLE = (Status.IN_PROGRESS, Status.DONE, Status.BLOCKED)

REMINDER_TITLE: dict[ReminderKind, str] = {
    ReminderKind.BEFORE: "⏰ 任务提醒",
    ReminderKind.DUE: "📌 今日到期提醒",
    ReminderKind.OVERDUE: "❗ 逾期催办",
}

# ---------------------------------------------------------------- commands and onboarding

COMMANDS: list[tuple[str, str]] = [
    ("report", "反馈任务进展"),
    ("whoami", "查看我的身份"),
    ("digest", "查看督办汇总（协调员）"),
    ("digest_groups", "推送督办汇总到钉钉群、企业微信群（协调员）"),
    ("units", "查看牵头单位联络员（协调员）"),
    ("export", "导出台账 Excel（协调员）"),
    ("export_files", "导出材料汇编：台账和全部佐证材料（协调员）"),
    ("evaluate", "生成规划总结评估初稿 Word（协调员）"),
    ("stats", "办结率、按时办结率等统计（协调员）"),
    ("review", "待审核的办结申请（审核人）"),
    ("task", "查看任务详情：/task 序号"),
    ("unit", "查看单位任务：/unit 单位名称"),
    ("deadline", "修改完成时限（协调员）"),
    ("backlog", "处理暂停期间积压的提醒（协调员）"),
    ("record", "代单位记录进展（协调员）"),
    ("indicators", "查看主要指标完成情况"),
    ("indicator", "录入主要指标数据：/indicator 序号 年份 数值 来源"),
    ("plan", "导入新规划的重点任务分工（协调员）"),
    ("invite", "生成单位邀请码（协调员）"),
    ("rename_unit", "单位更名，旧名称保留为别名（协调员）"),
    ("merge_unit", "单位合并（协调员）"),
    ("close_plan", "关闭计划、结转未完成任务（协调员）"),
    ("rhythm", "设置规划的报送频次（协调员）"),
    ("milestone", "设置任务的年度目标（协调员）"),
    ("notice", "生成单位督办通知单 Word（协调员）"),
    ("bulletin", "生成督查通报 Word（协调员）"),
    ("items", "查看未办结的协调事项（协调员）"),
    ("cancel", "取消当前操作"),
    ("help", "使用说明"),
]

HELP_HEAD = (
    "<b>残工委重点任务督办助手</b>\n"
    "本助手跟踪《{plan_title}》附件“重点任务分工”中各项任务的落实情况。"
)
HELP_CONTACT = (
    "<b>联络员（{unit}）</b>\n"
    "/report 反馈任务进展（选择任务、状态，填写说明，可附照片或文件）\n"
    "收到提醒后，也可直接点击提醒下方的按钮，或回复提醒消息留言；需要延期请点“申请延期”。\n"
    "提交后一定时间内可点回执下方的“修改这条反馈”更正。\n"
    "/unit 查看本单位的任务和状态灯\n"
    "/task 序号 查看本单位某项任务的详情和反馈记录\n"
    "/indicators 查看主要指标；/indicator 序号 年份 数值 来源：录入本单位填报的指标数据\n"
    "收到协调事项时，直接回复该消息说明办理情况或补充说明。\n"
    "/whoami 查看我的身份；/cancel 取消当前操作"
)
HELP_COORDINATOR = (
    "<b>协调员</b>\n"
    "/invite 单位名称：生成联络员邀请链接；/invite 全部：为所有尚无联络员的牵头单位生成\n"
    "/units：查看各牵头单位是否已有联络员\n"
    "/task 序号、/unit 单位名称：查看任意任务或单位\n"
    "/deadline 范围 日期 [原因]：修改完成时限（范围可为序号、1-10,12、单位名称或“全部”）\n"
    "/backlog：查看督办是否暂停；/backlog send 发送积压的提醒，/backlog drop 不再发送\n"
    "/record 序号 单位 状态 说明：代电话反馈的单位记录进展\n"
    "/indicators [简称]：查看主要指标；"
    "/indicator 序号 年份 数值 来源：录入指标数据（可补录以往年度）\n"
    "/backfill 序号 单位 状态 日期 说明：补录以往的进展（如 2023-06-30），可附照片或文件\n"
    "/rename_unit 旧名称 新名称：单位更名（旧名称保留为别名，历史记录不变）\n"
    "/merge_unit 单位 并入单位：单位合并（任务、联络员和进展记录并入后者）\n"
    "/digest：生成督办汇总；/export：导出重点任务台账（Excel）\n"
    "/digest_groups：把督办汇总推送到已接入的钉钉群、企业微信群\n"
    "/export_files：导出材料汇编（台账和全部佐证材料，zip）\n"
    "/evaluate [规划简称]：生成规划总结评估初稿（Word；规划期内为中期评估）\n"
    "/notice 单位名称：生成该单位的督办通知单（Word，红黄绿三色）；"
    "/bulletin [规划简称]：生成督查通报（Word）\n"
    "/stats [规划简称]：办结率、按时办结率、超期办结等统计\n"
    "/review：等待您审核的办结申请（销号或退回）\n"
    "/plan：导入新规划：把规划文件（.docx、.xlsx、.pdf）发给我，核对后确认导入\n"
    "/rhythm [规划简称] 季度 25：设置报送频次（月度、季度、半年），/rhythm 查看\n"
    "/milestone [规划简称] 序号 日期 内容：设置任务的年度目标\n"
    "/close_plan 计划简称：关闭已结束的计划（不再提醒，记录仍可查看、导出），"
    "可将未完成任务结转到新计划\n"
    "/items：查看未办结的协调事项（遇到困难的反馈），可指派单位、要求补充、关闭\n"
    "延期申请下方的“批准”“驳回”按钮用于审批。"
)
# ---------------------------------------------------------------- a new plan from its document

PLAN_HOW = (
    "<b>导入新规划的重点任务分工</b>\n"
    "请把规划文件（含附件“重点任务分工”表）直接发给我：.docx、.xlsx、带文字层的 .pdf 或 .txt，"
    "不超过 20 MB。.doc、.wps、.ofd 请先另存为 .docx。\n"
    "我会读出文号、标题、任务和单位供您核对，点“确认导入”后才写入，点“取消”则不作任何改动。"
)
PLAN_SAVE_AS_DOCX = (
    "无法读取 {suffix} 文件。请先另存为 .docx 再发送"
    "（用 Word 或 WPS 打开：文件 → 另存为 → Word 文档 .docx）。"
)
PLAN_UNSUPPORTED = (
    "无法导入 {suffix} 文件。请发送规划的 .docx、.xlsx、.pdf 或 .txt 文件；发送 /plan 查看说明。"
)
PLAN_TOO_BIG = "文件超过 20 MB，无法接收。请压缩图片或只发送含“重点任务分工”表的部分。"
PLAN_DOWNLOAD_FAILED = "文件没有接收成功，请稍后重新发送。"
PLAN_READING = "正在读取《{name}》，请稍候……"
PLAN_ERROR = "《{name}》无法导入：{reason}\n数据库未作任何改动。"
PLAN_ERROR_REASON = {
    "save_as_docx": "这是旧版 Word、WPS 或 OFD 文件。请先另存为 .docx 再发送。",
    "unsupported": "不支持这种文件类型。请发送 .docx、.xlsx、.pdf 或 .txt 文件。",
    "unreadable": "文件读取失败，请重新发送。",
    "encrypted": "文件设有密码（已加密）。请取消密码另存一份后再发送。",
    "no_text_layer": "这个 PDF 没有文字层（可能是扫描件）。请发送规划的 .docx 或 .xlsx 文件。",
    "damaged": "文件已损坏，或不是它的扩展名所示的格式。请重新导出后再发送。",
    "no_table": "没有找到“重点任务分工”表：没有含“序号”“工作任务”“牵头单位”的表头行。",
    "no_tasks": "“重点任务分工”表有表头，但没有带序号的任务行。",
}
PLAN_SUMMARY_HEAD = "<b>规划文件核对</b>：《{name}》"
PLAN_FIELD = {
    "title": "标题",
    "document_number": "文号",
    "issued_on": "印发日期",
    "period": "起止年份",
}
PLAN_FIELD_LINE = "{label}：{value}"
PLAN_FIELD_MISSING = "未读出"
PLAN_PERIOD_VALUE = "{start}—{end}年"
PLAN_UPDATES = (
    "⚠️ 此文号的计划（“{plan}”）已导入：确认后将按本文件更新它的任务内容、单位和完成时限"
    "（已有反馈保留），不会新增一个计划。"
)
PLAN_TASKS = "任务：共{count}项（序号{first}—{last}）"
PLAN_NUMBERS_MISSING = "⚠️ 缺少序号：{numbers}"
PLAN_SECTIONS = "跳过的分类标题行：{count}行"
PLAN_SECTION_LINE = "  · {text}"
PLAN_UNITS_KNOWN = "已有单位：{count}个"
PLAN_UNIT_ALIASED_LINE = "  · {name}：原名称，现为{current}"
PLAN_UNITS_NEW = "新单位：{count}个（导入时新增，请核对名称）"
PLAN_UNIT_NEW_LINE = "  · {name}（相近：{close}）"
PLAN_UNIT_NEW_LINE_NONE = "  · {name}（没有相近的已有单位）"
PLAN_NOT_PLACED = "❌ 无法归入任务的行：{count}行（没有序号的行不会被猜测）"
PLAN_NOT_PLACED_LINE = "  · {row}"
PLAN_WARNINGS = "⚠️ 提示：{count}条"
PLAN_WARNING_LINE = "  · {text}"
PLAN_NO_LEAD = "❌ 没有牵头单位的任务：{numbers}。请在文件中补上牵头单位后重新发送。"
PLAN_ROW_PROBLEMS: list[tuple[str, str]] = [
    (r"^task (\d+): continued on the next row, joined$", "第{0}项跨行续写，已合并"),
    (r"^task (\d+) has no lead unit$", "第{0}项没有牵头单位"),
    (r"^task (\d+): lead units written '(.*)'$", "第{0}项的牵头单位写作“{1}”"),
    (
        r"^task (\d+): deadline '(.*)' is not a date; left out$",
        "第{0}项的完成时限“{1}”不是日期，未采用",
    ),
    (r"^task (\d+): no task text$", "第{0}项没有任务内容"),
    (r"^(.*) \(no number\)$", "{0}（没有序号）"),
    (r"^(.*) \(number '(.*)' not a number\)$", "{0}（序号“{1}”不是数字）"),
    (r"^(.*) \(number (\d+) used twice\)$", "{0}（序号{1}重复）"),
]
PLAN_MORE = "  ……另有{more}条未列出"
PLAN_CANNOT_CONFIRM = (
    "表中有无法归入任务的行，不能导入。请在文件中补上序号或删去这些行后重新发送。"
    "数据库未作任何改动。"
)
PLAN_CONFIRM_HINT = "核对无误请点“确认导入”；点“取消”不作任何改动。"
PLAN_ASK_IDENTITY = (
    "文件中没有读出：{missing}。请复制下面一条消息，填好后发回给我（已读出的可以修改）："
)
PLAN_IDENTITY_TEMPLATE = (
    "标题：{title}\n文号：{document_number}\n印发日期：{issued_on}\n起止年份：{period}"
)
PLAN_IDENTITY_EXAMPLE = {
    "title": "重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）",
    "document_number": "潼南府办发〔2026〕5号",
    "issued_on": "2026年4月18日",
    "period": "2026—2030",
}
PLAN_IDENTITY_BAD = "“{label}”填写有误：{problem}\n请改正后把整条消息重新发给我。"
PLAN_IDENTITY_PROBLEM = {
    "title": "标题不能为空，且不超过200字。",
    "document_number": "文号应写成“潼南府办发〔2026〕5号”的样子（用六角括号〔〕）。",
    "issued_on": "日期应写成“2026年4月18日”或“2026-04-18”。",
    "period": "起止年份应写成“2026—2030”（起始年份不晚于结束年份），单年的写“2027”。",
}
PLAN_IDENTITY_NOTHING = "没有待导入的规划文件。请先把规划文件发给我；发送 /plan 查看说明。"
BUTTON_PLAN_CONFIRM = "确认导入"
PLAN_EXPIRED = "这次上传已失效（已导入、已取消或文件不在了）。如需导入，请重新发送规划文件。"
PLAN_CANCELLED = "已取消，未导入，数据库未作任何改动。"
PLAN_STILL_MISSING = "还缺少：{missing}。请先按模板补全后再确认。"
PLAN_LOADED = (
    "✅ 已导入《{title}》（{document_number}）：新增任务{added}项，更新任务{updated}项，"
    "新增单位{units}个。"
)
PLAN_LOADED_NAME = (
    "该计划简称“{name}”。同时跟进多个计划时，命令可写简称指定计划，例如 /task {name} 1；"
    "不写则按最新的计划。"
)
PLAN_LOADED_NOTHING = "《{title}》（{document_number}）已是最新，没有需要改动的内容。"
PLAN_LOAD_FAILED = "导入失败：{reason}\n数据库未作任何改动，请重新发送文件。"

HELP_STRANGER = (
    "<b>如何登记</b>\n"
    "单位联络员请点击区残联协调员发给您的邀请链接登记。"
    "还没有邀请链接的，请联系区残联的协调员。\n"
    "协调员请发送 /whoami，把显示的用户编号交给本助手的管理员填入配置。"
)

START_NO_CODE = (
    "您好！这里是残工委重点任务督办助手。\n"
    "单位联络员请使用协调员发给您的邀请链接登记；如还没有邀请链接，请联系区残联的协调员。\n"
    "发送 /help 查看使用说明。"
)
START_COORDINATOR = "您好，协调员！发送 /help 查看可用命令，/invite 单位名称 可邀请联络员。"
START_ALREADY = "您已是<b>{unit}</b>的联络员。发送 /report 反馈任务进展。"
INVITE_UNKNOWN = "邀请码无效。请核对链接是否完整，或请协调员重新生成邀请链接。"
INVITE_USED = "该邀请码已被使用。每个邀请码只能使用一次，请联系协调员重新生成。"
INVITE_TOO_MANY = "邀请码错误次数过多，请稍后（约1小时）再试，或联系协调员重新获取邀请链接。"
INVITE_EXPIRED = "该邀请码已过期，请联系协调员重新生成。"
REGISTERED = (
    "登记成功！您已成为<b>{unit}</b>的联络员。\n"
    "本单位牵头的重点任务共{count}项。任务到期前后，我会在工作日提醒您；"
    "您可随时发送 /report 反馈进展。"
)
REGISTERED_MOVED = "（您原为{previous}的联络员，现已改为{unit}。）"
COORDINATOR_REGISTERED = "📋 {name}已登记为<b>{unit}</b>的联络员。"
COORDINATOR_MOVED = "📋 {name}已由<b>{previous}</b>的联络员改为<b>{unit}</b>的联络员。"
COORDINATOR_MOVED_NONE_LEFT = (
    "{previous}现已没有联络员，可发送 /invite {previous} 生成新的邀请链接。"
)

WHOAMI = "您的 Telegram 用户编号：<code>{user_id}</code>\n{roles}"
WHOAMI_COORDINATOR = "身份：协调员"
WHOAMI_CONTACT = "身份：<b>{unit}</b>联络员（登记于{since}）"
WHOAMI_CHAT = "本群编号：<code>{chat_id}</code>（可填入配置 telegram.digest_chat_id）"
WHOAMI_TOPIC = (
    "本话题编号：<code>{thread_id}</code>（可填入配置 telegram.digest_thread_id，周报即发到本话题）"
)
WHOAMI_NOBODY = (
    "身份：尚未登记。单位联络员请点击协调员发给您的邀请链接登记；"
    "协调员请把上面的用户编号填入配置 telegram.coordinators 并重启机器人。"
)

INVITE_USAGE = (
    "用法：/invite 单位名称\n例如：/invite 区民政局\n"
    "/invite 全部：为每个尚无联络员的牵头单位各生成一个邀请链接"
)
INVITE_NO_UNIT = "没有找到名为“{name}”的单位。"
INVITE_DID_YOU_MEAN = "您是不是要找：{names}"
INVITE_CREATED = (
    "已为<b>{unit}</b>生成一次性邀请（{expires}前有效）：\n"
    "{link}\n\n"
    "请将链接转发给该单位联络员，对方点击后按“开始”即可登记。\n"
    "邀请码：<code>{code}</code>"
)
INVITE_ALL = "全部"
INVITE_ALL_HEADER = (
    "已为{count}个尚无联络员的牵头单位各生成一个一次性邀请链接（{expires}前有效）。"
    "请把每个链接转发给对应单位的联络员："
)
INVITE_ALL_LINE = "\n<b>{unit}</b>\n{link}"
INVITE_ALL_FOOTER = (
    "\n每个链接只能使用一次。需要打印二维码在会上发放时，可在服务器上运行 "
    "taskbot invites --out 邀请.docx。"
)
INVITE_ALL_NONE = "每个牵头单位都已有联络员，无需再生成邀请。发送 /units 查看各单位联络员。"
ERROR_GENERIC = "抱歉，处理您的消息时出错了，请稍后再试。"
INVITE_PRIVATE_ONLY = "为保护邀请码，请在与我的私聊中使用 /invite。"

UNITS_HEADER = "<b>牵头单位联络员情况</b>（{with_contact}/{total}个单位已有联络员）"
UNITS_LINE = "{icon} {unit}：{contacts}（牵头任务{tasks}项）"
UNITS_NONE = "暂无联络员"

EXPORT_CAPTION = "📊 重点任务台账（{at}）：{rows}行，反馈记录{reports}条。"
EXPORT_PRIVATE_ONLY = "台账含联络员信息，请在与我的私聊中使用 /export。"
EVALUATE_PRIVATE_ONLY = "评估初稿含各单位的反馈详情，请在与我的私聊中使用 /evaluate。"
EVALUATE_NO_PLAN = "还没有导入任何规划，无法生成评估。"
EVALUATE_UNKNOWN = (
    "没有名为“{word}”的规划。现有规划：{plans}。\n"
    "用法：/evaluate [规划简称]，例如 /evaluate {example}"
)
EVALUATE_NOT_STARTED = "“{plan}”的规划期自{start}开始，尚无可评估的内容。"
EVALUATE_CAPTION = (
    "📝 {plan}{kind}初稿（截至{as_of}）：重点任务{total}项，办结率{rate}，"
    "按时办结率{on_time}（原定期限）/{adjusted}（调整后期限）。"
    "“四、存在的问题”“五、下一步打算”请协调员补充。"
)
EXPORT_FILES_PRIVATE_ONLY = "材料汇编含联络员信息和佐证材料，请在与我的私聊中使用 /export_files。"
CALENDAR_UNKNOWN_YEAR = (
    "📅 提示：{year}年的放假调休安排尚未录入本助手。录入前，法定节假日照常不发提醒；"
    "调休上班的周末暂按休息日、调休放假的工作日暂按工作日。请转告本助手的技术维护人员"
    "在国务院办公厅公布安排后更新节假日数据。"
)

TASK_USAGE = (
    "用法：/task 序号，例如 /task 10"
    "（同时跟进多个计划时，可在序号前写计划简称，如 /task 十四五 10）"
)
UNIT_USAGE = "用法：/unit 单位名称，例如 /unit 区民政局"
UNIT_NOT_YOURS = "联络员只能查看本单位的任务。发送 /unit 查看{unit}的任务。"
TASK_NOT_YOURS = (
    "第{number}项不由{unit}牵头，也未列{unit}为责任单位，无法查看。"
    "发送 /unit 查看本单位的任务，再用 /task 序号查看其中一项。"
)
DEADLINE_USAGE = (
    "用法：/deadline 范围 日期 [原因]\n"
    "范围：一项任务的序号（如10）、序号列表和区间（如1-10,12）、一个牵头单位的名称，或“全部”。\n"
    "日期：{forms}。\n"
    "例如：/deadline 10 {example}\n"
    "/deadline 1-10,12 {example} 按年度工作安排调整"
)
DATE_FORMS = "可写作{iso}、{slash}、{dotted}、{chinese}或{month_day}"
DATE_UNREADABLE = "无法识别日期“{text}”。{forms}。"
DATE_TOO_FAR = "{read}距今超过{years}年，请核对日期后重新输入。"
DATE_PAST = "{read}已经过去，新的完成时限不能早于今天（{today}）。请重新输入。"
DEADLINE_SCOPE_ALL = "全部"
DEADLINE_BAD_NUMBERS = "“{text}”不是有效的任务序号：序号从1开始，区间小的在前，如 1-10,12。"
DEADLINE_NO_TASKS = "没有找到第{numbers}项任务，请核对序号（/task 序号可查看任务）。"
DEADLINE_UNIT_LEADS_NONE = "{unit}不是任何任务的牵头单位，没有可修改的完成时限。"
DEADLINE_NOTHING = "所选任务的完成时限已是{after}，未作修改。"
DEADLINE_PLAN_CLOSED = (
    "计划“{plan}”已关闭，不再跟进，不能修改其任务的完成时限。"
    "如需继续跟进，请先重新启用该计划（taskbot plan reopen）。"
)
DEADLINE_PREVIEW = (
    "<b>请确认修改完成时限</b>\n"
    "范围：{scope}\n"
    "新的完成时限：{after}\n"
    "将修改{count}项任务：\n{lines}"
)
DEADLINE_PREVIEW_GROUP = "· 第{numbers}项，现为{before}"
DEADLINE_PREVIEW_MORE = "· 另有{count}组，共{tasks}项"
DEADLINE_PREVIEW_SKIPPED = "另有{count}项已是该时限，不作修改。"
DEADLINE_REASON_TOO_LONG = "原因太长了（{length}字），请精简到{limit}字以内后重新发送 /deadline。"
DEADLINE_PREVIEW_REASON = "原因：{reason}"
DEADLINE_PREVIEW_CONTACTS = "确认后将通知{contacts}位联络员；原定期限保留，修改记入操作记录。"
DEADLINE_PREVIEW_NO_CONTACTS = (
    "相关牵头单位尚无联络员，确认后不发通知（可用 /invite 邀请）；原定期限保留，修改记入操作记录。"
)
DEADLINE_SCOPE_NUMBERS = "第{numbers}项"
DEADLINE_SCOPE_UNIT = "{unit}牵头的任务"
DEADLINE_SCOPE_EVERY = "全部任务"
BUTTON_DEADLINE_CONFIRM = "确认修改"
DEADLINE_BATCH_DONE = "✅ 已将{count}项任务（第{numbers}项）的完成时限改为{after}。"
DEADLINE_BATCH_CANCELLED = "已取消，完成时限未作修改。"
DEADLINE_BATCH_STALE = (
    "预览之后，第{numbers}项的完成时限已有改动（可能是其他协调员修改的），本次未作修改。"
    "请重新发送 /deadline 查看最新情况后再确认。"
)
DEADLINE_BATCH_EXPIRED = "这次修改已失效（已确认、已取消或机器人已重启），请重新发送 /deadline。"
DEADLINE_CONTACTS_TOLD = "已通知{contacts}位联络员。"
DEADLINE_NO_CONTACTS_TOLD = "相关牵头单位尚无联络员，未发通知（可用 /invite 邀请）。"
DEADLINE_NOTICE = (
    "📅 <b>完成时限调整</b>\n"
    "协调员调整了{unit}牵头任务的完成时限：\n{lines}\n"
    "{reason}"
    "此后的提醒按新的完成时限发送。"
)
DEADLINE_NOTICE_LINE = "{plan}第{numbers}项：{before} → {after}"
DEADLINE_NOTICE_REASON = "原因：{reason}\n"
DEADLINE_CHANGED = "已将第{number}项的完成时限由{before}改为{after}，提醒安排将随之调整。"
DEADLINE_UNCHANGED = "第{number}项的完成时限已是{after}，未作修改。"
TASK_HEADER = "<b>{plan}第{number}项</b> {light}\n{text}"
TASK_LEADS = "牵头单位：{units}"
TASK_LEAD_UNIT = "{unit}（{light}{status}）"
TASK_RESPONSIBLE = "责任单位：{units}"
TASK_DEADLINE = "完成时限：{deadline}（{when}）"
TASK_HISTORY = "<b>反馈记录</b>（共{count}条，显示最近{shown}条）"
TASK_HISTORY_NONE = "<b>反馈记录</b>：暂无"
TASK_HISTORY_LINE = "· {at}｜{unit}｜{status}｜{who}{note}"
UNIT_HEADER = "<b>{unit}</b>\n联络员：{contacts}"
UNIT_LEADS = "<b>牵头任务（{count}项）</b>"
UNIT_TASK_LINE = "{light} {plan}第{number}项 {text}｜{status}｜{when}"
UNIT_NOT_LEAD = "{unit}不是任何任务的牵头单位。"
LIGHT_ICON = {"red": "🔴", "yellow": "🟡", "green": "🟢", "none": "⚪"}
LIGHT_LABEL = {"red": "🔴 红灯", "yellow": "🟡 黄灯", "green": "🟢 绿灯", "none": "⚪ 未反馈"}
TASK_SUPPORTERS = "协办反馈：{units}"
ESCALATION_HEADER = (
    "🚨 <b>督办提醒</b>：以下任务逾期已超过{days}个工作日且尚未完成，请协调员跟进（共{count}项）："
)
ESCALATION_UNIT = "\n<b>{unit}</b>｜联络员：{contacts}"
ESCALATION_LINE = "· {plan}第{number}项 {text}｜已逾期{overdue}天｜最近反馈：{last}"
ESCALATION_NO_CONTACT = "\n未登记联络员：{units}"
TASK_NUMBERS = "第{numbers}项"
ESCALATION_NO_REPORT = "无"

# ---------------------------------------------------------------- a held follow-up (backlog)

HOLD_NOTICE_PLAN = (
    "计划：《{title}》（简称“{name}”，命令中写简称指定该计划，如 /deadline {name} 1-5 日期）"
)
HOLD_NOTICE = (
    "⏸ <b>逾期提醒已暂停，请您决定如何处理</b>\n"
    "{findings}\n\n"
    "在您决定之前，我不会自动发送逾期催办、逾期督办提醒和每周通报；"
    "到期前的提醒和对联络员的答复照常进行。\n\n"
    "您可以：\n"
    "1. 用 /deadline 为任务设定新的完成时限；\n"
    "2. 点“发送积压提醒”（或发送 /backlog send）：暂停期间积压的提醒各发一次；\n"
    "3. 点“不再发送”（或发送 /backlog drop）：积压的提醒不再发送，此后按正常节奏提醒。"
)
HOLD_PERIOD_ENDED = "规划期已于{period_end}结束。"
HOLD_OVERDUE = (
    "未完成的督办事项共{open}项（有多个牵头单位的任务，每个牵头单位各计一项），"
    "其中{overdue}项逾期超过{days}个工作日{late}。"
)
HOLD_LATE = "，已过完成时限的共{late}项"
BUTTON_HOLD_SEND = "发送积压提醒"
BUTTON_HOLD_DROP = "不再发送"
HOLD_NONE = "督办提醒正常进行，没有暂停。"
HOLD_LIFTED = "▶️ 已没有逾期任务需要您决定，逾期提醒的暂停已解除，督办和每周通报恢复正常。"
HOLD_STILL = "⏸ 仍有逾期任务，逾期提醒继续暂停：发送 /backlog 查看并决定。"
HOLD_NONE_OF_PLAN = "“{plan}”的督办提醒没有暂停。"
HOLD_WHICH = (
    "有{count}个计划的逾期提醒暂停中：{plans}。请写明计划简称，例如 {example}；"
    "也可以点各条暂停通知下的按钮。"
)
HOLD_LIFTED_PLAN = "▶️ “{plan}”已没有逾期任务需要您决定，它的逾期提醒暂停已解除。"
HOLD_STILL_PLAN = "⏸ “{plan}”仍有逾期任务，逾期提醒继续暂停：发送 /backlog 查看并决定。"
HOLD_USAGE = (
    "用法：/backlog 查看；/backlog send 发送积压的提醒；/backlog drop 不再发送"
    "（几个计划同时暂停时，在后面写计划简称，如 /backlog send 十四五）。"
)
HOLD_DECIDED_SEND = "✅ 已恢复督办：积压的逾期提醒、督办提醒和周报将在工作时间各发送一次。"
HOLD_DECIDED_DROP = (
    "✅ 已恢复督办：积压的{count}条提醒不再发送。此后逾期任务按正常节奏提醒；"
    "建议用 /deadline 设定新的完成时限。"
)
HOLD_ALREADY = "这一暂停已由协调员处理（{decision}），无需再次操作。"
HOLD_DECISION_LABEL = {"send": "发送积压提醒", "drop": "不再发送"}

# ---------------------------------------------------------------- refusals

NOT_COORDINATOR = "抱歉，此操作仅限协调员使用。发送 /help 查看您可以使用的命令。"
NOT_CONTACT = "抱歉，您还不是任何单位的联络员。请使用协调员发给您的邀请链接登记。"
NOT_YOUR_TASK = "抱歉，第{number}项任务不由贵单位牵头，也未将贵单位列为责任单位，无法反馈。"
UNKNOWN_TASK = "没有找到第{number}项任务。"
UNKNOWN_COMMAND = "无法识别的命令。发送 /help 查看可用命令。"
PRIVATE_ONLY = "请在与我的私聊中操作。"
BUTTON_EXPIRED = "该按钮已失效，请发送 /report 重新开始。"
TEXT_NOT_UNDERSTOOD = (
    "我没有理解您的消息。如果您正在填写进展反馈，本次填写可能已因超时或系统重启而中断，"
    "请重新发送 /report；查看说明请发送 /help。"
)
COORDINATOR_TEXT = "我没有理解您的消息。协调员可用的命令请发送 /help 查看。"
CONTACT_NOT_TEXT = "请发送文字说明任务进展，或发送 /report 按步骤反馈（可附照片或文件）。"
OFFER_NOTE_MORE = (
    "下方列出{shown}项；其他任务请在文字中写明“第N项”后重新发送，或发送 /report 加序号。"
)
OFFER_NOTE = (
    "要把这段话记为{unit}哪一项任务的进展说明？请点选任务；不需要保存请点“不用保存”。"
    "如需按步骤反馈进展状态，请发送 /report。"
)
OFFER_NOTE_MENTIONED = "您提到的第{numbers}项排在最前。"
OFFER_NO_TASKS = (
    "{unit}牵头或承担的任务目前均已完成，这段话没有保存。如需联系协调员，请直接与区残联联系。"
)
OFFER_DECLINED = "好的，这段话没有保存。"
BUTTON_DONT_STORE = "不用保存"
STRANGER_TEXT = "您好！这里是残工委重点任务督办助手。单位联络员请使用协调员发给您的邀请链接登记。"

# ---------------------------------------------------------------- reminders

REMINDER = (
    "{title}\n"
    "<b>{plan}第{number}项</b>：{text}\n"
    "牵头单位：{unit}\n"
    "{milestone}"
    "完成时限：{deadline}（{when}）\n\n"
    "请点击下方按钮反馈进展，或直接回复本消息留言。"
)
REMINDER_SUPPORTING = "\n责任单位（协办）：<b>{unit}</b>"
REMINDER_ICON: dict[ReminderKind, str] = {
    ReminderKind.BEFORE: "⏰",
    ReminderKind.DUE: "📌",
    ReminderKind.OVERDUE: "❗",
}
DAILY_HEADER = "📋 <b>今日督办提醒</b>：{unit}有{count}项任务需要反馈进展\n"
DAILY_HEADER_PART = (
    "📋 <b>今日督办提醒</b>：{unit}有{count}项任务需要反馈进展（分{parts}条发送，这是第{part}条）\n"
)
DAILY_LINE = "{icon} <b>{plan}第{number}项</b> {text}{supporting}｜完成时限：{deadline}（{when}）"
DAILY_SUPPORTING = "（协办）"
# /task: a task's yearly milestones (年度目标)
TASK_MILESTONE_OPEN = "🎯 年度目标（{due}前）：{text}（{when}）"
TASK_MILESTONE_CLOSED = "✅ 年度目标（{due}前）：{text}（{closed}已完成）"
# /milestone: a coordinator adds a yearly milestone to a task
MILESTONE_USAGE = (
    "用法：/milestone [规划简称] 序号 日期 内容，"
    "如 /milestone 十五五 5 2027-12-31 完成年度培训200人次"
)
MILESTONE_ADDED = "✅ 已为第{number}项任务设置年度目标（已记入操作记录）：{due}前 {text}"
MILESTONE_UNKNOWN_TASK = "没有第{number}项任务。"
MILESTONE_BAD_TEXT = "年度目标内容不能为空，且不超过{limit}个字。"
MILESTONE_AFTER_DEADLINE = "年度目标日期应早于该任务的完成时限（{deadline}）。"
MILESTONE_BEFORE_PERIOD = "年度目标日期应在规划期内（{start}起）。"
# the status step: a button that closes the task's next open milestone
BUTTON_MILESTONE = "完成年度目标：{text}"
MILESTONE_CLOSED_NOTE = "（完成年度目标：{text}）"
MILESTONE_GONE = "该年度目标已完成或已更改，请重新选择。"
# a reminder of a task's yearly milestone (年度目标, `DueReminder.milestone`)
REMINDER_MILESTONE = "年度目标：{text}，{due}前完成（{when}）\n"
DAILY_MILESTONE_LINE = (
    "{icon} <b>{plan}第{number}项</b> {text}{supporting}｜年度目标：{goal}，{due}前完成（{when}）"
)
DAILY_NUDGE = "\n📅 <b>进展反馈提醒</b>：{unit}牵头的{tasks}任务，自{start}以来尚未反馈进展。"
NUDGE_TASKS = "第{numbers}项"
DAILY_FOOTER = (
    "\n请点击下方任务按钮反馈进展或申请延期；也可直接回复本消息留言，助手会请您选择对应的任务。"
)
DAILY_REFUSED = (
    "⚠️ 未能向{unit}联络员{name}发送今日督办提醒（{reason}），涉及第{numbers}项任务。"
    "这些提醒将在下一个工作日重新发送；如仍失败，请直接联系对方。"
)
DAILY_PICK_TASK = "这条留言是关于哪一项任务的？请选择："
REPLY_NAMES_OTHER_TASK = (
    "您回复的是第{number}项的提醒，留言里提到的是第{numbers}项。这条留言记到哪一项？请选择："
)
DAYS_LEFT = "还有{days}天"
DUE_TODAY = "今天到期"
DAYS_OVERDUE = "已逾期{days}天"

CONTACT_UNREACHABLE = (
    "⚠️ 无法向{unit}联络员{name}发送提醒（{reason}）。"
    "可能是对方屏蔽了本助手或从未点击“开始”。请联系对方重新打开与本助手的对话，或为该单位重新邀请联络员。"
)

# ---------------------------------------------------------------- status conversation

REPORT_NO_TASKS = "贵单位（{unit}）牵头的任务目前均已反馈完成，暂无需要反馈的任务。"
REPORT_PLAN_CLOSED = "“{plan}”已结束跟进，不再收集反馈。发送 /report 查看正在跟进的任务。"
REPORT_CHOOSE_TASK = "请选择要反馈的任务（{unit}，未完成的共{count}项{supporting}）："
REPORT_MORE_TASKS = "下方列出前{shown}项；其他任务请发送 /report 加序号，如 /report {example}。"
REPORT_NOT_OPEN = "第{numbers}项不在{unit}未完成的任务中。发送 /report 查看全部未完成任务。"
REPORT_NUMBERS_UNREAD = (
    "“{typed}”不是任务序号（序号如 /report 5、/report 3-7），下面列出全部未完成任务。"
)
REPORT_SUPPORTING = "，其中协办{count}项"
TASK_SUPPORTING = "（协办）"
TASK_BUTTON = "{plan}第{number}项 {text}"
REPORT_CHOOSE_STATUS = "<b>{plan}第{number}项</b>：{text}\n\n请选择当前进展："
ASK_NOTE = (
    "第{number}项，状态：<b>{status}</b>\n"
    "请用一两句话说明进展情况（直接发送文字，最多{limit}字）。发送 /cancel 取消。"
)
NOTE_NOT_TEXT = "请用文字简要说明进展情况。发送 /cancel 取消。"
NOTE_EMPTY = "说明不能为空，请用一两句话说明进展情况。"
NOTE_BAD_CHARACTER = "说明中含有无法保存的控制字符，请删除后重新发送。"
NOTE_UPDATED = "已按您修改后的内容更新说明：\n{note}"
DRAFT_REPLACED = "（未提交的第{number}项反馈已放弃。）"
STATUS_USE_BUTTONS = (
    "请点击上方的“推进中”“已完成”或“遇到困难”按钮选择当前进展，之后再填写说明。发送 /cancel 取消。"
)
CONFIRM_USE_BUTTONS = "请点击上方的“确认提交”或“取消”按钮。"
NOTE_TOO_LONG = "说明太长了（{length}字），请精简到{limit}字以内后重新发送。"
ASK_EVIDENCE = (
    "如有佐证材料，请发送照片、文件或语音（每次反馈最多{limit}个，照片的说明文字会一并保存）；"
    "没有的话请点“跳过”。"
)
ASK_EVIDENCE_KEPT = (
    "原反馈的{count}个佐证材料将保留。可再发送照片、文件或语音追加（合计最多{limit}个）；"
    "如要替换原有材料，请点“替换原有材料”；不再追加请点“跳过”。"
)
EVIDENCE_NOT_FILE = "请发送照片、文件或语音，或点“跳过”。"
EVIDENCE_LIMIT = "每次反馈最多保存{limit}个佐证材料，《{name}》没有保存。"
EVIDENCE_TOO_BIG = (
    "《{name}》有{size}，超过 Telegram 允许机器人下载的 20 MB 上限，无法保存。"
    "请压缩或拆分成较小的文件后重新发送。"
)
EVIDENCE_DOWNLOAD_FAILED = (
    "《{name}》下载失败（已尝试{attempts}次），没有保存。请稍后重新发送这个文件。"
)
EVIDENCE_DUPLICATE = "《{name}》与已附上的第{n}个材料内容相同，没有重复保存。"
EVIDENCE_SAVE_FAILED = (
    "《{name}》已收到，但机器人无法把它存入佐证材料目录，没有保存。"
    "请稍后重新发送这个文件；如仍不行，请告知协调员。"
)
EVIDENCE_REPLACED = "原有的佐证材料将不再附在这条反馈上，请发送新的材料，或点“跳过”。"
EVIDENCE_MORE = "可继续发送照片、文件或语音（最多{limit}个），或点“确认提交”。"
EVIDENCE_LINE = "{kind}《{name}》（{size}）"
EVIDENCE_CAPTION = "：{caption}"
EVIDENCE_KIND = {"photo": "照片", "document": "文件", "voice": "语音"}
EVIDENCE_REFUSED = "您无权查看这项任务的佐证材料。"
EVIDENCE_GONE = "这个佐证材料已不再保存，无法发送。"
EVIDENCE_SENT_CAPTION = "佐证材料《{name}》"
EVIDENCE_LIST = "📎 <b>第{number}项</b>的佐证材料（{count}个，点按钮获取）：\n{lines}"
EVIDENCE_LIST_LINE = "{n}. {at} {unit}：{file}"
BUTTON_EVIDENCE = "📎 {n}. {name}"
BUTTON_REPLACE_EVIDENCE = "替换原有材料"
EVIDENCE_RETENTION_REASON = "规划期（至{end}）已结束，佐证材料保存期限{days}天已满"
EXPORT_FILES_NONE = "还没有任何佐证材料，台账请用 /export 获取。"
EXPORT_FILES_CAPTION = "材料汇编（台账和{count}个佐证材料）{part}"
EXPORT_FILES_PART = "，第{n}/{total}部分"
EXPORT_FILES_MISSING = (
    "\n⚠️ 另有{missing}个佐证材料在存储目录中找不到，未能放入汇编；请检查佐证材料目录或从备份恢复。"
)
CONFIRM = (
    "请确认以下反馈：\n"
    "任务：<b>{plan}第{number}项</b> {text}\n"
    "单位：{unit}\n"
    "状态：{status}\n"
    "说明：{note}\n"
    "佐证材料：{evidence}"
)
EVIDENCE_NONE = "无"
EVIDENCE_COUNT = "{count}个\n{lines}"
SAVED = (
    "✅ 已记录。\n"
    "任务：{plan}第{number}项\n"
    "单位：{unit}\n"
    "状态：{status}\n"
    "说明：{note}\n"
    "佐证材料：{evidence}\n"
    "时间：{at}\n"
    "感谢您的反馈！"
)
BLOCKED_NOTICE = (
    "🟡 <b>遇到困难</b>\n任务：{plan}第{number}项 {text}\n单位：{unit}（{name}）\n说明：{note}"
)
CANCELLED = "已取消，本次没有保存任何内容。"
NO_REPORT_IN_PROGRESS = (
    "当前没有进行中的反馈，无需跳过。如果您刚才在填写反馈，本次填写可能已因超时或系统重启而中断，"
    "未确认提交的内容没有保存，请重新发送 /report。"
)
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
TIMED_OUT = "由于长时间未操作，本次反馈已自动取消，没有保存任何内容。如需反馈，请重新发送 /report。"
CONVERSATION_BUSY = "您正在填写一项反馈。请先完成，或发送 /cancel 取消后再开始新的反馈。"
REPLY_SAVED = (
    "✅ 已将您的留言记录为{plan}第{number}项任务（{unit}）的进展说明：\n{note}\n时间：{at}"
)
REPLY_NOT_REMINDER = "这条消息不是任务提醒，无法对应到具体任务。反馈进展请发送 /report。"

BUTTON_EXTENSION = "申请延期"
BUTTON_APPROVE = "批准"
BUTTON_REJECT = "驳回"
BUTTON_CORRECT = "修改这条反馈"
EXT_ASK_DATE = (
    "第{number}项当前完成时限为{deadline}。\n"
    "请输入申请延期后的完成时限（如{example}）。发送 /cancel 取消。"
)
EXT_NOT_LATER = "新的完成时限须晚于当前时限{deadline}，请重新输入。"
EXT_LEAD_ONLY = "只有第{number}项的牵头单位可以申请延期。"
EXT_ASK_REASON = "请简要说明申请延期的理由（直接发送文字）。"
EXT_CONFIRM = (
    "请确认延期申请：\n任务：<b>{plan}第{number}项</b> {text}\n单位：{unit}\n"
    "当前时限：{current}\n申请延至：{requested}\n理由：{reason}"
)
EXT_SUBMITTED = "✅ 延期申请已提交，等待协调员审批。审批结果会通知您。"
EXT_TO_COORDINATOR = (
    "📮 <b>延期申请</b>\n任务：{plan}第{number}项 {text}\n单位：{unit}（{name}）\n"
    "当前时限：{current}\n申请延至：{requested}\n理由：{reason}"
)
EXT_APPROVED = "✅ 您对第{number}项的延期申请已批准，新的完成时限为{requested}。"
EXT_REJECTED = (
    "❌ 您对第{number}项的延期申请未获批准，完成时限仍为{current}。{reason}如有疑问请联系协调员。"
)
EXT_REJECTED_REASON = "驳回理由：{reason}\n"
EXT_ASK_REJECT_REASON = (
    "✍️ 请直接回复本消息，写明驳回第{number}项延期申请（{unit}）的理由，理由会转告对方；"
    "不写理由请点下方按钮。"
)
BUTTON_REJECT_NO_REASON = "不写理由，直接驳回"
EXT_DECIDED = "{original}\n\n<b>{decision}</b>（{who}，{at}）"
EXT_DECISION_APPROVED = "已批准"
EXT_DECISION_REJECTED = "已驳回"
EXT_ALREADY_DECIDED = "该申请已处理。"
CORRECT_EXPIRED = (
    "只能在提交后{minutes}分钟内修改自己最近的一条反馈。如需更正，请重新发送 /report。"
)
CORRECT_START = (
    "请重新选择第{number}项的进展状态，新的反馈将更正{at}的那一条（原记录保留在历史中）："
)
ENTERED_BY_COORDINATOR = "协调员代录"
RECORD_USAGE = (
    "用法：/record 序号 单位名称 状态 说明\n"
    "例如：/record 10 潼南税务局 推进中 电话反馈：已完成政策宣传\n"
    "状态可填：推进中、已完成、遇到困难"
)
RECORD_BAD_STATUS = "无法识别状态“{text}”，请填写推进中（或进行中）、已完成（或完成）、遇到困难。"
RECORD_NOT_LEAD = "{unit}不是第{number}项的牵头单位。"
RECORD_SAVED = "✅ 已代{unit}记录第{number}项：{status}\n说明：{note}\n（协调员代录，{at}）"
BUTTON_SKIP = "跳过"
BUTTON_CONFIRM = "确认提交"
BUTTON_CANCEL = "取消"

# ----------------------------------------------------------- unit rename / merge (机构改革)
RENAME_UNIT_USAGE = "用法：/rename_unit 旧名称 新名称\n例如：/rename_unit 区残联 区残疾人联合会"
MERGE_UNIT_USAGE = "用法：/merge_unit 单位 并入单位\n例如：/merge_unit 区乡村振兴局 区农业农村委"
UNIT_CHANGE_REFUSED = {
    "empty": "新名称不能为空。",
    "too_long": "新名称太长了（{length}字），单位名称最多{limit}字。",
    "same": "{unit}的名称已是“{name}”，未作修改。",
    "taken": "“{name}”已是{holder}的名称或别名，不能再用作其他单位的名称。",
    "same_unit": "{unit}不能并入自身。",
    "collective": "{unit}是集合单位（如各镇街），不能合并。",
    "members": "{unit}下设成员单位，不能合并。",
    "shared": (
        "{unit}和{name}同时列在第{numbers}项任务上，暂不能合并："
        "请先修改任务文件，使这些任务只列其中一个单位，再行合并。"
    ),
    "no_unit": "该单位已不存在，请重新查询。",
}
RENAME_UNIT_PREVIEW = (
    "<b>单位更名</b>：{old} → {new}\n"
    "“{old}”将保留为别名：任务文件、导入和命令中仍可使用旧名称。\n"
    "{footprint}\n"
    "确认后生效，记入操作记录。"
)
MERGE_UNIT_PREVIEW = (
    "<b>单位合并</b>：{unit} 并入 {into}\n"
    "“{unit}”{aliases}将成为{into}的别名，{unit}不再单独列出。\n"
    "{footprint}\n"
    "确认后生效，记入操作记录。"
)
MERGE_UNIT_ALIASES = "及其别名{names}"
UNIT_FOOTPRINT = "涉及任务：{tasks}；联络员{contacts}位，进展反馈{reports}条，随单位{verb}。"
UNIT_FOOTPRINT_TASKS = "第{numbers}项"
UNIT_FOOTPRINT_NO_TASKS = "无"
UNIT_FOOTPRINT_KEEP = "保留"
UNIT_FOOTPRINT_MOVE = "转入{into}"
BUTTON_UNIT_CONFIRM = "确认"
UNIT_CHANGE_EXPIRED = "这次操作已失效（已确认、已取消或机器人已重启），请重新发送命令。"
UNIT_CHANGE_CANCELLED = "已取消，单位未作修改。"
UNIT_CHANGE_STALE = "预览之后单位名称已有变动，未作修改。请重新发送命令查看最新情况。"
RENAME_UNIT_DONE = "已将{old}更名为{new}；“{old}”保留为别名，历史记录不变。"
MERGE_UNIT_DONE = "已将{unit}并入{into}：任务、联络员和进展记录已转入{into}，“{unit}”保留为别名。"

# ---------------------------------------------------------------- digest

DIGEST_TITLE = "<b>📊 残工委重点任务督办汇总</b>"
DIGEST_PLAN = "依据：《{plan}》"
DIGEST_PERIOD = "统计期间：{start}至{end}（共{total}项任务）"
DIGEST_COUNTS = "<b>任务状态</b>：{counts}"
DIGEST_NEW_REPORTS = "本期新收到反馈{count}条。"
DIGEST_OVERDUE = "<b>❗ 已逾期（{count}项）</b>"
DIGEST_DUE_SOON = "<b>⏰ {days}天内到期（{count}项）</b>"
DIGEST_NO_REPORT = "<b>📭 尚未反馈（{count}项）</b>"
DIGEST_TASK_LINE = "· 第{number}项 {text}｜{units}｜{deadline}（{when}）"
DIGEST_NO_REPORT_LINE = "· 第{number}项 {text}｜{units}"
DIGEST_ROWS = "<b>各项任务最新进展</b>"
DIGEST_ROW = "{icon} 第{number}项｜{unit}｜{status}{note}{at}"
DIGEST_ROW_NOTE = "：{note}"
DIGEST_ROW_AT = "（{at}）"
DIGEST_NO_CONTACT = "<b>⚠️ 尚无联络员的牵头单位（{count}个）</b>"
DIGEST_UNREACHABLE = "<b>📵 联络员无法送达的牵头单位（{count}个）</b>"
DIGEST_LIGHTS = "<b>状态灯</b>：🔴{red}　🟡{yellow}　🟢{green}　⚪{none}"
DIGEST_LEGEND = "🔴逾期未完成　🟡遇到困难或临近时限未反馈　🟢已完成或本周期有反馈　⚪本周期未反馈"
DIGEST_ENDED = (
    "⏹ 规划期已于{period_end}结束，尚有{open}项未完成：请总结评估（/evaluate）"
    "后关闭或结转（/close_plan）。"
)
DIGEST_ENDED_HELD = "逾期提醒已暂停。"
DIGEST_RED_ENDED = "<b>🔴 规划期内未完成（{count}项）</b>"
DIGEST_DUE_WAS = "原定{deadline}"
DIGEST_HELD = (
    "⏸ 规划期已于{period_end}结束，新的完成时限尚未设定：逾期天数按原定时限计算，逾期提醒暂停中。"
)
DIGEST_CHANGES = "<b>📝 本期新反馈（{count}条）</b>"
DIGEST_NO_CHANGES = "📝 本期没有新反馈。"
DIGEST_CHANGE = "· 第{number}项 {unit}：{corrected}{what}{note}"
DIGEST_CHANGE_NOTE_HEAD = "，{note}"
DIGEST_CORRECTED = "（更正）"
DIGEST_CHANGE_STATUS = "{before}→{after}"
DIGEST_CHANGE_NOTE = "留言"
DIGEST_NEWLY_OVERDUE = "<b>⏳ 本期新逾期（{count}项）</b>"
DIGEST_RED = "<b>🔴 红灯（{count}项）</b>"
DIGEST_YELLOW = "<b>🟡 黄灯（{count}项）</b>"
DIGEST_LIGHT_LINE = "· 第{number}项 {words}｜{when}"
DIGEST_WORD = "{unit}（{status}{note}）"
DIGEST_WORD_NOTE = "：{note}"
DIGEST_MORE_UNITS = "；另有{count}个单位"
DIGEST_MORE_TASKS = "…另有{count}项：第{numbers}项"
DIGEST_MORE_CHANGES = "…另有{count}条"
DIGEST_MORE_TOWN_LINES = "…另有{count}行，见 /task 序号"
DIGEST_MORE_UNIT_LINES = "…共{count}个单位"
# /rhythm: a plan's reporting rhythm (报送频次)
RHYTHM_HEAD = "<b>📅 各规划的报送频次</b>"
RHYTHM_LINE = "{plan}：{rhythm}{day}日起一期{configured}，本期 {start}至{end}"
RHYTHM_CONFIGURED = "（默认）"
RHYTHM_SET = "✅ 已设置报送频次（已记入操作记录）。"
RHYTHM_NO_PLAN = "还没有导入任何规划。"
RHYTHM_UNKNOWN = "无法识别报送频次“{word}”。"
RHYTHM_BAD_DAY = "“{word}”不是有效的日期：请写 1 到 28 之间的数字，如 25。"
RHYTHM_USAGE = (
    "用法：/rhythm [规划简称] 月度|季度|半年 [日]，如 /rhythm 十五五 季度 25"
    "（季度：1、4、7、10月的该日起为一期；半年：1、7月）；/rhythm 十五五 默认 恢复每月默认周期。"
)
# the reporting rhythm's state in a plan's digest section (`jobs.digest.RhythmState`)
DIGEST_RHYTHM = "{period}（{start}起）{reported}/{total} 个牵头单位已反馈全部在办任务"
DIGEST_SILENT_RHYTHM = "<b>📭 {rhythm}；本周期未反馈的单位（{count}个）</b>"
RHYTHM_PERIOD = {"monthly": "本月", "quarterly": "本季度", "half_yearly": "本半年"}
RHYTHM_NAME = {"monthly": "每月", "quarterly": "每季度", "half_yearly": "每半年"}
DIGEST_SILENT = "<b>📭 本周期未反馈的单位（{count}个）</b>"
DIGEST_SILENT_UNIT = "{unit}（{count}项）"
DIGEST_SILENT_NO_CONTACT = "另{count}个尚无联络员的单位（见下）"
DIGEST_CUT = "更多见 /unit、/export"
DIGEST_FOOTER = "详情：私聊本助手发送 /task 序号、/unit 单位名称；协调员可用 /export 导出台账。"
DIGEST_MEMBERS = "<b>🏘️ 镇街反馈（本周期）</b>"
DIGEST_TOWNS_LINE = "· 第{number}项 {unit}：{towns}已反馈（{done}/{total}）"
DIGEST_TOWNS_MORE = "等{count}个"
DIGEST_TOWNS_NONE = "· 第{numbers}项 {unit}：尚无镇街反馈"
NUDGE = (
    "📅 <b>进展反馈提醒</b>\n{unit}牵头的{tasks}任务，自{start}以来尚未反馈进展。"
    "请发送 /report 简要反馈，或回复任一任务提醒留言。"
)
DIGEST_NONE = "无"
DIGEST_REPEATED = "☝️ 督办汇总已于{at}发出，请查看上方消息；一分钟内不重复发送。"
DIGEST_FAILED = "⚠️ 督办汇总未能全部发出（已发{sent}/{total}条）：{reason}。请稍后再发送 /digest。"
WEEKLY_DIGEST_FAILED = (
    "⚠️ 本周督办汇总未能发到工作群（已发{sent}/{total}条）：{reason}。"
    "请确认机器人仍在群内且可以发言，然后在群里发送 /digest 补发。"
)
DIGEST_CONTINUED = "（续{part}/{parts}）"
DIGEST_ONLY_PRIVATE_OR_GROUP = "汇总已生成。"

# several plans (规划, 年度工作要点) followed up side by side: how a task's plan is named
PLAN_TAG = "【{plan}】"  # before a task's number or text when more than one plan is active
PLAN_MEANT = "（以上按“{plan}”。另有：{others}；如指其他计划，请写计划简称，例如 {example}）"
PLAN_UNKNOWN = "没有简称或文号为“{name}”的计划。现有计划：{plans}，例如 {example}"
PLAN_NAMED = "（计划：“{plan}”）"

# ---------------------------------------------------------------- past records (补录)

BACKFILL_MARK = "（补录）"
BACKFILL_ON = "{date}，补录"  # inside the digest's （…） after a past record's note
ENTERED_BY_BACKFILL = "协调员补录"
BACKFILL_USAGE = (
    "用法：/backfill [计划简称] 序号 单位名称 状态 日期 说明\n"
    "例如：/backfill 十四五 10 潼南税务局 已完成 2023-06-30 已完成政策宣传\n"
    "状态可填：推进中、已完成、遇到困难；日期写作 2023-06-30、2023年6月30日 或 2023/6/30。\n"
    "补录以往的进展，以实际日期记入台账，不触发提醒和通知。"
    "可把照片或文件连同这条命令（作为说明文字）一起发送，作为佐证材料。"
)
BACKFILL_BAD_DATE = (
    "无法识别日期“{text}”，请写完整的年月日，如 2023-06-30、2023年6月30日 或 2023/6/30。"
)
BACKFILL_REFUSED = {
    "future": "日期{date}在今天之后，补录只能记入已经发生的进展。",
    "before_plan": "日期{date}早于《{plan}》的规划期（{start}至{end}）。",
    "after_plan": "日期{date}晚于《{plan}》的规划期（{start}至{end}）。",
    "unit_not_on_task": "{unit}不是第{number}项的牵头单位或责任单位，不能为其补录。",
}
BACKFILL_PREVIEW = (
    "<b>请核对补录内容</b>\n"
    "任务：{plan}第{number}项 {text}\n"
    "单位：{unit}\n"
    "状态：{status}\n"
    "日期：{date}\n"
    "说明：{note}{files}\n"
    "确认后以实际日期记入（标注“补录”），不发送提醒或通知。"
)
BACKFILL_PREVIEW_FILES = "\n佐证材料：{files}"
BUTTON_BACKFILL_CONFIRM = "确认补录"
BACKFILL_EXPIRED = "这份补录预览已失效（已确认、已取消或已有新的补录），请重新发送 /backfill。"
BACKFILL_CANCELLED = "已取消补录，未作任何改动。"
BACKFILL_SAVED = "✅ 已补录{unit}第{number}项：{status}（{date}）{files}\n说明：{note}"
BACKFILL_SAVED_FILES = "，佐证材料{count}份"
BACKFILL_PLAN_GONE = "该任务已不存在，未作补录。"
BACKFILL_DUPLICATE = "{unit}第{number}项{date}的这条补录已经存在（状态、说明相同），未重复保存。"
# closing a plan (/close_plan, taskbot plan close) and carrying its tasks over (结转)
CLOSE_PLAN_USAGE = (
    "用法：/close_plan 计划简称，例如 /close_plan 十四五\n先显示任务完成情况供核对，确认后才关闭。"
)
CLOSE_PLAN_UNKNOWN = "没有简称为“{name}”的计划。现有计划：{plans}"
CLOSE_PLAN_ALREADY = "计划“{plan}”已经关闭，不能重复关闭。关闭后的记录仍可用 /task、/export 查看。"
CLOSE_PLAN_PREVIEW = (
    "<b>关闭计划“{plan}”</b>\n{title}（{number}）\n"
    "共{total}项任务：{counts}。\n{unfinished}"
    "关闭后不再提醒，记录仍可查看、导出。"
)
CLOSE_PLAN_COUNT = "{label}{count}项"
CLOSE_PLAN_UNFINISHED = "未完成的任务（{count}项）：\n{lines}\n"
CLOSE_PLAN_UNFINISHED_LINE = "· 第{number}项 {status}：{text}"
CLOSE_PLAN_UNFINISHED_MORE = "…另有{count}项"
CLOSE_PLAN_CARRY = "结转到“{into}”（期限{deadline}）：\n{lines}\n"
CLOSE_PLAN_CARRY_LINE = "· 第{old}项 → “{into}”第{new}项"
CLOSE_PLAN_CARRY_NONE = "没有需要结转到“{into}”的任务（均已完成或已结转）。\n"
BUTTON_CLOSE_PLAN = "关闭"
BUTTON_CLOSE_AND_CARRY = "关闭并结转到“{into}”"
CLOSE_PLAN_ASK_DEADLINE = (
    "请回复结转到“{into}”的{count}项任务的完成期限（例如 2027年6月30日），"
    "或点击下方按钮使用“{into}”的期末 {end}。"
)
BUTTON_CARRY_DEADLINE = "期限：{end}"
CLOSE_PLAN_BAD_DEADLINE = (
    "无法识别期限“{text}”，请回复日期，例如 2027年6月30日（须不早于今天）；"
    "不再结转请点上方的“取消”。"
)
CLOSE_PLAN_DONE = "✅ 计划“{plan}”已关闭：不再提醒，记录仍可用 /task、/export 查看。"
CLOSE_PLAN_CARRIED = "已将{count}项结转到“{into}”（第{numbers}项），期限{deadline}。"
CLOSE_PLAN_CANCELLED = "已取消，计划未关闭。"
CLOSE_PLAN_EXPIRED = "这次关闭已失效或已处理，没有做任何修改。如需关闭，请重新发送 /close_plan。"
CLOSE_PLAN_STALE = "计划的状态在预览后已有变化，没有做任何修改。请重新发送 /close_plan 查看。"
PLAN_CLOSED_TASK = "计划“{plan}”已关闭，第{number}项不再接收反馈。记录仍可用 /task 查看。"
TASK_CARRIED_TO = "已结转至【{plan}】第{number}项"
TASK_CARRIED_FROM = (
    "<b>结转自【{plan}】第{number}项的反馈记录</b>（共{count}条，显示最近{shown}条）"
)
TASK_CARRIED_FROM_NONE = "<b>结转自【{plan}】第{number}项</b>：该项没有反馈记录"
TASK_PLAN_CLOSED = "（计划“{plan}”已关闭，不再提醒）"

# ---------------------------------------------------------------- main indicators (主要指标)

INDICATOR_LIGHT_LABEL = {
    "met": "🟢 已达到",
    "not_met": "🔴 未达到",
    "not_yet": "🟡 尚未达到",
    "no_value": "⚪ 缺{year}年数据",
    "no_year": "⚪ 暂无完整年度数据",
    "judgement": "🔵 需研判",
}
INDICATORS_HEADER = "<b>【{plan}】主要指标</b>（{count}项）"
INDICATORS_NONE = "【{plan}】未载入主要指标。"
INDICATORS_NO_PLAN = "尚未载入任何计划。"
INDICATOR_LINE = "{number}. {name}（{measure}）目标{target}｜{attribute}\n    {values}｜{light}"
INDICATOR_NO_VALUES = "暂无数据"
INDICATOR_TOTAL = "累计{total}"
INDICATORS_FOOTER = (
    "录入数据：/indicator 序号 年份 数值 来源，例如 /indicator 3 2025 100 区民政局统计"
)
INDICATOR_USAGE = (
    "用法：/indicator 序号 年份 数值 来源\n"
    "例如：/indicator 3 2025 100 区民政局年度统计\n"
    "数值只写数字（百分比写 96.5 或 96.5%）；来源写明数据出处。\n"
    "协调员指定填报单位：/indicator 3 填报单位 区民政局（写“无”取消）。"
)
INDICATOR_OWNER_WORDS = ("填报单位", "负责单位", "单位")
INDICATOR_OWNER_CLEAR = ("无", "-", "取消")
INDICATOR_OWNER_COORDINATORS = "只有协调员可以指定主要指标的填报单位。"
INDICATOR_OWNER_USAGE = "用法：/indicator 3 填报单位 区民政局（写“无”取消指定）"
INDICATOR_OWNER_SET = (
    "✅ 【{plan}】第{number}项主要指标（{name}）的填报单位已设为{unit}；"
    "该单位联络员可用 /indicator {number} 年份 数值 来源 录入。"
)
INDICATOR_OWNER_CLEARED = "✅ 【{plan}】第{number}项主要指标（{name}）已取消指定填报单位。"
INDICATOR_UNKNOWN = "没有找到第{number}项主要指标（共{count}项），发送 /indicators 查看。"
INDICATOR_NOT_YOURS = "第{number}项主要指标由{owner}填报，贵单位不能录入。如需录入请联系协调员。"
INDICATOR_NO_OWNER = "第{number}项主要指标尚未指定填报单位，请联系协调员录入或指定。"
INDICATOR_BAD_VALUE = "“{text}”不是数值。请只写数字，例如 96.5。"
INDICATOR_BAD_YEAR = "年份应在规划期{first}—{last}年内，且不晚于今年。"
INDICATOR_NO_SOURCE = "请写明数据来源，例如 /indicator 3 2025 100 区民政局年度统计"
INDICATOR_RECORDED = (
    "已录入：【{plan}】第{number}项 {name} {year}年 {value}{measure}（来源：{source}）。{light}"
)
INDICATOR_REPLACED = "（替换此前录入的 {old}，原记录保留）"
DIGEST_INDICATORS_MISSING = "主要指标：第{numbers}项缺{year}年数据"

# ---------------------------------------------------------------- 督办通知单 and 督查通报

NOTICE_USAGE = "用法：/notice 单位名称，例如 /notice 区民政局"
NOTICE_PRIVATE_ONLY = "督办通知单含单位的反馈详情，请在与我的私聊中使用 /notice。"
NOTICE_NOTHING_OPEN = "{unit}牵头的任务均已办结（或所属规划已关闭），无需督办。"
NOTICE_CAPTION = (
    "📌 {unit}督办通知单：未办结任务{open}项，其中逾期{overdue}项；请于{reply_by}前反馈。"
    "可在 Word 中修改后印发。"
)
BULLETIN_PRIVATE_ONLY = "督查通报含各单位的反馈详情，请在与我的私聊中使用 /bulletin。"
BULLETIN_NO_PLAN = "还没有正在督办的规划，无法生成督查通报。"
BULLETIN_UNKNOWN = (
    "没有名为“{word}”的规划。现有规划：{plans}。\n"
    "用法：/bulletin [规划简称]，例如 /bulletin {example}"
)
BULLETIN_CAPTION = "📣 督查通报（{plans}；本期：{period}）。可在 Word 中修改后印发。"
DOCUMENT_TEMPLATE_BROKEN = (
    "模板 {name} 有误，无法生成文件。请检查配置 [documents] templates_dir 所指文件夹中的"
    "该模板（可删除它以改用内置模板）。\n技术信息：{detail}"
)
# The weekly digest's picture (bot/chart.py): the lights per lead unit. The labels are drawn
# with the CJK font, which has no emoji: no emoji in the chart's own texts (the caption is a
# Telegram text and may have them).
CHART_TITLE = "各牵头单位任务灯况（{date}）"
CHART_SUBTITLE = "{units}个牵头单位，按红灯、黄灯、未反馈多少排序；多家牵头的任务各计一次"
CHART_MORE = "（列出前{shown}个）"
CHART_LEGEND = {"red": "红灯（逾期）", "yellow": "黄灯", "none": "未反馈", "green": "绿灯"}
CHART_AXIS = "任务数（项）"
CHART_CAPTION = "🚦 各牵头单位红黄绿灯（{date}）"
# ---------------------------------------------------------------- people: roles and contacts

HELP_LEADER = (
    "<b>分管领导</b>\n"
    "/digest：查看督办汇总\n"
    "/task 序号、/unit 单位名称：查看任意任务或单位（含状态灯、反馈记录和佐证材料）\n"
    "/stats：办结率、按时办结率等统计\n"
    "/review：区残联自身牵头任务的办结申请由您审核（销号或退回）\n"
    "逾期较久的任务会在每天一条的消息中报告给您。除办结审核外，本身份只能查看，不能修改。"
)
HELP_PEOPLE = (
    "<b>人员管理（协调员）</b>\n"
    "/contacts 单位：查看单位联络员，可点“移除”\n"
    "/remove_contact 单位 姓名：移除联络员；/handover 单位：移交（移除现有联络员并生成新邀请）\n"
    "/roles：查看协调员和分管领导\n"
    "/add_coordinator 用户编号 [姓名]、/remove_coordinator 用户编号\n"
    "/add_leader 用户编号 [姓名]、/remove_leader 用户编号\n"
    "（用户编号请对方向我发送 /whoami 获取）"
)
WHOAMI_LEADER = "身份：分管领导（只读）"
COMMANDS_PEOPLE: list[tuple[str, str]] = [
    ("contacts", "查看、移除单位联络员（协调员）"),
    ("roles", "查看协调员和分管领导（协调员）"),
]
ROLE_NAME = {"coordinator": "协调员", "leader": "分管领导"}
ROLE_ADD_USAGE = (
    "用法：/add_{role} 用户编号 [姓名]\n"
    "例如：/add_{role} 123456789 张三\n"
    "用户编号请对方向我发送 /whoami 获取（是一串数字，不是用户名）。"
)
ROLE_REMOVE_USAGE = "用法：/remove_{role} 用户编号\n发送 /roles 查看现有人员及其编号。"
ROLE_BAD_ID = "“{text}”不是用户编号。用户编号是一串数字，请对方向我发送 /whoami 获取。"
ROLE_ADDED = "已将 {name}（<code>{user_id}</code>）设为{role}，即时生效。"
ROLE_ALREADY = "{name}（<code>{user_id}</code>）已经是{role}，未作改动。"
ROLE_IN_CONFIG = "<code>{user_id}</code> 是配置文件中的{role}，不能在对话中移除；请修改配置文件。"
ROLE_REMOVED = "已取消 <code>{user_id}</code> 的{role}身份，即时生效。"
ROLE_NOT_HELD = "<code>{user_id}</code> 不是在对话中添加的{role}，未作改动。发送 /roles 查看。"
ROLE_NOT_SELF = "不能移除自己的协调员身份，请由其他协调员操作。"
ROLE_GRANTED_NOTICE = "您已被设为残工委重点任务督办助手的{role}。发送 /help 查看可用的命令。"
ROLE_REVOKED_NOTICE = "您已不再是残工委重点任务督办助手的{role}。"
ROLES_HEADER = "<b>协调员和分管领导</b>"
ROLES_SECTION = "<b>{role}</b>"
ROLES_CONFIG_LINE = "<code>{user_id}</code>（配置文件）"
ROLES_GRANT_LINE = "<code>{user_id}</code> {name}（{since}由 <code>{by}</code> 添加）"
ROLES_NONE = "（无）"
CONTACTS_USAGE = "用法：/contacts 单位名称，例如 /contacts 区民政局"
CONTACTS_HEADER = "<b>{unit}</b>的联络员："
CONTACTS_LINE = "{n}. {name}{username}，{since}登记{reachable}"
CONTACTS_UNREACHABLE = "（⚠️ 无法送达）"
CONTACTS_NONE = "{unit}目前没有联络员。发送 /invite {unit} 生成邀请链接。"
CONTACTS_FOOTER = "点下方按钮移除联络员；/handover {unit} 移交给新的联络员。"
CONTACT_REMOVE_BUTTON = "移除 {n}. {name}"
CONTACT_REMOVE_USAGE = (
    "用法：/remove_contact 单位 姓名（或序号、用户编号）\n发送 /contacts 单位 查看联络员。"
)
CONTACT_NOT_FOUND = "{unit}没有名为“{text}”的联络员。发送 /contacts {unit} 查看。"
CONTACT_AMBIGUOUS = "{unit}有多位联络员名为“{text}”，请用 /contacts {unit} 中的序号。"
CONTACT_REMOVED = "已移除{unit}的联络员 {name}。{left}"
CONTACT_REMOVED_NONE_LEFT = "{unit}现已没有联络员，发送 /invite {unit} 生成新的邀请链接。"
CONTACT_ALREADY_REMOVED = "该联络员已被移除，未作改动。"
CONTACT_REMOVED_NOTICE = (
    "您已不再是{unit}的联络员，不会再收到督办提醒，也不能再反馈进展。如有疑问请联系协调员。"
)
CONTACT_REMOVED_ANSWER = "您已不再是{unit}的联络员，本次操作未保存。如有疑问请联系协调员。"
HANDOVER_USAGE = (
    "用法：/handover 单位名称\n移除该单位现有联络员并生成新的邀请链接，转发给新的联络员。"
)
HANDOVER_DONE = "已移除{unit}的联络员：{names}。"
HANDOVER_NONE = "{unit}原本没有联络员。"
ESCALATION_LEADERS_HEADER = (
    "🔺 <b>督办提醒（分管领导）</b>：以下任务逾期已超过{days}个工作日且尚未完成，"
    "请关注（共{count}项）："
)
# ---------------------------------------------------------------- statistics (/stats)
STATS_PRIVATE_ONLY = "统计含各单位的办理情况，请在与我的私聊中使用 /stats。"
STATS_NO_PLAN = "还没有导入任何规划，暂无统计。"
STATS_UNKNOWN = (
    "没有名为“{word}”的规划。现有规划：{plans}。\n用法：/stats [规划简称]，例如 /stats {example}"
)
STATS_HEAD = "<b>📊【{plan}】办理统计</b>（截至{as_of}）"
STATS_OVERALL = (
    "重点任务{total}项：办结{accepted}项，办结率{done_rate}；按时办结率{on_time}"
    "（调整后期限，批量调整不计）/{on_time_original}（原定期限）；"
    "超期办结{overdue_done}项，逾期未办结{open_overdue}项"
)
STATS_PAIRS = (
    "按牵头单位分项（{total}项次）：办结率{done_rate}，按时办结率{on_time}，"
    "退回{returns}次；每报送周期反馈{per_cycle}次；提醒{reminders}次，"
    "提醒到反馈平均用时{days}"
)
STATS_UNITS_HEAD = "<b>牵头单位</b>（按办结率由低到高）："
STATS_UNIT_LINE = (
    "{unit}：办结{accepted}/{total}（{done_rate}），按时{on_time}，超期办结{overdue_done}，"
    "逾期未办{open_overdue}，每周期反馈{per_cycle}次"
)
STATS_MORE_UNITS = "……另有{count}个单位，完整统计见 /export 导出台账的“统计”表。"
STATS_LATE = "<b>超期办结</b>：{items}"
STATS_LATE_ITEM = "第{number}项（{units}）"
STATS_MORE_LATE = "等{count}项"
STATS_NONE = "—"
STATS_DAYS = "{days}个工作日"
# completion review (办结审核): a lead unit's 已完成 waits for 销号 / 退回
REVIEW_CLAIMED = "待审核"
REVIEW_ACCEPTED = "已销号（{on}）"
REVIEW_RETURNED = "已退回（{reason}）"
REVIEW_RETURNED_NO_REASON = "已退回"
REVIEW_TO_REVIEWER = (
    "📝 <b>办结审核</b>\n任务：{plan}第{number}项 {text}\n单位：{unit}（{name}）\n"
    "报告已完成：{at}\n说明：{note}\n请审核：销号表示确认办结；退回需写明理由，转告该单位。"
)
REVIEW_SELF_NOTE = "\n（本单位暂无其他审核人，由您本人审核，审计记录将注明“本人审核”。）"
BUTTON_REVIEW_ACCEPT = "销号"
BUTTON_REVIEW_RETURN = "退回"
REVIEW_ASK_RETURN_REASON = (
    "✍️ 请直接回复本消息，写明退回第{number}项（{unit}）的理由，理由会转告该单位联络员。"
    "不退回了请点下方“销号”，或忽略本消息。"
)
REVIEW_DECIDED = "{original}\n\n<b>{decision}</b>（{who}，{at}）"
REVIEW_DECISION_ACCEPTED = "已销号"
REVIEW_DECISION_RETURNED = "已退回：{reason}"
REVIEW_ALREADY_DECIDED = "该办结申请已处理（{decision}），无需重复操作。"
REVIEW_SUPERSEDED = "该单位此后已更新第{number}项的进展，这条办结申请已失效，无需审核。"
REVIEW_UNKNOWN = "没有找到这条办结申请，按钮可能已失效。"
ALREADY_DONE = (
    "第{number}项贵单位已报告完成（审核中或已销号），无需再次提交；如有新情况，请选“推进中”留言。"
)
REVIEW_PLAN_CLOSED = "第{number}项所属的“{plan}”已关闭，其办结申请不再审核（记录保留）。"
REVIEW_NOT_YOURS = "第{number}项（{unit}）的办结申请不由您审核。"
REVIEW_NOT_REVIEWER = (
    "第{number}项是本单位（{unit}）的办结申请，须由其他审核人审核，您不能审核自己的申请。"
)
REVIEW_RETURN_NO_REASON = "退回须写明理由，请直接回复上面的提问消息写明理由。"
REVIEW_SUBMITTED = "\n\n📝 已提交办结审核，审核通过（销号）后该任务计为办结；审核期间不再提醒。"
REVIEW_TO_CONTACT_ACCEPTED = "✅ 贵单位牵头的{plan}第{number}项已审核通过（销号，{on}）。"
REVIEW_TO_CONTACT_RETURNED = (
    "↩️ 贵单位牵头的{plan}第{number}项办结申请被退回，状态恢复为推进中，提醒将继续发送。\n"
    "退回理由：{reason}\n请继续推进，完成后再次反馈“已完成”。"
)
DIGEST_REVIEW_WAITING = "📝 待审核 {count} 项：{items}（审核人发送 /review 销号或退回）"
REVIEW_PRIVATE_ONLY = "办结审核请在与我的私聊中使用 /review。"
REVIEW_NONE_WAITING = "目前没有等待您审核的办结申请。"
DIGEST_REVIEW_ITEM = "第{number}项（{unit}）"
DIGEST_REVIEW_MORE = "等"
REVIEW_BATCH_HEAD = "📝 <b>办结审核</b>（{count}项，请逐项销号或退回；退回需写明理由，转告该单位）"
REVIEW_BATCH_ITEM = (
    "{index}. {plan}第{number}项 {text}\n   单位：{unit}（{name}）\n"
    "   报告已完成：{at}\n   说明：{note}"
)
BUTTON_REVIEW_ACCEPT_ITEM = "{index}. 销号 第{number}项"
BUTTON_REVIEW_RETURN_ITEM = "{index}. 退回"
REVIEW_NO_NOTE = "（无）"
REVIEW_ITEM_DECIDED = "第{number}项（{unit}）：{decision}（{who}，{at}）"
REVIEW_ASK_RETURN_REASON_ITEM = (
    "✍️ 请直接回复本消息，写明退回第{number}项（{unit}）的理由，理由会转告该单位联络员。"
    "不退回了请点下方“销号”。"
)
# --- coordination items (协调事项, bot/coordination_view.py) ---
COORD_OPENED = "已登记为协调事项（编号{id}）。"
COORD_ADDED = "已并入该单位此任务未办结的协调事项（编号{id}）。"
COORD_CARD = (
    "📌 <b>协调事项{id}</b>（{state}）\n任务：{plan}第{number}项 {text}\n提出单位：{raised}\n"
    "承办单位：{assigned}\n需协调：{need}"
)
COORD_STATE_OPEN = "未办结，已{days}天"
COORD_STATE_CLOSED = "已关闭"
COORD_UNASSIGNED = "待指派"
COORD_LABEL_MORE = "再次反馈（{date}）"
COORD_LABEL_DETAIL = "补充（{date}，{unit}）"
COORD_LABEL_PROGRESS = "办理情况（{date}，{unit}）"
BUTTON_COORD_ASSIGN = "指派单位"
BUTTON_COORD_DETAIL = "要求补充"
BUTTON_COORD_CLOSE = "关闭事项"
BUTTON_COORD_CANCEL = "取消"
BUTTON_COORD_REPLY = "如何回复"
COORD_ASK_UNIT = (
    "指派协调事项{id}（第{number}项，{raised}提出）：请<b>回复本消息</b>写出承办单位名称，"
    "或点下方的单位。"
)
COORD_ASK_CLOSE = "关闭协调事项{id}：请<b>回复本消息</b>写出关闭说明（办理结果）。"
COORD_QUESTION_CANCELLED = "已取消，协调事项{id}未作改动。"
COORD_UNKNOWN_UNIT = "没有找到单位“{text}”。{hint}请重新回复本消息，或点下方的单位。"
COORD_UNKNOWN_UNIT_HINT = "您是否要找：{names}？"
COORD_RAISING_UNIT = "协调事项{id}由{unit}提出，不能指派给它自己，请选择其他单位。"
COORD_SAME_UNIT = "协调事项{id}已指派给{unit}，无需重复指派。"
COORD_IS_CLOSED = "协调事项{id}已关闭，不能再操作。"
COORD_NOT_FOUND = "没有找到该协调事项。"
COORD_ASSIGNED = "✅ 协调事项{id}已指派给{unit}，已通知其联络员{count}人。"
COORD_ASSIGNED_NO_CONTACT = (
    "✅ 协调事项{id}已指派给{unit}。该单位尚无联络员，未能通知，请先邀请（/invite {unit}）。"
)
COORD_TO_UNIT = (
    "📌 <b>协调事项</b>（编号{id}）请贵单位协助办理\n任务：{plan}第{number}项 {text}\n"
    "提出单位：{raised}\n需协调：{need}\n请直接<b>回复本消息</b>说明办理情况。"
)
COORD_DETAIL_SENT = "已请{unit}补充说明协调事项{id}（联络员{count}人）。"
COORD_DETAIL_PENDING = "已请对方补充说明协调事项{id}，正在等待回复，无需重复发送。"
COORD_DETAIL_NO_CONTACT = "{unit}尚无联络员，无法请其补充说明。"
COORD_DETAIL_TO_UNIT = (
    "📝 协调员请贵单位补充说明协调事项（编号{id}）\n任务：{plan}第{number}项 {text}\n"
    "目前的说明：{need}\n请直接<b>回复本消息</b>补充。"
)
COORD_REPLY_HINT = "请长按本消息选择“回复”，写出说明后发送。"
COORD_NOTE_SAVED = "已记入协调事项{id}，协调员会收到。"
COORD_NOT_YOUR_ITEM = "协调事项{id}不由贵单位提出或承办，说明未记录。"
COORD_NOTE_TO_COORDINATORS = "💬 协调事项{id}（{plan}第{number}项）{unit}：{note}"
COORD_CLOSED = "✅ 协调事项{id}已关闭。\n关闭说明：{note}"
COORD_CLOSED_TO_UNIT = "协调事项（编号{id}，{plan}第{number}项）已关闭。\n关闭说明：{note}"
COORD_REMINDER = (
    "⏰ 协调事项（编号{id}）仍未办结，已{days}天\n任务：{plan}第{number}项 {text}\n"
    "提出单位：{raised}\n需协调：{need}\n请直接<b>回复本消息</b>说明办理情况。"
)
ITEMS_NONE = "目前没有未办结的协调事项。"
ITEMS_HEADER = "<b>协调事项（{count}项未办结）</b>点下方按钮查看和处理。"
ITEM_BUTTON = "{id}. 第{number}项 {raised}"
DIGEST_COORD_HEADER = "<b>协调事项（{count}项未办结）</b>"
DIGEST_COORD_LINE = "· {plan}第{number}项 {raised}提出 → {assigned}，已{days}天"
TASK_COORD_HEADER = "协调事项："
TASK_COORD_LINE = "· 编号{id} {raised}提出 → {assigned}（{state}）：{need}"
DIGEST_COORD_MORE = "……另有{count}项，协调员可发送 /items 查看。"
COORD_STATE_CLOSED_ON = "{date}已关闭"
# --- group robots (DingTalk, WeCom): bot/webhooks.py ---
WEBHOOK_TITLE = "残工委重点任务督办汇总"
WEBHOOK_PART = "（续 {index}/{total}）"
WEBHOOK_TEST = "残工委督办机器人测试消息：本群已接入督办汇总推送，无需回复。"
WEBHOOK_CHANNEL = {"dingtalk": "钉钉群", "wecom": "企业微信群"}
DIGEST_GROUPS_NONE = "尚未配置钉钉群或企业微信群机器人（配置项 dingtalk.webhook、wecom.webhook）。"
DIGEST_GROUPS_REPEATED = "一分钟内已推送过督办汇总，未重复推送。"
DIGEST_GROUPS_RESULT = "督办汇总推送结果：\n{lines}"
DIGEST_GROUPS_SENT = "· {channel}：已发送"
DIGEST_GROUPS_NOT_SENT = "· {channel}：未送达（{reason}），请检查机器人配置后重试"
DIGEST_GROUPS_UNCERTAIN = "· {channel}：发送超时，可能已送达，请到群内查看"
WEBHOOK_DIGEST_RETRYING = (
    "⚠️ 本周督办汇总未能推送到{channel}（已发{sent}/{total}条）：{reason}。"
    "将自动重试；若持续失败，请检查机器人配置（可运行 taskbot channels test）。"
)
WEBHOOK_DIGEST_FAILED = (
    "⚠️ 本周督办汇总推送到{channel}的结果不确定（已发{sent}/{total}条）：{reason}。"
    "可能已送达，请到群内查看；如未收到，可发送 /digest_groups 补发。"
)
