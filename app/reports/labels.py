"""Chinese labels of the report (the PDF is a Chinese document whatever the reader's locale)."""

CHANNELS = {
    "city_call": "智慧城管来电", "hotline_12345": "12345政务热线", "three_services": "三服务小管家",
    "grassroots_grid": "基层治理四平台", "convenience_point": "便民服务点", "love_supermarket": "电力爱心超市",
    "online_nonfault": "线上非抢修", "oa_demand": "OA系统转办", "onsite": "现场", "task": "内部任务",
    "phone": "电话", "counter": "营业厅柜台",
}
DEMAND_TYPES = {
    "consultation": "咨询", "complaint": "投诉", "report": "举报", "suggestion": "建议",
    "opinion": "意见", "praise": "表扬", "urgent": "故障报修", "service": "服务申请",
}
STATES = {
    "registered": "已受理", "dispatched": "已派单", "accepted": "已接单", "resolved": "已处理",
    "verified": "已核实", "evaluated": "已评价",
}
CLOCKS = {
    "contact": "首次联系", "arrival": "到达现场", "restoration": "恢复送电", "completion": "办结",
    "source": "来源平台时限",
}
SUPERVISION = {"none": "无", "station": "所级督办", "county": "县级督办", "city": "市级督办"}
SCOPES = {"station": "供电所", "team": "班组", "grid": "台区", "person": "个人", "all": "全部"}
