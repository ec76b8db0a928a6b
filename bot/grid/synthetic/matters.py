"""The synthetic district's vocabulary: streets and communities, compound and person names, the matters residents bring."""

from __future__ import annotations

from dataclasses import dataclass

from models import CaseKind, StaffRole

GRIDS_TOTAL = 639

# (code, name, alias, community name cores). 56 communities in all; 姜谭街道's ten are the real ones.
STREETS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("JEL", "经二路街道", "经二路", ("红旗路", "经二路", "东风路", "新华路", "公园路", "宝烟", "川陕路", "解放路", "中山西路")),
    ("QJ", "清姜街道", "清姜", ("清姜路", "茵香河", "宝桥", "渭工", "嘉陵", "长乐塬", "马营路", "宝光", "清姜河")),
    ("JT", "姜谭街道", "姜谭", ("姜谭路", "市铁塔厂", "市发电厂", "中心医院", "宝鸡卫校", "钢管厂", "氮肥厂", "秦机", "谭家",
                           "桑园铺")),
    ("QN", "桥南街道", "桥南", ("石坝河", "峪泉", "引渭路", "上马营", "烽火", "滨河", "南坡", "英达路", "渭滨花园")),
    ("JL", "金陵街道", "金陵", ("金陵路", "宝平路", "滨河南路", "汉中路", "代家湾", "火炬路", "凤凰", "巨福", "陈仓园")),
    ("SN", "神农镇", "神农", ("神农", "益门", "杨家湾", "姜城堡")),
    ("GJ", "高家镇", "高家", ("高家", "马尾", "朱家崖")),
    ("BY", "八鱼镇", "八鱼", ("八鱼", "石嘴头", "晁峪")),
)

PREFIXES = (
    "渭水 秦岭 陈仓 炎帝 西岐 凤鸣 金台 青铜 太白 秦川 长青 和平 幸福 阳光 锦绣 华山 东岭 西秦 建设 文化 翠屏 景园 明珠 天王 "
    "开元 盛世 龙泉 紫荆 银河 绿洲 泰和 丰华 新兴 兴隆 永安 瑞祥 福临 康乐 怡和 金泰 华润 中铁 宝钛 电建 长岭 石油 机床 蟠龙 "
    "东关 西关 胜利 团结 光明 朝阳 向阳 春晖 丽景 枫林 桂园 梧桐 银杏 玉泉 清泉 碧水 蓝天 白云 南山 北苑 星河 御园 君悦 "
    "鑫源 华府 欣荣 安居 恒大 宏文 育才 红星 卧龙 塬上 河畔 滨江 万象 国贸 雍城 虢镇 周原 岐山 磻溪 钓鱼 天台 灵宝 西虢"
).split()
KINDS = ("花园", "新村", "家园", "佳苑", "小区", "公寓", "雅居", "名苑", "家属院", "生活区", "华庭", "嘉园")
ALIAS_KINDS = frozenset({"花园", "新村", "家园", "佳苑", "华庭", "嘉园"})  # residents add or drop 小区

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任"
    "姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "建国 建华 国强 志强 秀兰 秀英 桂兰 丽华 小红 海燕 春梅 淑芬 玉兰 志明 永刚 建军 红梅 晓东 晓燕 文静 雪梅 海涛 宏伟 静 敏 伟 磊 "
    "娜 婷 强 军 勇 洋 艳 杰 涛 明 超 芳 霞 平 刚 桂英 浩然 子涵 欣怡 梓萱 宇轩 思远 佳琪 雨萱 博文 一鸣 晨曦 卫东 振华 凤霞 淑珍 "
    "玉梅 德明 立新 新民 红霞 丽娟 金凤 长青 瑞 鹏 丹 琳 斌 飞 鑫 旭 岩 倩"
).split()


@dataclass(frozen=True, slots=True)
class Matter:
    """A kind of request residents bring, with the code, name, owner and SLA config/rules.yaml gives it."""

    kind: CaseKind
    code: str | None  # the rules' category code; None for appointments, which name a service instead
    name: str
    role: StaffRole  # who handles it when no department staff fit
    department: str | None
    resolve_hours: int
    keywords: tuple[str, ...]
    texts: tuple[str, ...]
    service: str | None = None  # config/services.yaml code, for appointments


