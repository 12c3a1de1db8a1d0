"""Writes app/translations/{zh,en}/LC_MESSAGES/clocks.po for the milestone clocks' labels.

Run after adding labels: `.venv/bin/python tools/write_clocks_po.py` (compiled at start-up).
"""

from pathlib import Path
ZH = {
    "First contact": "首次联系", "Arrival on site": "到达现场", "Power restored": "恢复送电",
    "Completion": "办结", "Minutes": "分钟", "Hours": "小时",
    "Urban": "城区", "Rural": "农村", "Remote": "特殊边远地区",
    "Record contact": "记录首次联系", "Record arrival": "记录到达现场",
    "Any area": "所有地区", "Clock targets": "时限标准", "Clock": "时限", "Area class": "地区类别",
    "Allowed": "时限值", "Unit": "单位", "Round the clock": "全天候计时",
    "A row for the grid's own area class wins over the row for any area.": "台区所属地区类别的标准优先于“所有地区”的标准。",
    "Count every hour (emergency repairs); otherwise working time on the statutory calendar.": "按自然时间连续计时（故障抢修）；否则按法定工作日历计时。",
    "Untick to switch this clock off for the demand type.": "取消勾选即对该诉求类型停用此项时限。",
    "Working days count on the statutory calendar: untick round the clock.": "工作日按法定日历计算：请取消“全天候计时”。",
    "The completion limit counts working time: untick round the clock.": "办结时限按工作时间计算：请取消“全天候计时”。",
    "%(n)d d": "%(n)d 天", "%(n)d h": "%(n)d 小时", "%(n)d min": "%(n)d 分钟",
    "overdue %(time)s": "已超时 %(time)s", "%(time)s left": "剩余 %(time)s",
    "Next clock": "最近时限", "round the clock": "全天候", "Timely rate by clock": "各项时限及时率",
    "Working hours to the deadline (negative when overdue)": "距时限工作小时数（超期为负）",
    "Hours to the deadline, round the clock (negative when overdue)": "距时限自然小时数（超期为负）",
    "Met": "已达成", "Late": "超期", "Latitude": "纬度", "Longitude": "经度",
}
HEAD = {"zh": "zh", "en": "en"}
for locale in ("zh", "en"):
    lines = ["# GridCare — milestone clocks and clock targets (issue 13).", 'msgid ""', 'msgstr ""',
             '"Content-Type: text/plain; charset=UTF-8\\n"', f'"Language: {locale}\\n"', ""]
    for en, zh in ZH.items():
        text = zh if locale == "zh" else en
        esc = lambda t: t.replace("\\", "\\\\").replace('"', '\\"')
        lines += [f'msgid "{esc(en)}"', f'msgstr "{esc(text)}"', ""]
    Path(f"app/translations/{locale}/LC_MESSAGES/clocks.po").write_text("\n".join(lines), encoding="utf-8")
