"""Writes app/translations/{zh,en}/LC_MESSAGES/messages.po for the spine's labels.

Run after adding labels: `.venv/bin/python tools/write_spine_po.py`.  The test
``test_every_label_has_a_chinese_translation`` fails when a label is missing here.
"""

from __future__ import annotations

from pathlib import Path

ZH = {
    # screens
    "Actions": "操作", "Suspended": "已挂起", "Version": "版本", "Redo count": "重办次数",
    "No action is available to you on this order now.": "当前状态下您无可执行的操作。",
    "Grid's district manager": "台区经理（按台区）", "Working days": "工作日", "Satisfied": "满意",
    "Unsatisfied": "不满意", "Next level": "上升一级", "Extension requests": "延期申请",
    "Requested at": "申请时间", "Reason": "原因", "Status": "状态", "Timeline": "处理轨迹",
    "When": "时间", "Who": "操作人", "Action": "操作", "From": "原状态", "To": "新状态", "Note": "备注",
    "You may not search or sort by %(field)s.": "您无权按 %(field)s 搜索或排序。",
    "Customer number": "户号", "Name": "名称", "Customer type": "用电类别", "Phone": "联系电话",
    "ID number": "证件号码", "Address": "地址", "Grid": "台区", "Transformer": "变压器",
    "Meter number": "电表资产号", "Contract capacity (kVA)": "合同容量(kVA)", "Tariff": "电价类别",
    "Tags": "标签", "Energy intentions": "用能意向", "Bills": "电费账单", "Customer": "客户",
    "Period": "账期", "Total kWh": "总电量(kWh)", "Sharp kWh": "尖电量", "Peak kWh": "峰电量",
    "Flat kWh": "平电量", "Valley kWh": "谷电量", "Amount (yuan)": "电费金额(元)", "Code": "编号",
    "Updated at": "更新时间", "Customer archive": "客户档案", "Customers": "客户",
    "Customer tags": "客户标签", "Company": "公司", "Station": "供电所", "Team": "班组",
    "District manager": "台区经理", "Rated capacity (kVA)": "额定容量(kVA)", "User": "用户",
    "Position": "岗位", "Mobile": "手机", "On duty": "在岗", "Transformers": "变压器",
    "Grids": "台区", "Companies": "公司", "Stations": "供电所", "Teams": "班组", "Staff": "人员",
    "Organisation": "组织机构", "Question": "问题", "Order": "顺序", "Active": "启用",
    "Return-visit questions": "回访问卷", "Settings": "设置", "Work orders": "工单",
    "Work order": "工单", "Register a demand": "登记诉求", "Number": "工单号", "Channel": "渠道",
    "Demand type": "诉求类型", "Contact": "联系人", "Content": "诉求内容", "Assignee": "处理人",
    "State": "状态", "Priority": "优先级", "Deadline": "处理时限",
    "Source platform deadline": "来源平台时限", "Supervision": "督办", "Received at": "接收时间",
    "Registered at": "受理时间", "Dispatched at": "派单时间", "Accepted at": "接单时间",
    "Resolved at": "处理时间", "Verified at": "核实时间", "Evaluated at": "评价时间",
    "Resolution": "处理结果", "Timely": "及时", "Score": "评分", "Timeliness score": "及时性评分",
    "Quality score": "质量评分", "Attitude score": "态度评分", "Evaluation comment": "评价意见",
    "Urges": "催办次数", "Returns": "退单次数", "External ID": "外部编号", "Parent order": "主工单",
    "Reopened from": "重开自", "Registered as %(number)s": "已受理，工单号 %(number)s",
    "The form has expired; reload the page and try again.": "表单已过期，请刷新页面后重试。",
    "%(action)s: done": "%(action)s：已完成", "Dispatch to grid managers": "派给台区经理",
    "Dispatch the selected orders to their grids' district managers?": "将所选工单派给各自台区经理？",
    "%(count)d orders dispatched": "已派单 %(count)d 张", "All work orders": "全部工单",
    "Timeliness": "及时性", "Quality": "质量", "Attitude": "态度", "Comment": "评价意见",
    "Days": "天数", "Level": "级别", "From address": "来源地址", "Operation": "操作类型",
    "Record type": "记录类型", "Record": "记录", "Changes": "变更内容", "Audit log": "审计日志",
    "Security": "安全", "Yes": "是", "No": "否",
    "Suspended at": "挂起时间", "Resumed at": "恢复时间", "Paused seconds": "暂停秒数",
    "Approved days": "批准天数", "Decided at": "审批时间", "Decision": "审批意见", "Answers": "回答",
    "Visited at": "回访时间", "Return visits": "回访记录", "Suspensions": "挂起记录",
    "Timeline events": "处理轨迹记录",
    # enumerations
    "System administrator": "系统管理员", "Station manager": "供电所所长", "Team leader": "班组长",
    "Operator": "受理员", "Residential": "居民", "Non-residential": "非居民",
    "Large industry": "大工业", "Agricultural": "农业",
    "Smart urban management call": "智慧城管来电", "12345 government hotline": "12345政务热线",
    "Three-services enterprise app": "三服务小管家", "Grassroots governance platform": "基层治理四平台",
    "Convenience service point": "便民服务点", "Electricity love supermarket": "电力爱心超市",
    "Online non-fault request": "线上非抢修服务", "OA system transfer": "OA系统转办",
    "On-site": "现场服务", "Internal task": "内部任务", "Consultation": "咨询", "Complaint": "投诉",
    "Report": "举报", "Suggestion": "建议", "Opinion": "意见", "Praise": "表扬", "Urgent": "紧急",
    "Service request": "服务申请", "Registered": "已受理", "Dispatched": "已派单",
    "Accepted": "已接单", "Resolved": "已处理", "Verified": "已核实", "Evaluated": "已评价",
    "Low": "低", "Normal": "普通", "High": "高", "None": "无", "County": "县公司级",
    "City": "市公司级", "Pending": "待审批", "Approved": "已批准", "Refused": "已驳回",
    # lifecycle actions
    "Register": "受理", "Dispatch": "派单", "Accept": "接单", "Return": "退单", "Resolve": "处理完成",
    "Reject": "驳回", "Verify": "核实", "Evaluate": "评价", "Urge": "催办", "Supervise": "督办",
    "Reopen": "重开", "Suspend": "挂起", "Resume": "恢复", "Request extension": "申请延期",
    "Approve extension": "批准延期", "Refuse extension": "驳回延期", "Return visit": "回访",
    "Redo": "重办", "Route": "智能分派",
}


def write(locale: str, translate: bool) -> None:
    folder = Path(__file__).resolve().parent.parent / "app" / "translations" / locale / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# GridCare spine labels. Generated by tools/write_spine_po.py; edit there.",
        'msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"',
        f'"Language: {locale}\\n"', "",
    ]
    for msgid, text in ZH.items():
        value = text if translate else msgid
        esc = lambda s: s.replace("\\", "\\\\").replace('"', '\\"')  # noqa: E731
        lines += [f'msgid "{esc(msgid)}"', f'msgstr "{esc(value)}"', ""]
    (folder / "messages.po").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    write("zh", True)
    write("en", False)