_R, _W, _A = CaseKind.REPORT, CaseKind.WISH, CaseKind.APPOINTMENT
_GRID_WORKER, _COMMUNITY_STAFF = StaffRole.GRID_WORKER, StaffRole.COMMUNITY_STAFF
MATTERS: tuple[Matter, ...] = (
    Matter(_R, "street_light", "路灯照明", _GRID_WORKER, None, 72, ("路灯", "不亮"),
           ("门口路灯坏了，晚上黑乎乎的", "路灯一直不亮")),
    Matter(_R, "sanitation", "垃圾与环境卫生", _GRID_WORKER, None, 48, ("垃圾", "没人清理"),
           ("门口垃圾堆了好几天没人清理", "垃圾桶满了溢出来")),
    Matter(_R, "noise", "噪音扰民", _GRID_WORKER, None, 48, ("噪音", "扰民"), ("晚上装修噪音太大", "广场舞音响太吵扰民")),
    Matter(_R, "water_supply", "供水", _GRID_WORKER, "供水", 24, ("停水", "水管"), ("停水一整天了", "楼道水管爆了")),
    Matter(_R, "lift", "电梯故障", _COMMUNITY_STAFF, "物业", 24, ("电梯", "坏了"),
           ("电梯又坏了，老人上下楼不方便", "电梯困人了")),
    Matter(_R, "parking", "乱停车与道路堵塞", _GRID_WORKER, None, 24, ("停车", "挡住"), ("车辆乱停挡住单元门",)),
    Matter(_R, "fire_safety", "消防通道与消防隐患", _GRID_WORKER, None, 24, ("消防通道",), ("消防通道被车堵死了",)),
    Matter(_R, "neighbour_dispute", "邻里纠纷", _GRID_WORKER, None, 168, ("邻居", "吵"),
           ("楼上楼下因为漏水吵起来了", "邻居长期占用楼道")),
    Matter(_R, "property_service", "物业服务", _COMMUNITY_STAFF, None, 120, ("物业",),
           ("物业不作为，楼道灯一直不修", "物业费收了不办事")),
    Matter(_R, "drainage", "下水道与污水", _GRID_WORKER, "物业", 48, ("下水道", "堵"), ("下水道堵了，污水外溢",)),
    Matter(_R, "greening", "绿化树木", _GRID_WORKER, None, 168, ("树枝", "杂草"),
           ("绿化带杂草丛生没人修剪", "树枝挡住了窗户")),
    Matter(_R, "ebike_charging", "电动车飞线充电", _GRID_WORKER, None, 24, ("电动车", "飞线充电"),
           ("楼道里有人飞线给电动车充电",)),
    Matter(_R, "manhole", "井盖缺损", _GRID_WORKER, "住建", 24, ("井盖",), ("雨水井盖丢了，晚上很危险",)),
    Matter(_R, "heating", "供暖", _GRID_WORKER, "热力", 48, ("暖气", "不热"), ("暖气一点都不热",)),
    Matter(_W, "public_facilities", "公共设施与健身器材", _GRID_WORKER, None, 168, ("休息椅",),
           ("希望小区里装几把休息椅", "希望增添几件健身器材")),
    Matter(_W, "elderly_care", "养老服务", _COMMUNITY_STAFF, None, 72, ("老人",),
           ("家里老人腿脚不好，希望有志愿者陪同就医",)),
    Matter(_W, "community_activities", "文体活动", _COMMUNITY_STAFF, None, 720, ("兴趣班",),
           ("希望给孩子们办个暑期兴趣班", "希望组织一次书法班")),
    Matter(_W, "hardship_help", "困难帮扶", _COMMUNITY_STAFF, None, 720, ("困难家庭",),
           ("家里是困难家庭，孩子开学想要一个新书包",)),
    Matter(_A, None, "养老服务", _COMMUNITY_STAFF, None, 72, (), ("想预约办理高龄补贴",), "elderly_care"),
    Matter(_A, None, "医保代办", _COMMUNITY_STAFF, None, 72, (), ("想预约办理医保报销",), "medical_insurance"),
    Matter(_A, None, "社保代办", _COMMUNITY_STAFF, None, 72, (), ("想预约养老金认证",), "social_security"),
    Matter(_A, None, "法律咨询（三官一律）", _COMMUNITY_STAFF, "司法所", 120, (), ("想预约律师咨询合同纠纷",),
           "legal_aid"),
    Matter(_A, None, "证明开具", _COMMUNITY_STAFF, None, 48, (), ("想预约开居住证明",), "certificates"),
)
MATTERS_BY_KIND = {kind: tuple(m for m in MATTERS if m.kind is kind) for kind in CaseKind}
# Every department the rules route to has staff: district offices, and street offices for local matters.
DISTRICT_DEPARTMENTS = ("城管", "供水", "供电", "燃气", "热力", "住建", "市场监管", "人社", "医保", "民政", "教育")
STREET_DEPARTMENTS = ("城管", "物业", "司法所", "派出所")
