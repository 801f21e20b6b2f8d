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
STATUS_ICON: dict[Status, str] = {
    Status.NOT_STARTED: "⚪",
    Status.IN_PROGRESS: "🔵",
    Status.DONE: "✅",
    Status.BLOCKED: "🟠",
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
    ("units", "查看牵头单位联络员（协调员）"),
    ("export", "导出台账 Excel（协调员）"),
    ("task", "查看任务详情：/task 序号"),
    ("unit", "查看单位任务：/unit 单位名称"),
    ("deadline", "修改完成时限（协调员）"),
    ("record", "代单位记录进展（协调员）"),
    ("invite", "生成单位邀请码（协调员）"),
    ("cancel", "取消当前操作"),
    ("help", "使用说明"),
]

HELP = (
    "<b>残工委重点任务督办助手</b>\n"
    "本助手跟踪《{plan_title}》附件“重点任务分工”中各项任务的落实情况。\n\n"
    "<b>联络员</b>\n"
    "/report 反馈任务进展（选择任务、状态，填写说明，可附照片或文件）\n"
    "收到提醒后，也可直接点击提醒下方的按钮，或回复提醒消息留言；需要延期请点“申请延期”。\n"
    "提交后一定时间内可点回执下方的“修改这条反馈”更正。\n"
    "/task 序号：查看本单位相关任务的详情和反馈记录\n"
    "/unit：查看本单位的任务和状态灯\n"
    "/whoami 查看我的身份\n"
    "/cancel 取消当前操作\n\n"
    "<b>协调员</b>\n"
    "/invite 单位名称：生成联络员邀请链接\n"
    "/units：查看各牵头单位是否已有联络员\n"
    "/task 序号、/unit 单位名称：查看任意任务或单位\n"
    "/deadline 序号 日期：修改完成时限\n"
    "/record 序号 单位 状态 说明：代电话反馈的单位记录进展\n"
    "/digest：生成督办汇总；/export：导出重点任务台账（Excel）\n"
    "延期申请下方的“批准”“驳回”按钮用于审批。"
)

START_NO_CODE = (
    "您好！这里是残工委重点任务督办助手。\n"
    "单位联络员请使用协调员发给您的邀请链接登记；如还没有邀请链接，请联系区残联的协调员。\n"
    "发送 /help 查看使用说明。"
)
START_COORDINATOR = "您好，协调员！发送 /help 查看可用命令，/invite 单位名称 可邀请联络员。"
START_ALREADY = "您已是 <b>{unit}</b> 的联络员。发送 /report 反馈任务进展。"
INVITE_UNKNOWN = "邀请码无效。请核对链接是否完整，或请协调员重新生成邀请链接。"
INVITE_USED = "该邀请码已被使用。每个邀请码只能使用一次，请联系协调员重新生成。"
INVITE_TOO_MANY = "邀请码错误次数过多，请稍后（约 1 小时）再试，或联系协调员重新获取邀请链接。"
INVITE_EXPIRED = "该邀请码已过期，请联系协调员重新生成。"
REGISTERED = (
    "登记成功！您已成为 <b>{unit}</b> 的联络员。\n"
    "本单位牵头的重点任务共 {count} 项。任务到期前后，我会在工作日提醒您；"
    "您可随时发送 /report 反馈进展。"
)
REGISTERED_MOVED = "（您原为 {previous} 的联络员，现已改为 {unit}。）"
COORDINATOR_REGISTERED = "📋 {name} 已登记为 <b>{unit}</b> 的联络员。"

WHOAMI = "您的 Telegram 用户编号：<code>{user_id}</code>\n{roles}"
WHOAMI_COORDINATOR = "身份：协调员"
WHOAMI_CONTACT = "身份：<b>{unit}</b> 联络员（登记于 {since}）"
WHOAMI_CHAT = "本群编号：<code>{chat_id}</code>（可填入配置 digest_chat_id）"
WHOAMI_NOBODY = "身份：尚未登记。单位联络员请使用协调员发给您的邀请链接登记。"

