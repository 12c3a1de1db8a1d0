"""Default rule sets a station can start from, seeded with the demo data (once each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.rules.store import find_rule_set, save_rule_set


def _c(name: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"name": name, "operator": operator, "value": value}


def _a(name: str, **params: Any) -> dict[str, Any]:
    return {"name": name, "params": params}


def _r(name: str, conditions: list[dict[str, Any]], *actions: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "conditions": {"all": conditions}, "actions": list(actions)}


ORDER = _c("source_type", "contains", "work_order")

# (domain, name, priority, description, rules)
DEFAULT_RULE_SETS: list[tuple[str, str, int, str, list[dict[str, Any]]]] = [
    ("routing", "默认派单规则", 100, "工单时限与升级；未指定处理人时派给台区经理（请假时由代班人处理）", [
        _r("12345停电投诉升级",
           [_c("channel", "contains", "hotline_12345"), _c("demand_type", "contains", "complaint"),
            _c("content", "contains", "停电")],
           _a("escalate_to_station_manager"), _a("set_priority", priority="high"),
           _a("set_deadline_working_days", days=1)),
        _r("紧急抢修", [_c("demand_type", "contains", "urgent")],
           _a("set_priority", priority="urgent"), _a("set_deadline_hours", hours=4)),
        _r("敏感及独居老人客户", [_c("customer_tags", "shares_at_least_one_element_with",
                                   ["sensitive", "elderly_alone"])],
           _a("flag_sensitive"), _a("set_priority", priority="high")),
        _r("七日内重复来电", [_c("same_phone_orders_7_days", "greater_than_or_equal_to", 2)],
           _a("flag_sensitive")),
        _r("大工业客户投诉", [_c("customer_type", "contains", "large_industry"),
                             _c("demand_type", "contains", "complaint")],
           _a("set_priority", priority="high"), _a("set_deadline_working_days", days=2)),
        _r("咨询类一日办结", [_c("demand_type", "contains", "consultation")],
           _a("set_deadline_working_days", days=1)),
    ]),
    ("escalation", "督办升级规则", 100, "重办、催办、超期的工单逐级督办并通知", [
        _r("三次重办", [_c("redo_count", "greater_than_or_equal_to", 3)],
           _a("raise_supervision"), _a("notify_roles", roles=["station_manager", "team_leader"])),
        _r("多次催办", [_c("urge_count", "greater_than_or_equal_to", 2)],
           _a("raise_supervision"), _a("notify_roles", roles=["team_leader", "assignee"])),
        _r("超期未办结", [_c("hours_to_deadline", "less_than", 0)],
           _a("raise_supervision"), _a("notify_roles", roles=["station_manager", "assignee"])),
    ]),
    ("scoring", "工分标准", 100, "工单评价、任务完成、走访及现场记录的工分（合并重复单与停电子单不计分）", [
        _r("办结基础分", [ORDER], _a("award", points=2)),
        _r("及时办结", [ORDER, _c("timely", "is_true")], _a("award", points=1)),
        _r("投诉工单加成", [ORDER, _c("demand_type", "contains", "complaint")], _a("multiply", factor=1.5)),
        _r("高分奖励", [ORDER, _c("score", "greater_than_or_equal_to", 95)], _a("award", points=1)),
        _r("低分扣分", [ORDER, _c("score", "less_than", 60)], _a("deduct", points=2)),
        _r("超时扣分", [ORDER, _c("timely", "is_false")], _a("deduct", points=1)),
        _r("任务工分", [_c("source_type", "contains", "task")], _a("award_task_points")),
        _r("客户走访", [_c("source_type", "contains", "visit")], _a("award", points=1)),
        _r("现场服务记录", [_c("source_type", "contains", "service_record")], _a("award", points=1)),
        _r("安全监督记录", [_c("source_type", "contains", "safety_record")], _a("award", points=1)),
        _r("设备信息采集", [_c("source_type", "contains", "equipment_record")], _a("award", points=0.5)),
        _r("箱表异常整改", [_c("source_type", "contains", "anomaly")], _a("award", points=1)),
    ]),
    ("targeting", "综合能源推广", 100, "按用电结构筛选推送对象", [
        _r("峰谷电价建议", [_c("customer_type", "contains", "residential"),
                           _c("peak_share", "greater_than_or_equal_to", 0.45),
                           _c("valley_share", "less_than", 0.25)],
           _a("add_to_campaign", campaign="峰谷电价", template="尊敬的{name}：您上月峰段用电占比较高，"
                                                              "办理峰谷分时电价并错峰用电可节省电费。")),
        _r("谷电占比上升", [_c("valley_share_change", "greater_than_or_equal_to", 0.1)],
           _a("add_to_campaign", campaign="谷电关怀", template="尊敬的{name}：您的谷段用电明显增加，"
                                                              "欢迎咨询储能与电采暖方案。")),
        _r("光伏意向客户", [_c("energy_intentions", "shares_at_least_one_element_with", ["pv"]),
                           _c("monthly_kwh", "greater_than_or_equal_to", 200)],
           _a("add_to_campaign", campaign="屋顶光伏", template="尊敬的{name}：屋顶光伏并网政策已更新，"
                                                              "台区经理可上门勘察。")),
        _r("高电费能效诊断", [_c("bill_amount", "greater_than_or_equal_to", 300)],
           _a("add_to_campaign", campaign="能效诊断", template="尊敬的{name}：我们可为您免费做一次能效诊断。")),
    ]),
]


def seed_rules(session: Session) -> int:
    """Add the default rule sets that are missing (active); returns how many were added."""
    added = 0
    for domain, name, priority, description, rules in DEFAULT_RULE_SETS:
        if find_rule_set(session, domain, name) is not None:
            continue
        save_rule_set(session, domain=domain, name=name, rules=rules, author="system", priority=priority,
                      active=True, description=description, comment="默认规则")
        added += 1
    session.flush()
    return added