INVITE_USAGE = "用法：/invite 单位名称\n例如：/invite 区民政局"
INVITE_NO_UNIT = "没有找到名为“{name}”的单位。"
INVITE_DID_YOU_MEAN = "您是不是要找：{names}"
INVITE_CREATED = (
    "已为 <b>{unit}</b> 生成一次性邀请（{expires} 前有效）：\n"
    "{link}\n\n"
    "请将链接转发给该单位联络员，对方点击后按“开始”即可登记。\n"
    "邀请码：<code>{code}</code>"
)
INVITE_PRIVATE_ONLY = "为保护邀请码，请在与我的私聊中使用 /invite。"

UNITS_HEADER = "<b>牵头单位联络员情况</b>（{with_contact}/{total} 个单位已有联络员）"
UNITS_LINE = "{icon} {unit}：{contacts}（牵头任务 {tasks} 项）"
UNITS_NONE = "暂无联络员"

EXPORT_CAPTION = "📊 重点任务台账（{at}）：{rows} 行，反馈记录 {reports} 条。"
EXPORT_PRIVATE_ONLY = "台账含联络员信息，请在与我的私聊中使用 /export。"
CALENDAR_UNKNOWN_YEAR = (
    "⚠️ 节假日数据中还没有 {year} 年的国务院放假安排。"
    "{year} 年的提醒和周报暂按周一至周五为工作日发送（配置中的额外假日、调休上班日仍然生效）。"
    "请管理员升级 chinesecalendar，"
    "或在配置 [calendar] 中补充 extra_holidays / extra_workdays。"
)

TASK_USAGE = "用法：/task 序号，例如 /task 10"
UNIT_USAGE = "用法：/unit 单位名称，例如 /unit 区民政局"
DEADLINE_USAGE = "用法：/deadline 序号 新完成时限，例如 /deadline 10 2026-06-30"
DEADLINE_BAD_DATE = "无法识别日期“{text}”，请按 2026-06-30 的格式填写。"
DEADLINE_CHANGED = "已将第 {number} 项的完成时限由 {before} 改为 {after}，提醒安排将随之调整。"
DEADLINE_UNCHANGED = "第 {number} 项的完成时限已是 {after}，未作修改。"
TASK_HEADER = "<b>第 {number} 项</b> {light}\n{text}"
TASK_LEADS = "牵头单位：{units}"
TASK_LEAD_UNIT = "{unit}（{light}{status}）"
TASK_RESPONSIBLE = "责任单位：{units}"
TASK_DEADLINE = "完成时限：{deadline}（{when}）"
TASK_HISTORY = "<b>反馈记录</b>（共 {count} 条，显示最近 {shown} 条）"
TASK_HISTORY_NONE = "<b>反馈记录</b>：暂无"
TASK_HISTORY_LINE = "· {at}｜{unit}｜{status}｜{who}{note}"
UNIT_HEADER = "<b>{unit}</b>\n联络员：{contacts}"
UNIT_LEADS = "<b>牵头任务（{count} 项）</b>"
UNIT_TASK_LINE = "{light} 第 {number} 项 {text}｜{status}｜{when}"
UNIT_NOT_LEAD = "{unit} 不是任何任务的牵头单位。"
LIGHT_ICON = {"red": "🔴", "yellow": "🟡", "green": "🟢", "none": "⚪"}
LIGHT_LABEL = {"red": "🔴 红灯", "yellow": "🟡 黄灯", "green": "🟢 绿灯", "none": "⚪ 未反馈"}
TASK_SUPPORTERS = "协办反馈：{units}"
ESCALATION_HEADER = (
    "🚨 <b>督办提醒</b>：以下任务逾期已超过 {days} 个工作日且尚未完成，"
    "请协调员跟进（共 {count} 项）："
)
ESCALATION_LINE = (
    "· 第 {number} 项 {text}｜{unit}｜已逾期 {overdue} 天｜联络员：{contacts}｜最近反馈：{last}"
)
ESCALATION_NO_REPORT = "无"

# ---------------------------------------------------------------- refusals

NOT_COORDINATOR = "抱歉，此命令仅限协调员使用。"
NOT_CONTACT = "抱歉，您还不是任何单位的联络员。请使用协调员发给您的邀请链接登记。"
NOT_YOUR_TASK = "抱歉，第 {number} 项任务不由贵单位牵头，也未将贵单位列为责任单位，无法反馈。"
UNKNOWN_TASK = "没有找到第 {number} 项任务。"
UNKNOWN_COMMAND = "无法识别的命令。发送 /help 查看可用命令。"
PRIVATE_ONLY = "请在与我的私聊中操作。"
BUTTON_EXPIRED = "该按钮已失效，请发送 /report 重新开始。"
TEXT_NOT_UNDERSTOOD = (
    "我没有理解您的消息。如果您正在填写进展反馈，本次填写可能已因超时或系统重启而中断，"
    "请重新发送 /report；查看说明请发送 /help。"
)
STRANGER_TEXT = "您好！这里是残工委重点任务督办助手。单位联络员请使用协调员发给您的邀请链接登记。"

# ---------------------------------------------------------------- reminders

REMINDER = (
    "{title}\n"
    "<b>第 {number} 项</b>：{text}\n"
    "牵头单位：{unit}\n"
    "完成时限：{deadline}（{when}）\n\n"
    "请点击下方按钮反馈进展，或直接回复本消息留言。"
)
REMINDER_SUPPORTING = "\n责任单位（协办）：<b>{unit}</b>"
DAYS_LEFT = "还有 {days} 天"
DUE_TODAY = "今天到期"
DAYS_OVERDUE = "已逾期 {days} 天"

CONTACT_UNREACHABLE = (
    "⚠️ 无法向 {unit} 联络员 {name} 发送提醒（{reason}）。"
    "可能是对方屏蔽了本助手或从未点击“开始”。请联系对方重新打开与本助手的对话，或为该单位重新邀请联络员。"
)

# ---------------------------------------------------------------- status conversation

REPORT_NO_TASKS = "贵单位（{unit}）牵头的任务目前均已反馈完成，暂无需要反馈的任务。"
REPORT_CHOOSE_TASK = "请选择要反馈的任务（{unit}，未完成的共 {count} 项{supporting}）："
REPORT_SUPPORTING = "，其中协办 {count} 项"
TASK_SUPPORTING = "（协办）"
REPORT_CHOOSE_STATUS = "<b>第 {number} 项</b>：{text}\n\n请选择当前进展："
ASK_NOTE = (
    "第 {number} 项，状态：<b>{status}</b>\n"
    "请用一两句话说明进展情况（直接发送文字，最多 {limit} 字）。发送 /cancel 取消。"
)
NOTE_NOT_TEXT = "请用文字简要说明进展情况。发送 /cancel 取消。"
NOTE_EMPTY = "说明不能为空，请用一两句话说明进展情况。"
NOTE_BAD_CHARACTER = "说明中含有无法保存的控制字符，请删除后重新发送。"
NOTE_UPDATED = "已按您修改后的内容更新说明：\n{note}"
DRAFT_REPLACED = "（未提交的第 {number} 项反馈已放弃。）"
EVIDENCE_ONLY_ONE = "每次反馈只保存一份佐证材料，已保存第一份。如需更换，请点“取消”后重新反馈。"
CONFIRM_USE_BUTTONS = "请点击上方的“确认提交”或“取消”按钮。"
NOTE_TOO_LONG = "说明太长了（{length} 字），请精简到 {limit} 字以内后重新发送。"
ASK_EVIDENCE = "如有佐证材料，请发送照片或文件；没有的话请点“跳过”。"
EVIDENCE_NOT_FILE = "请发送照片或文件，或点“跳过”。"
CONFIRM = (
    "请确认以下反馈：\n"
    "任务：<b>第 {number} 项</b> {text}\n"
    "单位：{unit}\n"
    "状态：{status}\n"
    "说明：{note}\n"
    "佐证材料：{evidence}"
)
EVIDENCE_NONE = "无"
EVIDENCE_PHOTO = "照片 1 张"
EVIDENCE_DOCUMENT = "文件《{name}》"
SAVED = (
    "✅ 已记录。\n"
    "任务：第 {number} 项\n"
    "单位：{unit}\n"
    "状态：{status}\n"
    "说明：{note}\n"
    "佐证材料：{evidence}\n"
    "时间：{at}\n"
    "感谢您的反馈！"
)
CANCELLED = "已取消，本次没有保存任何内容。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
TIMED_OUT = "由于长时间未操作，本次反馈已自动取消，没有保存任何内容。如需反馈，请重新发送 /report。"
CONVERSATION_BUSY = "您正在填写一项反馈。请先完成，或发送 /cancel 取消后再开始新的反馈。"
REPLY_SAVED = "✅ 已将您的留言记录为第 {number} 项任务（{unit}）的进展说明：\n{note}\n时间：{at}"
REPLY_NOT_REMINDER = "这条消息不是任务提醒，无法对应到具体任务。反馈进展请发送 /report。"

BUTTON_EXTENSION = "申请延期"
BUTTON_APPROVE = "批准"
BUTTON_REJECT = "驳回"
BUTTON_CORRECT = "修改这条反馈"
EXT_ASK_DATE = (
    "第 {number} 项当前完成时限为 {deadline}。\n"
    "请输入申请延期后的完成时限（如 2026-06-30）。发送 /cancel 取消。"
)
EXT_BAD_DATE = "无法识别日期“{text}”，请按 2026-06-30 的格式填写。"
EXT_NOT_LATER = "新的完成时限须晚于当前时限 {deadline}，请重新输入。"
EXT_LEAD_ONLY = "只有第 {number} 项的牵头单位可以申请延期。"
EXT_ASK_REASON = "请简要说明申请延期的理由（直接发送文字）。"
EXT_CONFIRM = (
    "请确认延期申请：\n任务：<b>第 {number} 项</b> {text}\n单位：{unit}\n"
    "当前时限：{current}\n申请延至：{requested}\n理由：{reason}"
)
EXT_SUBMITTED = "✅ 延期申请已提交，等待协调员审批。审批结果会通知您。"
EXT_TO_COORDINATOR = (
    "📮 <b>延期申请</b>\n任务：第 {number} 项 {text}\n单位：{unit}（{name}）\n"
    "当前时限：{current}\n申请延至：{requested}\n理由：{reason}"
)
EXT_APPROVED = "✅ 您对第 {number} 项的延期申请已批准，新的完成时限为 {requested}。"
EXT_REJECTED = (
    "❌ 您对第 {number} 项的延期申请未获批准，完成时限仍为 {current}。如有疑问请联系协调员。"
)
EXT_DECIDED = "{original}\n\n<b>{decision}</b>（{who}，{at}）"
EXT_DECISION_APPROVED = "已批准"
EXT_DECISION_REJECTED = "已驳回"
EXT_ALREADY_DECIDED = "该申请已处理。"
CORRECT_EXPIRED = (
    "只能在提交后 {minutes} 分钟内修改自己最近的一条反馈。如需更正，请重新发送 /report。"
)
CORRECT_START = (
    "请重新选择第 {number} 项的进展状态，新的反馈将更正 {at} 的那一条（原记录保留在历史中）："
)
ENTERED_BY_COORDINATOR = "协调员代录"
RECORD_USAGE = (
    "用法：/record 序号 单位名称 状态 说明\n"
    "例如：/record 10 潼南税务局 推进中 电话反馈：已完成政策宣传\n"
    "状态可填：推进中、已完成、遇到困难"
)
RECORD_BAD_STATUS = "无法识别状态“{text}”，请填写：推进中、已完成 或 遇到困难。"
RECORD_NOT_LEAD = "{unit} 不是第 {number} 项的牵头单位。"
RECORD_SAVED = "✅ 已代 {unit} 记录第 {number} 项：{status}\n说明：{note}\n（协调员代录，{at}）"
BUTTON_SKIP = "跳过"
BUTTON_CONFIRM = "确认提交"
BUTTON_CANCEL = "取消"

# ---------------------------------------------------------------- digest

DIGEST_TITLE = "<b>📊 残工委重点任务督办汇总</b>"
DIGEST_PLAN = "依据：{plan}"
DIGEST_PERIOD = "统计期间：{start} 至 {end}（共 {total} 项任务）"
DIGEST_COUNTS = "<b>任务状态</b>：{counts}"
DIGEST_NEW_REPORTS = "本期新收到反馈 {count} 条。"
DIGEST_OVERDUE = "<b>❗ 已逾期（{count} 项）</b>"
DIGEST_DUE_SOON = "<b>⏰ {days} 天内到期（{count} 项）</b>"
DIGEST_NO_REPORT = "<b>📭 尚未反馈（{count} 项）</b>"
DIGEST_TASK_LINE = "· 第 {number} 项 {text}｜{units}｜{deadline}（{when}）"
DIGEST_NO_REPORT_LINE = "· 第 {number} 项 {text}｜{units}"
DIGEST_ROWS = "<b>各项任务最新进展</b>"
DIGEST_ROW = "{icon} 第 {number} 项｜{unit}｜{status}{note}{at}"
DIGEST_ROW_NOTE = "：{note}"
DIGEST_ROW_AT = "（{at}）"
DIGEST_NO_CONTACT = "<b>⚠️ 尚无联络员的牵头单位（{count} 个）</b>"
DIGEST_UNREACHABLE = "<b>📵 联络员无法送达的牵头单位（{count} 个）</b>"
DIGEST_LIGHTS = "<b>状态灯</b>：🔴 {red}　🟡 {yellow}　🟢 {green}　⚪ {none}"
DIGEST_CHANGES = "<b>📝 本期新反馈（{count} 条）</b>"
DIGEST_CHANGE = "· 第 {number} 项｜{unit}｜{what}{note}"
DIGEST_CHANGE_STATUS = "{before} → {after}"
DIGEST_CHANGE_NOTE = "留言"
DIGEST_NEWLY_OVERDUE = "<b>⏳ 本期新逾期（{count} 项）</b>"
DIGEST_RED = "<b>🔴 红灯：逾期未完成（{count} 项）</b>"
DIGEST_YELLOW = "<b>🟡 黄灯：临近时限或遇到困难（{count} 项）</b>"
DIGEST_LIGHT_LINE = "· 第 {number} 项 {text}｜{units}｜{when}"
DIGEST_SILENT = "<b>📭 未反馈：本反馈周期内尚未反馈的单位（{count} 个）</b>"
DIGEST_SILENT_LINE = "· {unit}：第 {numbers} 项"
DIGEST_MORE = "…… 另有 {count} 项，详见 /export 导出的台账"
DIGEST_LEGEND = (
    "🔴 逾期未完成　🟡 临近时限或遇到困难　🟢 已完成或本周期已报推进中　⚪ 本周期未反馈"
    "（一项任务取其牵头单位中最需关注的灯；全部牵头单位完成才计为“已完成”）"
)
DIGEST_FOOTER = (
    "详情：联络员和协调员可私聊本助手发送 /task 序号、/unit 单位名称；"
    "协调员可发送 /export 导出台账。"
)
DIGEST_MEMBERS = "<b>🏘️ 镇街反馈（本反馈周期）</b>"
DIGEST_MEMBERS_LINE = "· 第 {number} 项 {unit}：{done}/{total} 个镇街已反馈"
NUDGE = (
    "📅 <b>进展反馈提醒</b>\n{unit}牵头的第 {numbers} 项任务，自 {start} 以来尚未反馈进展。"
    "请发送 /report 简要反馈，或回复任一任务提醒留言。"
)
DIGEST_NONE = "无"
DIGEST_FAILED = "⚠️ 督办汇总未能全部发出（已发 {sent}/{total} 条）：{reason}。请稍后再发送 /digest。"
DIGEST_CONTINUED = "（续 {part}/{parts}）"
DIGEST_ONLY_PRIVATE_OR_GROUP = "汇总已生成。"
